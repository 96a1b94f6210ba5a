"""The nightly backup's systemd units: least privilege (systemd-analyze's own measure),
and a command line the `muontra backup` parser accepts as systemd will expand it."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from muontra.cli import build_parser

UNITS = Path(__file__).resolve().parents[2] / "systemd"


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def test_exposure_is_low() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run(
        [analyze, "security", "--offline=true", str(UNITS / "muontra-backup.service")],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for muontra-backup\.service: ([\d.]+)", done.stdout)
    assert found, done.stdout[-2000:] + done.stderr
    assert float(found[1]) <= 2.5


def test_exec_start_is_a_backup_the_cli_accepts_with_rotation() -> None:
    service = unit("muontra-backup.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == "muontra"
    assert service["ProtectSystem"] == "strict"
    line = service["ExecStart"]
    env = {"MUONTRA_BACKUP_CONFIG": "/etc/muontra/gate.toml"}
    words = [
        word
        for word in shlex.split(
            line.replace("${MUONTRA_BACKUP_CONFIG}", env["MUONTRA_BACKUP_CONFIG"])
        )
        if word != "$MUONTRA_BACKUP_OPTIONS"
    ]
    argv = [*words[1:], "--central", "--encrypt-to", "age1example"]
    args = build_parser(argv).parse_args(argv)
    assert args.config == Path("/etc/muontra/gate.toml")
    assert args.keep == 14
    assert args.out == Path("/var/lib/muontra-backup")
    assert service["StateDirectory"] == "muontra-backup"


def test_the_timer_is_nightly_and_catches_up() -> None:
    timer = unit("muontra-backup.timer")["Timer"]
    assert timer["OnCalendar"] == "*-*-* 02:30:00"
    assert timer["Persistent"] == "true"
