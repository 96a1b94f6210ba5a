"""The device configuration: models, line numbers of problems, secrets, `muontra config`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from engine.config import (
    ConfigError,
    ConfigProblem,
    DeviceConfig,
    load_config,
    parse_config,
    sections,
)
from engine.config.lines import key_lines, line_of
from engine.config.model import SecretError, mask_url
from muontra import cli
from protocols.tags.security import PRESETS

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(
    path for path in (ROOT / "config").glob("*.example.toml") if path.name != "ils-sim.example.toml"
)
UNITS = [ROOT / "systemd" / "muontra-kiosk.service", ROOT / "systemd" / "muontra-gate.service"]

BASE = """\
[device]
id = "kiosk-01"
site = "VN-HN0001"

[ils]
url = "sip2+sim://?institution=MUONTRA"

[devices]
pad = "sim://pad"
"""


def problems(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    return exc.value.problems


def only_problem(text: str) -> ConfigProblem:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def line_with(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


# -- examples and defaults ------------------------------------------------------------


def test_the_four_examples_exist() -> None:
    assert {path.name for path in EXAMPLES} == {
        "kiosk-self-checkout.example.toml",
        "return-station.example.toml",
        "gate.example.toml",
        "sorter.example.toml",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_passes(path: Path) -> None:
    config = load_config(path)
    assert config.device.id
    if config.device.role == "gate":
        assert config.gate is not None
    elif config.device.role == "sorter":
        assert config.sorter is not None and config.devices.conveyor is not None
    else:
        assert config.devices.pad is not None


def test_minimal_file_gets_the_documented_defaults() -> None:
    config = parse_config(BASE)
    assert config.device.role == "self-checkout"
    assert config.device.languages == ["vi", "en"]
    assert config.device.data_dir == Path("/var/lib/muontra")
    assert config.device.api_socket == Path("/run/muontra/kiosk.sock")
    assert config.device.timezone == "Asia/Ho_Chi_Minh"
    assert config.ils.timeout == 10
    assert config.security.to_policy() == PRESETS["afi"]
    assert config.patron.pin == "required"
    assert config.patron.identify_by == ["barcode", "nfc", "qr", "typed"]
    assert config.offline.enabled and config.offline.patron_types == []
    assert config.tags.accept_models == ["iso28560-3", "danish", "iso28560-2", "3m-rfid501"]
    assert config.receipts.print and not config.receipts.email
    assert config.mqtt is None and config.gate is None


# -- problems name key and line -------------------------------------------------------


def test_wrong_key_names_dotted_key_line_and_suggestion() -> None:
    text = BASE + "\n[patron]\npin = 'never'\npin_attempt = 5\n"
    problem = only_problem(text)
    assert problem.key == "patron.pin_attempt"
    assert problem.line == line_with(text, "pin_attempt =")
    assert "did you mean 'pin_attempts'" in problem.message


def test_wrong_section_is_reported_at_its_header() -> None:
    text = BASE + "\n[patrons]\npin = 'never'\n"
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("patrons", line_with(text, "[patrons]"))
    assert "unknown section" in problem.message


def test_wrong_type_names_key_line_and_value() -> None:
    text = BASE + "\n[patron]\npin_attempts = 'three'\n"
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("patron.pin_attempts", line_with(text, "pin_attempts"))
    assert "integer" in problem.message and "'three'" in problem.message


def test_out_of_range_and_bad_choice() -> None:
    text = BASE + "\n[patron]\npin_attempts = 11\nname_display = 'nickname'\n"
    found = {problem.key: problem for problem in problems(text)}
    assert found["patron.pin_attempts"].line == line_with(text, "pin_attempts")
    assert "less than or equal to 10" in found["patron.pin_attempts"].message
    assert found["patron.name_display"].line == line_with(text, "name_display")


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = BASE + "\n[patron]\npin_attempts = 0\n\n[tags]\nsecurity_attempts = 'x'\nfoo = 1\n"
    found = problems(text)
    assert [problem.key for problem in found] == [
        "patron.pin_attempts",
        "tags.security_attempts",
        "tags.foo",
    ]
    lines = [problem.line for problem in found]
    assert lines == sorted(lines)


def test_idle_warning_must_be_less_than_idle_timeout() -> None:
    text = BASE + "\n[patron]\nidle_timeout = 30\nidle_warning = 30\n"
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("patron.idle_warning", line_with(text, "idle_warning"))
    assert "less than idle_timeout" in problem.message
    # The default warning (15 s) against a short timeout: still named, at the section.
    text = BASE + "\n[patron]\nidle_timeout = 10\n"
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("patron.idle_warning", line_with(text, "[patron]"))


def test_both_password_sources_is_an_error() -> None:
    text = BASE.replace(
        '[ils]\nurl = "sip2+sim://?institution=MUONTRA"\n',
        '[ils]\nurl = "sip2+sim://"\npassword_env = "ILS_PW"\npassword_file = "/etc/pw"\n',
    )
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("ils.password_file", line_with(text, "password_file"))
    assert "not both" in problem.message


def test_bad_device_url_scheme() -> None:
    text = BASE + 'card = "rfidx://usb"\n'
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("devices.card", line_with(text, "card ="))
    assert "unknown device scheme 'rfidx'" in problem.message
    assert "nfc" in problem.message  # the known schemes are listed


def test_device_url_in_the_wrong_slot() -> None:
    text = BASE.replace('pad = "sim://pad"', 'pad = "barcode+sim://scanner"')
    problem = only_problem(text)
    assert problem.key == "devices.pad"
    assert "not a tag reader" in problem.message


def test_not_a_device_url() -> None:
    problem = only_problem(BASE + 'printer = "/dev/usb/lp0"\n')
    assert problem.key == "devices.printer"
    assert "not a device URL" in problem.message


def test_bad_ils_url_says_what_is_wrong() -> None:
    text = BASE.replace("sip2+sim://?institution=MUONTRA", "sip2://ils.example.org?tsl=1")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("ils.url", line_with(text, "url ="))
    assert "unknown parameter 'tsl'" in problem.message


def test_toml_syntax_error_has_the_line() -> None:
    text = BASE + "\n[patron]\npin_attempts = \n"
    problem = only_problem(text)
    assert problem.key == ""
    assert problem.line == line_with(text, "pin_attempts")
    assert problem.message.startswith("not valid TOML")
    assert "(at line" not in problem.message  # the line is in .line, not repeated


def test_missing_sections_have_no_line() -> None:
    found = {problem.key: problem for problem in problems("")}
    assert found["device"].line is None
    assert found["device"].message == "required section is missing"
    assert "ils" in found


def test_missing_key_is_reported_at_its_section() -> None:
    text = BASE.replace('site = "VN-HN0001"\n', "")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("device.site", line_with(text, "[device]"))
    assert problem.message == "required key is missing"


def test_list_item_problem_points_at_its_line() -> None:
    text = BASE + '\n[patron]\nidentify_by = [\n  "barcode",\n  "face",\n]\n'
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("patron.identify_by[1]", line_with(text, '"face"'))


def test_duplicates_in_a_list() -> None:
    problem = only_problem(BASE.replace("[device]\n", '[device]\nlanguages = ["vi", "vi"]\n'))
    assert problem.key == "device.languages"
    assert "twice" in problem.message


def test_device_id_and_timezone() -> None:
    text = BASE.replace('id = "kiosk-01"', 'id = "Kiosk 01"') + ""
    text = text.replace("[device]\n", '[device]\ntimezone = "Asia/Hanoi_City"\n')
    found = {problem.key for problem in problems(text)}
    assert found == {"device.id", "device.timezone"}


# -- roles ------------------------------------------------------------------------------


def test_gate_role_without_gate_section() -> None:
    text = BASE.replace("[device]\n", '[device]\nrole = "gate"\n')
    problem = only_problem(text)
    assert problem.key == "gate"
    assert "[gate]" in problem.message


def test_kiosk_role_needs_the_pad() -> None:
    text = BASE.replace('pad = "sim://pad"\n', "")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("devices.pad", line_with(text, "[devices]"))


def test_gate_section_on_a_kiosk_is_an_error() -> None:
    problem = only_problem(BASE + '\n[gate]\nreaders = ["sim://gate"]\n')
    assert problem.key == "gate"


def test_gate_alarm_outputs_must_be_named_outputs() -> None:
    gate = """\
