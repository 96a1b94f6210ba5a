"""scripts/install-device.sh: --dry-run changes nothing, --root installs into a directory.

Both run unprivileged-safe: the dry run has stand-ins for every command that
changes a machine (apt-get, useradd, groupadd, install, systemctl, the venv's
python) first on PATH, each recording that it was called, so a dry run that
did anything shows up in the record; --root installs into a temporary tree
and enables the unit with systemd's own offline `systemctl --root`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-device.sh"
MUTATING = ("apt-get", "useradd", "groupadd", "install", "systemctl", "python3")


def _script(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A PATH whose mutating commands only record their call, and the record."""
    bin_dir = tmp_path / "recording-bin"
    bin_dir.mkdir()
    record = tmp_path / "called"
    for name in MUTATING:
        stub = bin_dir / name
        # `systemctl is-active` only looks; it answers "inactive" (3), as systemd does.
        looks = '[ "$1" = is-active ] && exit 3\n' if name == "systemctl" else ""
        stub.write_text(
            f'#!/bin/sh\n{looks}echo "{name} $*" >> {record}\nexit 1\n', encoding="utf-8"
        )
        stub.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}", record


def _commands(out: str) -> list[list[str]]:
    return [shlex.split(line[2:]) for line in out.splitlines() if line.startswith("+ ")]


@pytest.mark.parametrize(
    ("role", "extras"), [("gate", "gpio"), ("kiosk", "ui,printer,gpio,pcsc,nfc")]
)
def test_dry_run_prints_the_whole_install_and_runs_none_of_it(
    recorder: tuple[str, Path], role: str, extras: str
) -> None:
    path, record = recorder
    done = _script("--dry-run", "--python", "python3", role, path=path)
    assert done.returncode == 0, done.stderr
    assert not record.exists(), record.read_text()  # nothing that changes the machine ran
    commands = _commands(done.stdout)
    pip = [c for c in commands if c[1:4] == ["-m", "pip", "install"] and "--upgrade" not in c]
    assert pip == [
        [
            "/opt/muontra/.venv/bin/python", "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", f"{ROOT}[{extras}]",
        ]
    ]  # fmt: skip
    unit = f"muontra-{role}.service"
    put = ["install", "-o", "root", "-g", "root", "-m", "0644"]
    put += [str(ROOT / "systemd" / unit), f"/etc/systemd/system/{unit}"]
    assert put in commands or f"{unit} unchanged" in done.stdout
    assert any(c[:2] == ["systemctl", "enable"] and unit in c for c in commands)
    getent = ["getent", "passwd", "muontra"]
    known_user = subprocess.run(getent, capture_output=True, check=False).returncode
    assert any(c[0] == "useradd" for c in commands) == (known_user != 0)


def test_dry_run_under_root_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "image"
    target.mkdir()
    done = _script("--dry-run", "--root", str(target), "gate")
    assert done.returncode == 0, done.stderr
    assert list(target.iterdir()) == []
    assert f"+ systemctl --root={target} enable muontra-gate.service" in done.stdout


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_root_mode_installs_config_env_and_unit_and_enables_it(tmp_path: Path) -> None:
    if shutil.which("systemctl") is None:
        pytest.skip("systemctl is not installed here (the offline enable needs it)")
    target = tmp_path / "image"
    target.mkdir()
    done = _script("--root", str(target), "--no-venv", "gate")
    assert done.returncode == 0, done.stderr
    etc = target / "etc" / "muontra"
    assert (etc / "gate.toml").read_bytes() == (ROOT / "config" / "gate.example.toml").read_bytes()
    assert _mode(etc) == 0o750 and _mode(etc / "secrets") == 0o700
    assert _mode(etc / "gate.toml") == 0o640 and _mode(etc / "gate.env") == 0o600
    unit = target / "etc" / "systemd" / "system" / "muontra-gate.service"
    assert unit.read_bytes() == (ROOT / "systemd" / "muontra-gate.service").read_bytes()
    wanted = unit.parent / "multi-user.target.wants" / "muontra-gate.service"
    assert wanted.is_symlink() and os.readlink(wanted) == "/etc/systemd/system/muontra-gate.service"
    assert "skipped under --root: the system user muontra" in done.stdout

    # Again, after the site edited its config and someone changed the installed unit:
    # the config is kept, the unit put back, nothing else touched.
    (etc / "gate.toml").write_text("# the site's own\n", encoding="utf-8")
    (etc / "gate.env").write_text("MUONTRA_ILS_PASSWORD=x\n", encoding="utf-8")
    unit.write_text("[Service]\n", encoding="utf-8")
    again = _script("--root", str(target), "--no-venv", "gate")
    assert again.returncode == 0, again.stderr
    assert (etc / "gate.toml").read_text(encoding="utf-8") == "# the site's own\n"
    assert (etc / "gate.env").read_text(encoding="utf-8") == "MUONTRA_ILS_PASSWORD=x\n"
    assert unit.read_bytes() == (ROOT / "systemd" / "muontra-gate.service").read_bytes()
    assert f"kept {etc / 'gate.toml'}" in again.stdout

    third = _script("--root", str(target), "--no-venv", "gate")
    assert "muontra-gate.service unchanged" in third.stdout
    assert not [c for c in _commands(third.stdout) if c[0] == "install" and "-d" not in c]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["printer"], "unknown role 'printer'"),
        (["--extras", "gpio;rm", "gate"], "--extras takes names"),
        (["--source", "/nonexistent", "--dry-run", "gate"], "is missing"),
        (["--bogus", "gate"], "unknown option --bogus"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(args: list[str], message: str) -> None:
    done = _script(*args)
    assert done.returncode != 0
    assert message in done.stderr


@pytest.mark.parametrize(
    ("role", "example"),
    [
        ("kiosk", "kiosk-self-checkout.example.toml"),
        ("gate", "gate.example.toml"),
        ("sorter", "sorter.example.toml"),
    ],
)
def test_every_role_installs_its_own_config_and_unit(
    tmp_path: Path, role: str, example: str
) -> None:
    if shutil.which("systemctl") is None:
        pytest.skip("systemctl is not installed here (the offline enable needs it)")
    done = _script("--root", str(tmp_path), "--no-venv", role)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "etc" / "muontra" / f"{role}.toml"
    assert config.read_bytes() == (ROOT / "config" / example).read_bytes()
    unit = tmp_path / "etc" / "systemd" / "system" / f"muontra-{role}.service"
    assert unit.read_bytes() == (ROOT / "systemd" / f"muontra-{role}.service").read_bytes()
    assert (unit.parent / "multi-user.target.wants" / unit.name).is_symlink()
