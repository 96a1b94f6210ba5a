"""What the platform check adds to `muontra ui`'s start: one child starting Qt's GUI.

`muontra ui` (and `muontra demo` through `muontra ui --check`) first lets a child
process open Qt's platform, so that a missing library gives one line instead of
Qt aborting (ui/platform_probe.py). This times that child: offscreen, and on
Qt's default platform (xcb) under a Xvfb started here when Xvfb is installed.

    .venv/bin/python bench/ui_platform_probe.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ui.xserver import missing_tools, xvfb
from ui.platform_probe import probe

RUNS = 10


def timed(platform: str) -> list[float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        verdict = probe(platform)
        times.append(time.perf_counter() - started)
        if not verdict.ok:
            raise SystemExit(f"the check failed: {verdict.reason}")
    return times


def report(name: str, times: list[float]) -> None:
    print(
        f"{name:<22} median {statistics.median(times) * 1000:6.0f} ms   "
        f"max {max(times) * 1000:6.0f} ms   ({RUNS} runs)"
    )


def main() -> int:
    os.environ.pop("WAYLAND_DISPLAY", None)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    report("offscreen", timed("offscreen"))
    del os.environ["QT_QPA_PLATFORM"]
    if "Xvfb" in missing_tools():
        print("xcb                    skipped: Xvfb is not installed")
        return 0
    with xvfb() as display:
        os.environ["DISPLAY"] = display
        report("xcb (Xvfb)", timed(""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