[device]
id = "gate-01"
site = "VN-HN0001"
role = "gate"

[ils]
url = "sip2+sim://"

[devices]
outputs = "gpio://?red=17&mock=1"

[gate]
readers = ["sim://gate-a", "sim://gate-b"]
alarm_outputs = ["red", "siren"]
"""
    problem = only_problem(gate)
    assert problem.key == "gate.alarm_outputs"
    assert "siren" in problem.message and "red" not in problem.message
    config = parse_config(gate.replace('"red", "siren"', '"red"'))
    assert config.gate is not None and config.gate.readers == ["sim://gate-a", "sim://gate-b"]
    # No outputs at all: say so, and how to do without.
    problem = only_problem(gate.replace('outputs = "gpio://?red=17&mock=1"\n', ""))
    assert problem.key == "devices.outputs"


def test_gate_reader_problem_names_the_reader() -> None:
    gate = (
        '[device]\nid = "gate-01"\nsite = "S"\nrole = "gate"\n[ils]\nurl = "sip2+sim://"\n'
        '[gate]\nalarm_outputs = []\nreaders = [\n  "sim://a",\n  "gpio://?red=1",\n]\n'
    )
    problem = only_problem(gate)
    assert (problem.key, problem.line) == ("gate.readers[1]", line_with(gate, "gpio://"))


# -- sections ---------------------------------------------------------------------------


def test_security_overrides_accept_hex() -> None:
    text = BASE + '\n[security]\npolicy = "afi+eas"\nafi_secured = "0x9A"\nafi_unsecured = 0xC2\n'
    policy = parse_config(text).security.to_policy()
    assert (policy.use_afi, policy.use_eas) == (True, True)
    assert (policy.afi_secured, policy.afi_unsecured) == (0x9A, 0xC2)


def test_security_policy_problems() -> None:
    problem = only_problem(BASE + '\n[security]\npolicy = "rfid"\n')
    assert problem.key == "security.policy" and "afi+eas" in problem.message
    problem = only_problem(BASE + '\n[security]\nafi_secured = "0xZZ"\n')
    assert problem.key == "security.afi_secured"
    problem = only_problem(BASE + "\n[security]\nafi_secured = 0xC2\n")
    assert problem.key == "security" and "must differ" in problem.message


def test_email_receipts_need_smtp_and_one_tls_mode() -> None:
    problem = only_problem(BASE + "\n[receipts]\nemail = true\n")
    assert problem.key == "receipts.email"
    smtp = (
        "\n[receipts]\nemail = true\n\n[receipts.smtp]\n"
        'host = "smtp.example.org"\nsender = "thuvien@example.org"\n'
    )
    config = parse_config(BASE + smtp)
    assert config.receipts.smtp is not None and config.receipts.smtp.port == 587
    problem = only_problem(BASE + smtp + "tls = true\n")
    assert problem.key == "receipts.smtp.starttls"


# A kiosk on MQTT names its site key (the key that makes patron_ref).
KEYED = BASE.replace('site = "VN-HN0001"\n', 'site = "VN-HN0001"\nsite_key_env = "T_SITE_KEY"\n')


def test_mqtt_section() -> None:
    config = parse_config(KEYED + '\n[mqtt]\nhost = "mqtt.example.org"\n')
    assert config.mqtt is not None
    assert (config.mqtt.port, config.mqtt.tls, config.mqtt.topic_prefix) == (8883, True, "muontra")
    problem = only_problem(KEYED + '\n[mqtt]\nhost = "m"\ntopic_prefix = "muontra/#"\n')
    assert problem.key == "mqtt.topic_prefix"


def test_offline_limits() -> None:
    problem = only_problem(BASE + "\n[offline]\nmax_items_per_patron = 10\nmax_items_total = 5\n")
    assert problem.key == "offline.max_items_per_patron"


def test_inline_table_lines() -> None:
    text = BASE + '\n[receipts]\nsmtp = { host = "h", sender = "nobody", port = 25 }\n'
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("receipts.smtp.sender", line_with(text, "smtp ="))


# -- secrets ----------------------------------------------------------------------------


def with_ils(extra: str) -> str:
    return BASE.replace('[ils]\nurl = "sip2+sim://?institution=MUONTRA"\n', extra)


def test_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(with_ils('[ils]\nurl = "sip2+sim://"\npassword_env = "T_ILS_PW"\n'))
    monkeypatch.setenv("T_ILS_PW", "mật-khẩu")
    assert config.ils.password() == "mật-khẩu"
    assert config.ils.settings().password == "mật-khẩu"
    monkeypatch.delenv("T_ILS_PW")
    with pytest.raises(SecretError, match="T_ILS_PW is not set"):
        config.ils.password()


def test_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "ils-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    config = parse_config(with_ils(f'[ils]\nurl = "sip2+sim://"\npassword_file = "{secret}"\n'))
    assert config.ils.password() == "s3cret"
    secret.unlink()
    with pytest.raises(SecretError, match="cannot read"):
        config.ils.password()


def test_relative_password_file_is_a_systemd_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mqtt-password").write_text("broker-pw\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = parse_config(KEYED + '\n[mqtt]\nhost = "m"\npassword_file = "mqtt-password"\n')
    assert config.mqtt is not None and config.mqtt.password() == "broker-pw"


def test_no_password_configured() -> None:
    config = parse_config(BASE)
    assert config.ils.password() is None
    assert config.ils.settings().password is None


def test_secrets_are_checked_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("T_MISSING_PW", raising=False)
    text = with_ils('[ils]\nurl = "sip2+sim://"\npassword_env = "T_MISSING_PW"\n')
    parse_config(text)
    with pytest.raises(ConfigError) as exc:
        parse_config(text, secrets=True)
    (problem,) = exc.value.problems
    assert (problem.key, problem.line) == ("ils.password_env", line_with(text, "password_env"))


def test_ils_timeout_once_and_applied() -> None:
    config = parse_config(with_ils('[ils]\nurl = "sip2+sim://"\ntimeout = 4.5\n'))
    assert config.ils.settings().timeout == 4.5
    problem = only_problem(with_ils('[ils]\nurl = "sip2+sim://?timeout=3"\ntimeout = 4\n'))
    assert problem.key == "ils.timeout"


def test_mask_url() -> None:
    assert mask_url("sip2://kiosk:pw@ils:6001?institution=A&terminal_password=x") == (
        "sip2://kiosk:***@ils:6001?institution=A&terminal_password=***"
    )
    assert mask_url("sip2://ils?password_env=X") == "sip2://ils?password_env=X"
    assert mask_url("sim://pad") == "sim://pad"


# -- line finding -------------------------------------------------------------------------


def test_key_lines_follow_toml_constructs() -> None:
    text = """\
