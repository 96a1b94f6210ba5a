"""`muontra config check` on central's file: every key known, every wrong one located."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from central.settings import CentralSettings
from engine.config import ConfigError
from engine.config.central_check import is_central, load_central, parse_central
from muontra import cli

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "config" / "central.toml"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _leaves(model: type[BaseModel], data: dict[str, Any], path: tuple[str, ...] = ()) -> list[Any]:
    """(table path, key, value) for every key of the model, nested sections walked."""
    found: list[Any] = []
    for name, value in data.items():
        field = model.model_fields[name]
        inner = field.annotation
        if isinstance(value, dict) and isinstance(inner, type) and issubclass(inner, BaseModel):
            found += _leaves(inner, value, (*path, name))
        elif value is not None:
            found.append((path, name, value))
    return found


LEAVES = _leaves(CentralSettings, CentralSettings().model_dump(mode="json"))


def every_key_toml(misspell: tuple[tuple[str, ...], str] | None = None) -> tuple[str, int]:
    """A file that writes out every key at its default; with ``misspell``, that key with an
    extra letter. Also the line of the misspelt key (0 if none)."""
    lines: list[str] = []
    current: tuple[str, ...] | None = None
    wrong_line = 0
    for path, key, value in LEAVES:
        if path != current:
            lines += ["", "[" + ".".join(("central", *path)) + "]"]
            current = path
        written = key
        if misspell == (path, key):
            written = key + "x"
            wrong_line = len(lines) + 1
        lines.append(f"{written} = {_toml_value(value)}")
    return "\n".join(lines) + "\n", wrong_line


def test_every_key_at_its_default_is_accepted() -> None:
    text, _ = every_key_toml()
    # The walk reached every nested section, not only [central] itself.
    sections = {
        name for name, value in CentralSettings().model_dump().items() if isinstance(value, dict)
    }
    assert {path[0] for path, _, _ in LEAVES if path} == sections
    assert parse_central(text) == CentralSettings()


@pytest.mark.parametrize(("path", "key"), [(p, k) for p, k, _ in LEAVES])
def test_every_misspelt_key_is_named_with_its_line_and_the_right_one(
    path: tuple[str, ...], key: str
) -> None:
    text, line = every_key_toml((path, key))
    with pytest.raises(ConfigError) as caught:
        parse_central(text)
    [problem] = caught.value.problems
    assert problem.key == ".".join(("central", *path, key + "x"))
    assert problem.line == line
    what = (
        "section" if isinstance(dict(((p, k), v) for p, k, v in LEAVES)[path, key], dict) else "key"
    )
    assert problem.message == f"unknown {what}; did you mean {key!r}?"


def test_the_shipped_file_passes_through_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert is_central(SHIPPED)
    assert cli.main(["config", "check", str(SHIPPED)]) == 0
    assert capsys.readouterr().out == f"{SHIPPED}: OK (central)\n"


BAD = """\
[central]
timezone = "Asia/Hanoi_City"

[central.mqtt]
hots = "broker.example.vn"
port = 99999

[central.alert]
gate_alarm = true

[central.api]
login_failures = 0

[centrl]
"""


def test_problems_like_a_compiler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "central.toml"
    path.write_text(BAD, encoding="utf-8")
    assert cli.main(["config", "check", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:2: central.timezone: unknown time zone 'Asia/Hanoi_City'",
        f"{path}:5: central.mqtt.hots: unknown key; did you mean 'host'?",
        f"{path}:6: central.mqtt.port: Input should be less than or equal to 65535, got 99999",
        f"{path}:8: central.alert: unknown section; did you mean 'alerts'?",
        f"{path}:12: central.api.login_failures: Input should be greater than or equal to 1, got 0",
        f"{path}:14: centrl: unknown section; central's file holds only [central]",
    ]
    assert cli.main(["config", "check", "--json", str(path)]) == 1
    [report] = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and len(report["problems"]) == 6


def test_secrets_are_read_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("H14_NO_SUCH_URL", raising=False)
    path = tmp_path / "central.toml"
    path.write_text(
        '[central.database]\nurl_env = "H14_NO_SUCH_URL"\n\n'
        f'[central.mqtt]\npassword_file = "{tmp_path / "absent.secret"}"\n',
        encoding="utf-8",
    )
    assert load_central(path) is not None
    assert cli.main(["config", "check", "--secrets", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}:2: central.database.url_env: cannot read: database.url_env: " + (
        "$H14_NO_SUCH_URL is not set"
    )
    assert out[1] == f"{path}:5: central.mqtt.password_file: cannot read: No such file or directory"
    monkeypatch.setenv("H14_NO_SUCH_URL", "sqlite:///x.db")
    (tmp_path / "absent.secret").write_text("s3cret\n", encoding="utf-8")
    assert cli.main(["config", "check", "--secrets", str(path)]) == 0


def test_a_device_file_is_still_a_device_file(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[device]\nid = "k"\n', encoding="utf-8")
    assert not is_central(path)
    path.write_text("[central\n", encoding="utf-8")  # not TOML: the device check reports it
    assert not is_central(path)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_hostile_text_gets_a_config_error_or_settings(text: str) -> None:
    try:
        parse_central("[central]\n" + text)
    except ConfigError as error:
        assert error.problems and all(p.message for p in error.problems)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["timezone", "mqtt", "api", "alerts", "database", "nope"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: st.dictionaries(st.text(max_size=8), inner, max_size=4),
            max_leaves=8,
        ),
    )
)
def test_hostile_tables_get_a_config_error_or_settings(table: dict[str, Any]) -> None:
    text = "[central]\n" + "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in table.items() if value is not None
    )
    try:
        parse_central(text)
    except ConfigError as error:
        assert error.problems
