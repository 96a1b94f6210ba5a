"""`muontra doctor` on a device: the ILS simulator over TCP, a real mosquitto, a pty reader.

Every part is real and on loopback: the SIP2 doctor logs in to the simulator,
the broker check logs in to mosquitto with TLS, the reader is a pseudo-terminal
(a character device like /dev/ttyUSB0), and the secret files are real files
whose modes the test sets.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_loader
from pathlib import Path
from typing import Any

import pytest

from muontra.cli import main
from tests.conftest import TlsFiles
from tests.integration.sim_helpers import running_sim
from tests.integration.test_mqtt_link import MOSQUITTO, MOSQUITTO_PASSWD, USERS, Broker

pytestmark = pytest.mark.skipif(
    not os.path.exists(MOSQUITTO) or MOSQUITTO_PASSWD is None,
    reason="mosquitto is not installed (scripts/apt-packages.txt)",
)

ILS_PASSWORD = "ils-Secret-42"
SITE_KEY = "5a" * 32


@dataclass
class Rig:
    folder: Path
    ils_port: int
    broker: Broker
    pty: str
    ils_secret: Path
    mqtt_secret: Path

    def config(self, *, pad: str | None = None, mqtt_user: str = "kiosk-01") -> Path:
        path = self.folder / "kiosk.toml"
        path.write_text(
            f"""
[device]
id = "kiosk-01"
site = "VN-HN0001"
data_dir = "{self.folder / "data"}"
api_socket = "{self.folder / "k.sock"}"
site_key_file = "{self.folder / "site-key"}"

[ils]
url = "sip2://kiosk@127.0.0.1:{self.ils_port}?institution=MUONTRA&location=TT&retries=1"
password_file = "{self.ils_secret}"
timeout = 3

[devices]
pad = "{pad or f"feig+serial://{self.pty}?baud=38400"}"

[mqtt]
host = "127.0.0.1"
port = {self.broker.port}
tls = true
ca_file = "{self.broker.tls.cert}"
username = "{mqtt_user}"
password_file = "{self.mqtt_secret}"
""",
            encoding="utf-8",
        )
        return path


def _secret(path: Path, value: str) -> Path:
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def rig(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Rig]:
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = Broker(folder, tls_files)
    broker.start()
    controller, reader = os.openpty()
    (tmp_path / "data").mkdir(mode=0o700)
    _secret(tmp_path / "site-key", SITE_KEY)
    try:
        with running_sim(accounts={"kiosk": ILS_PASSWORD}) as sim:
            yield Rig(
                folder=tmp_path,
                ils_port=sim.port,
                broker=broker,
                pty=os.ttyname(reader),
                ils_secret=_secret(tmp_path / "ils-password", ILS_PASSWORD),
                mqtt_secret=_secret(tmp_path / "mqtt-password", USERS["kiosk-01"]),
            )
    finally:
        os.close(controller)
        os.close(reader)
        broker.stop()


def _doctor(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = main(["doctor", "--config", str(config), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out), out


def _by_check(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["check"], []).append(finding)
    return found


def test_a_healthy_device_passes_every_check(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, out = _doctor(rig.config(), capsys)
    checks = _by_check(report)
    assert code == 0, out
    assert report["ok"] is True
    for name in ("config", "devices", "ils", "broker", "disk", "memory", "permissions"):
        assert {f["status"] for f in checks[name]} == {"ok"}, checks[name]
    assert "SC status" not in checks["ils"][0]["detail"]  # the detail is the answer itself
    assert "online=True" in checks["ils"][0]["detail"]
    assert checks["broker"][0]["detail"].endswith("connected as kiosk-01")
    skew = [f for f in checks["clock"] if "ILS" in f["detail"]]
    assert len(skew) == 1 and skew[0]["status"] == "ok"  # the simulator runs on our clock
    assert ILS_PASSWORD not in out and USERS["kiosk-01"] not in out and SITE_KEY not in out


def test_each_problem_gets_a_line_and_a_fix_in_both_languages(
    rig: Rig, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rig.mqtt_secret.chmod(0o644)  # readable by everyone
    rig.broker.set_users({"kiosk-01": "another-password"})  # and no longer the right one
    (tmp_path / "data").chmod(0o755)
    config = rig.config(pad="feig+serial:///dev/ttyUSB-not-here?baud=38400")
    code = main(["doctor", "--config", str(config)])
    text = capsys.readouterr().out
    assert code == 1
    lines = text.splitlines()
    assert any(
        line.startswith("fail  permissions ")
        and f"{rig.mqtt_secret} has mode 0644: other users can read a secret" in line
        for line in lines
    ), text
    assert f"fix: Only its owner may read it: chmod 0600 {rig.mqtt_secret}" in text
    assert f"sửa: Chỉ chủ sở hữu được đọc: chmod 0600 {rig.mqtt_secret}" in text
    assert any(
        line.startswith("fail  permissions ") and "mode 0755: others can enter" in line
        for line in lines
    )
    assert any(
        line.startswith("fail  devices ") and "/dev/ttyUSB-not-here" in line for line in lines
    )
    assert any(line.startswith("fail  broker ") and "refused" in line for line in lines), text
    assert any(line.startswith("ok    ils ") for line in lines)  # the ILS is still fine
    assert lines[-1].endswith(" fail") and lines[-1].startswith("doctor: ")
    # every line that is not ok is followed by the fix in Vietnamese, then English
    for n, line in enumerate(lines):
        if line.startswith(("fail", "warn")):
            assert lines[n + 1].strip().startswith("sửa: ")
            assert lines[n + 2].strip().startswith("fix: ")
    assert "another-password" not in text and USERS["kiosk-01"] not in text


def test_ils_login_refused_fails_the_ils_line(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    _secret(rig.ils_secret, "wrong-password")
    code, report, out = _doctor(rig.config(), capsys)
    checks = _by_check(report)
    assert code == 1
    assert checks["ils"][0]["status"] == "fail"
    assert checks["ils"][0]["detail"].split(": ")[1] == "connect and log in"
    assert checks["broker"][0]["status"] == "ok"  # the other checks still ran
    assert "wrong-password" not in out


def test_a_missing_extra_is_a_config_line_with_the_pip_fix(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "smartcard", None)
    config = rig.config(pad="pcsc://ACR1552")
    code, report, _out = _doctor(config, capsys)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["check"] == "config" and finding["status"] == "fail"
    assert finding["detail"].endswith(
        "devices.pad: the pcsc:// reader needs `pip install muontra[pcsc]`"
    )
    assert finding["fix"]["en"].startswith("Install it: pip install 'muontra[pcsc]'")
    assert finding["fix"]["vi"].startswith("Cài thêm phần này: pip install 'muontra[pcsc]'")


def test_an_extra_that_does_not_load_is_a_devices_line(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyscard installed, libpcsclite gone: found by the import, not by pip's metadata."""

    class NoSharedLibrary(Loader):
        def create_module(self, spec: ModuleSpec) -> None:
            return None

        def exec_module(self, module: object) -> None:
            raise ImportError("libpcsclite.so.1: cannot open shared object file")

    class Finder(MetaPathFinder):
        def find_spec(self, name: str, path: object = None, target: object = None) -> Any:
            if name == "smartcard":
                return spec_from_loader(name, NoSharedLibrary())
            return None

    for name in list(sys.modules):
        if name.partition(".")[0] == "smartcard":
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    code, report, _out = _doctor(rig.config(pad="pcsc://ACR1552"), capsys)
    devices = _by_check(report)["devices"]
    assert code == 1
    assert [f["detail"] for f in devices] == [
        "the pcsc:// reader does not load: libpcsclite.so.1: cannot open shared object file"
    ]


