"""Least privilege, proven: every unit in systemd/ against systemd's own judge.

``systemd-analyze security --offline=true`` scores a unit file without a running
systemd; every unit must score 2.5 or better. ``systemd-analyze verify`` catches
unknown keys and values systemd would ignore (a typo in a sandboxing key silently
drops that protection). Both run where systemd-analyze exists and skip, saying
so, where it does not. The device access of each role is checked here too, by
reading the files: what each daemon really needs and nothing more, with a comment
saying why before every permission kept.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed here (Debian: systemd)"
)

MAX_EXPOSURE = 2.5
_OVERALL = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Needs:
    """What a role may touch: device classes, supplementary groups, socket families."""

    devices: frozenset[str]
    groups: frozenset[str]
    families: frozenset[str]


SERIAL = {"char-ttyUSB rw", "char-ttyACM rw", "char-ttyAMA rw"}
GPIO = {"char-gpiochip rw"}
USB_PRINTER = {"char-usb rw", "char-usb_device rw"}
IP = {"AF_UNIX", "AF_INET", "AF_INET6"}

ROLES: dict[str, Needs] = {
    # The kiosk: readers (serial, PC/SC through pcscd's socket, nfc over libusb),
    # GPIO, evdev scanners, printers.
    "muontra-kiosk.service": Needs(
        frozenset(SERIAL | GPIO | USB_PRINTER | {"char-input r"}),
        frozenset({"dialout", "plugdev", "gpio", "input", "lp"}),
        frozenset(IP | {"AF_NETLINK"}),
    ),
    # The gate: serial readers and GPIO (lights, buzzer, beams). No USB, no input.
    "muontra-gate.service": Needs(
        frozenset(SERIAL | GPIO), frozenset({"dialout", "gpio"}), frozenset(IP)
    ),
    # The return machine: serial tunnel reader, GPIO belt, IP for the PLC, a printer.
    "muontra-sorter.service": Needs(
        frozenset(SERIAL | GPIO | USB_PRINTER),
        frozenset({"dialout", "gpio", "lp", "plugdev"}),
        frozenset(IP | {"AF_NETLINK"}),
    ),
    # The touchscreen: the display, the touch input, sound, its tty; no IP.
    "muontra-ui.service": Needs(
        frozenset({"char-drm rw", "char-input rw", "char-alsa rw", "/dev/tty1 rw"}),
        frozenset({"muontra", "video", "input", "render", "audio"}),
        frozenset({"AF_UNIX", "AF_NETLINK"}),
    ),
}
# Every other unit (central, the ILS simulator, and any added later such as a
# backup) touches no device and joins no group: PrivateDevices=yes.
NO_DEVICES = Needs(frozenset(), frozenset(), frozenset(IP))
EXPECTED_UNITS = {
    "muontra-kiosk.service",
    "muontra-gate.service",
    "muontra-sorter.service",
    "muontra-central.service",
    "muontra-ui.service",
    "muontra-ils-sim.service",
}
# Keys that grant something; each needs a comment saying why just above it.
GRANTS = ("DeviceAllow", "SupplementaryGroups", "RestrictAddressFamilies", "ReadWritePaths")


def settings(unit: Path) -> list[tuple[int, str, str]]:
    """(line number, key, value) of every setting, repeated keys kept (systemd allows them)."""
    found = []
    for number, line in enumerate(unit.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "[")):
            continue
        key, _, value = stripped.partition("=")
        found.append((number, key.strip(), value.strip()))
    return found


def values(unit: Path, key: str) -> list[str]:
    return [value for _, k, value in settings(unit) if k == key]


def words(unit: Path, key: str) -> set[str]:
    return {word for value in values(unit, key) for word in value.split()}


def test_every_role_has_its_unit() -> None:
    assert {unit.name for unit in UNITS} >= EXPECTED_UNITS


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_exposure_is_at_most_2_5(unit: Path) -> None:
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "offline" in done.stderr and done.returncode != 0 and not done.stdout:
        pytest.skip(f"this systemd-analyze cannot score a unit file offline: {done.stderr}")
    match = _OVERALL.search(done.stdout)
    assert match, f"no overall exposure in systemd-analyze's answer:\n{done.stdout}{done.stderr}"
    exposure = float(match.group(1))
    failed = [line for line in done.stdout.splitlines() if line.startswith("✗")]
    assert exposure <= MAX_EXPOSURE, f"{unit.name}: exposure {exposure}\n" + "\n".join(failed)


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_verify_finds_nothing(unit: Path, tmp_path: Path) -> None:
    """The unit as installed, but with its programs pointed at ones that exist here
    (verify checks that ExecStart= is executable; /opt/muontra is not installed)."""
    assert ANALYZE is not None
    text = unit.read_text()
    text = text.replace(
        "/opt/muontra/.venv/bin/muontra", str(Path(sys.executable).with_name("muontra"))
    )
    text = text.replace("/usr/bin/cage", shutil.which("true") or "/bin/true")
    copy = tmp_path / unit.name
    copy.write_text(text)
    done = subprocess.run(
        [ANALYZE, "verify", "--man=no", "--no-pager", str(copy)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 0 and not said, said


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_devices_groups_and_sockets_are_what_the_role_needs(unit: Path) -> None:
    needs = ROLES.get(unit.name, NO_DEVICES)
    assert values(unit, "DevicePolicy") == ["closed"] or values(unit, "PrivateDevices") == ["yes"]
    allowed = set(values(unit, "DeviceAllow"))
    assert allowed == needs.devices, f"{unit.name}: DeviceAllow {sorted(allowed)}"
    if not needs.devices:
        assert values(unit, "PrivateDevices") == ["yes"]
    groups = words(unit, "SupplementaryGroups")
    assert groups == needs.groups, f"{unit.name}: SupplementaryGroups {sorted(groups)}"
    families = words(unit, "RestrictAddressFamilies")
    assert families and families <= needs.families, f"{unit.name}: {sorted(families)}"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_no_capability_no_privilege_gain(unit: Path) -> None:
    assert values(unit, "CapabilityBoundingSet") == [""]
    assert values(unit, "AmbientCapabilities") in ([], [""])
    assert values(unit, "NoNewPrivileges") == ["yes"]
    assert values(unit, "ProtectSystem") == ["strict"]
    user = values(unit, "User") + values(unit, "DynamicUser")
    assert user and user != ["root"], f"{unit.name} runs as root"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_every_permission_kept_says_why(unit: Path) -> None:
    lines = unit.read_text().splitlines()
    for number, key, _ in settings(unit):
        if key not in GRANTS:
            continue
        above = number - 2  # the line above, 0-based
        # A run of the same grant (or its DevicePolicy=) shares the comment above the run.
        while above >= 0 and lines[above].partition("=")[0].strip() in (key, "DevicePolicy"):
            above -= 1
        assert above >= 0 and lines[above].lstrip().startswith("#"), (
            f"{unit.name}:{number}: {key}= without a comment saying why"
        )