# comment = not a key
top = 1
[a]
b.c = 2            # dotted key
"quoted.key" = 3
s = \"\"\"
fake = "inside a string"
\"\"\"
arr = [
  1,  # one
  [2, 3],
  { x = 4 },
]
t = { u = 1, v = { w = 2 } }
[[aot]]
k = 1
[[aot]]
k = 2
[a.sub]
z = 'lit'
"""
    tomllib.loads(text)  # the fixture is valid TOML
    lines = key_lines(text)
    assert lines[("top",)] == 2
    assert lines[("a",)] == 3
    assert lines[("a", "b", "c")] == 4
    assert lines[("a", "quoted.key")] == 5
    assert ("fake",) not in lines and ("a", "fake") not in lines
    assert lines[("a", "arr", "1")] == 11
    assert lines[("a", "arr", "2", "x")] == 12
    assert lines[("a", "t", "v", "w")] == 14
    assert lines[("aot", "1", "k")] == 18
    assert lines[("a", "sub", "z")] == 20
    assert line_of(text, "a.sub.missing") == 19
    assert line_of(text, "nowhere.at.all") is None


def test_key_lines_survive_invalid_text() -> None:
    lines = key_lines("a = 1\nb = [1,\n")
    assert (lines[("a",)], lines[("b",)], lines[("b", "0")]) == (1, 2, 2)
    assert key_lines("a = \n[") == {("a",): 1}


# -- the command ----------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "kiosk.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE)
    assert cli.main(["config", "check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: OK (role self-checkout, device kiosk-01)\n"


def test_check_examples_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "check", *map(str, EXAMPLES)]) == 0
    assert capsys.readouterr().out.count(": OK (role ") == len(EXAMPLES)


def test_check_problems_like_a_compiler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, BASE, "good.toml")
    bad = write(tmp_path, BASE + "\n[patron]\npin_attempts = 99\n", "bad.toml")
    missing = tmp_path / "missing.toml"
    assert cli.main(["config", "check", str(good), str(bad), str(missing)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{good}: OK (role self-checkout, device kiosk-01)"
    assert re.fullmatch(rf"{re.escape(str(bad))}:12: patron\.pin_attempts: .*10, got 99", out[1])
    assert out[2] == f"{missing}: cannot read: No such file or directory"


def test_check_problem_without_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE.replace('[ils]\nurl = "sip2+sim://?institution=MUONTRA"\n', ""))
    assert cli.main(["config", "check", str(path)]) == 1
    assert capsys.readouterr().out == f"{path}: ils: required section is missing\n"


def test_check_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE + "[patron\n")
    assert cli.main(["config", "check", str(path)]) == 1
    assert capsys.readouterr().out.startswith(f"{path}:10: not valid TOML: ")


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, BASE, "good.toml")
    bad = write(tmp_path, BASE + "\n[patron]\npin = 'sometimes'\n", "bad.toml")
    assert cli.main(["config", "check", "--json", str(good), str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[0] == {
        "file": str(good),
        "ok": True,
        "role": "self-checkout",
        "device": "kiosk-01",
        "problems": [],
    }
    assert report[1]["ok"] is False
    assert report[1]["problems"][0]["key"] == "patron.pin"
    assert report[1]["problems"][0]["line"] == 12


def test_check_secrets_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("T_UNSET_PW", raising=False)
    path = write(tmp_path, with_ils('[ils]\nurl = "sip2+sim://"\npassword_env = "T_UNSET_PW"\n'))
    assert cli.main(["config", "check", str(path)]) == 0
    capsys.readouterr()
    assert cli.main(["config", "check", "--secrets", str(path)]) == 1
    assert "ils.password_env: environment variable T_UNSET_PW is not set" in capsys.readouterr().out


def test_show_fills_defaults_masks_secrets_and_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE.replace("sip2+sim://?institution=MUONTRA", "sip2+sim://kiosk:hunter2@x")
    path = write(tmp_path, text)
    assert cli.main(["config", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "kiosk:***@" in out
    assert "pin_attempts = 3" in out and "# [gate] not set" in out
    shown = DeviceConfig.model_validate(tomllib.loads(out))
    expected = load_config(path)
    assert shown.model_dump(exclude={"ils"}) == expected.model_dump(exclude={"ils"})


def test_show_leaves_text_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    footer = "Xem https://thuvien.example.vn?a=1&b=2 để gia hạn"
    path = write(tmp_path, BASE + f'\n[receipts]\nfooter_vi = "{footer}"\n')
    assert cli.main(["config", "show", str(path)]) == 0
    assert f'footer_vi = "{footer}"' in capsys.readouterr().out


def test_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.encode() + '\n[receipts]\nfooter_en = "Café"\n'.encode("latin-1"))
    assert cli.main(["config", "check", str(path)]) == 1
    assert capsys.readouterr().out == f"{path}:12: not UTF-8 text\n"


def test_show_of_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE + "nonsense = 1\n")
    assert cli.main(["config", "show", str(path)]) == 1
    assert "devices.nonsense: unknown key" in capsys.readouterr().out


def test_config_without_action_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config"]) == 2
    assert "check" in capsys.readouterr().out


def test_check_help_explains(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["config", "check", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "FILE:LINE: KEY: MESSAGE" in out and "--secrets" in out and "--json" in out


# -- documentation and units ------------------------------------------------------------------


def test_configuration_doc_lists_every_key() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")

    def keys(model: type[DeviceConfig] | type, prefix: str) -> list[str]:
        found: list[str] = []
        for name, field in model.model_fields.items():
            if model is DeviceConfig and name in sections.names():
                # A role's section: its model is the role's, found by entry point.
                assert f"### `[{name}]`" in doc, f"no section [{name}]"
                found += keys(sections.model_for(name), f"{name}.")
                continue
            inner = next(
                (
                    arg
                    for arg in (field.annotation, *getattr(field.annotation, "__args__", ()))
                    if isinstance(arg, type) and hasattr(arg, "model_fields")
                ),
                None,
            )
            if inner is not None:
                assert f"### `[{prefix}{name}]`" in doc, f"no section [{prefix}{name}]"
                found += keys(inner, f"{prefix}{name}.")
            else:
                found.append(f"{prefix}{name}")
        return found

    for key in keys(DeviceConfig, ""):
        section, _, name = key.rpartition(".")
        table = doc.split(f"### `[{section}]`", 1)[1].split("###", 1)[0]
        assert f"| `{name}` |" in table, f"{key} is not documented"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_systemd_unit_verifies(unit: Path, tmp_path: Path) -> None:
    # verify insists that ExecStart= exists: point it at this checkout's command.
    here = Path(sys.executable).parent / "muontra"
    copy = tmp_path / unit.name
    copy.write_text(
        unit.read_text(encoding="utf-8").replace("/opt/muontra/.venv/bin/muontra", str(here)),
        encoding="utf-8",
    )
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert unit.name not in done.stderr, done.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_systemd_unit_settings(unit: Path) -> None:
    text = unit.read_text(encoding="utf-8")
    for setting in (
        "Type=notify",
        "WatchdogSec=30",
        "Restart=on-failure",
        "User=muontra",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=\n",
        "SystemCallFilter=@system-service",
        "DevicePolicy=closed",
    ):
        assert setting in text, setting
    role = "gate" if "gate" in unit.name else "kiosk"
    assert f"muontra {role} --config /etc/muontra/{role}.toml" in text


def test_the_role_is_an_enum_that_keeps_its_toml_value() -> None:
    from engine.config.model import Role

    config = parse_config(BASE.replace("[device]\n", '[device]\nrole = "return"\n'))
    assert config.device.role is Role.RETURN
    assert str(config.device.role) == "return"
    wrong = problems(BASE.replace("[device]\n", '[device]\nrole = "sorting"\n'))
    assert [p.key for p in wrong] == ["device.role"]
