"""The doctor's memory check: does this board have room for its role's programs?

The needs are bench/footprint.py's figures (docs/install.md, "Memory: what each
process needs"), rounded up: every daemon is held under 80 MB, and the
touchscreen (a kiosk's, or a return machine's wall screen) takes about 150 MB
more. What counts as room is the kernel's MemAvailable (what it can hand out
without swapping) plus what muontra's own programs hold already: run beside the
service, as the doctor usually is, the service's memory is its own, not taken.
"""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

from engine.config.model import DeviceConfig, Role
from engine.doctor.findings import Finding, fail, ok, warn

DAEMON_MB = 80
"""A daemon's ceiling, held by bench/footprint.py (issue 15's goal)."""
SCREEN_MB = 150
"""The touchscreen (`muontra ui`) after a day's use, measured by the same bench."""
HEADROOM = 1.5
"""Below this many times the need: warn. SQLite's page cache, a nightly backup's
archive and the system's own file cache want room beside the programs."""

WITH_SCREEN = {Role.SELF_CHECKOUT, Role.RETURN, Role.BOTH, Role.SORTER}
MEMINFO = Path("/proc/meminfo")


def need_mb(role: Role) -> int:
    return DAEMON_MB + (SCREEN_MB if role in WITH_SCREEN else 0)


def meminfo_mb(path: Path = MEMINFO) -> dict[str, float]:
    """/proc/meminfo's fields in MB (``MemTotal``, ``MemAvailable``, …)."""
    found: dict[str, float] = {}
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            found[name.strip()] = int(fields[0]) / 1024  # kB → MB
    return found


def running_muontra_mb(proc: Path = Path("/proc")) -> float:
    """Resident memory of the muontra programs running now (daemons and screens), this
    process left out; processes that end or hide while being read are skipped."""
    total = 0.0
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if not _is_muontra(argv):
                continue
            for line in (entry / "status").read_text(errors="replace").splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except (OSError, ValueError):
            continue
    return total


def _is_muontra(argv: list[bytes]) -> bool:
    """``…/muontra kiosk``, ``python -m muontra gate`` (the units' two forms)."""
    if argv and argv[0].rsplit(b"/", 1)[-1] == b"muontra":
        return True
    return any(a == b"-m" and b == b"muontra" for a, b in pairwise(argv))


def check_memory(
    config: DeviceConfig,
    *,
    meminfo: Path = MEMINFO,
    ours_mb: float | None = None,
) -> list[Finding]:
    role = config.device.role
    need = need_mb(role)
    try:
        info = meminfo_mb(meminfo)
        total, available = info["MemTotal"], info["MemAvailable"]
    except (OSError, KeyError):
        return [ok("memory", f"not checked: no {meminfo} here (Linux only)")]
    ours = running_muontra_mb() if ours_mb is None else ours_mb
    room = available + ours
    what = "its touchscreen" if role in WITH_SCREEN else "no screen"
    detail = (
        f"{room:.0f} MB for muontra ({available:.0f} MB available + {ours:.0f} MB held by "
        f"muontra now) of {total:.0f} MB; role {role} with {what} needs about {need} MB"
    )
    fix_vi = (
        "Dừng các chương trình không cần trên máy này, hoặc dùng bo mạch nhiều RAM hơn "
        "(docs/install.md, mục Memory)."
    )
    fix_en = (
        "Stop programs this device does not need, or use a board with more RAM "
        "(docs/install.md, Memory)."
    )
    if room < need:
        return [fail("memory", detail, fix_vi, fix_en)]
    if room < need * HEADROOM:
        return [warn("memory", detail, fix_vi, fix_en)]
    return [ok("memory", detail)]