def test_a_clock_ten_minutes_off_the_ils_fails(
    tmp_path: Path, tls_files: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = Broker(folder, tls_files)
    broker.start()
    (tmp_path / "data").mkdir(mode=0o700)
    _secret(tmp_path / "site-key", SITE_KEY)

    def ils_clock() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=10)

    try:
        with running_sim(accounts={"kiosk": ILS_PASSWORD}, clock=ils_clock) as sim:
            rig = Rig(
                tmp_path,
                sim.port,
                broker,
                "/dev/null",
                _secret(tmp_path / "ils", ILS_PASSWORD),
                _secret(tmp_path / "mqtt", USERS["kiosk-01"]),
            )
            code, report, _out = _doctor(rig.config(pad="sim://pad"), capsys)
    finally:
        broker.stop()
    skew = [f for f in _by_check(report)["clock"] if "ILS" in f["detail"]]
    assert code == 1
    assert skew[0]["status"] == "fail"
    seconds = int(skew[0]["detail"].split(" s ")[0])
    assert -610 <= seconds <= -590  # we are ten minutes behind the ILS


def test_ntp_state_comes_from_timedatectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stand-in timedatectl on PATH, answering as systemd's does (`show --value`)."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    config = tmp_path / "gate.toml"
    config.write_text(
        f"""
[device]
id = "gate-01"
site = "VN-HN0001"
role = "gate"
data_dir = "{data}"
api_socket = "{tmp_path / "g.sock"}"

[ils]
url = "sip2+sim://?institution=MUONTRA"

[gate]
readers = ["sim://gate-a"]
alarm_outputs = []
""",
        encoding="utf-8",
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "timedatectl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for answer, status in (("yes", "ok"), ("no", "fail")):
        fake.write_text(
            f'#!/bin/sh\n[ "$*" = "show --property=NTPSynchronized --value" ] && echo {answer}\n',
            encoding="utf-8",
        )
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
        code, report, _ = _doctor(config, capsys)
        (clock,) = _by_check(report)["clock"]
        assert clock["status"] == status
        assert code == (1 if status == "fail" else 0)
        assert _by_check(report)["ils"][0]["status"] == "warn"  # the built-in simulator
