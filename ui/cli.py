"""`muontra ui`: the kiosk touchscreen, a client of the engine's local API.

Without a display it explains how to get one instead of letting Qt abort:
a kiosk runs it under a Wayland kiosk compositor (cage) or X; a headless
machine can use Xvfb, or QT_QPA_PLATFORM=offscreen for a quick check.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_SOCKET = "/run/muontra/kiosk.sock"

NO_DISPLAY = """muontra ui: no display (DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM are unset).
To view the touchscreen:
  - on the kiosk: run it inside a kiosk compositor, e.g. `cage -- muontra ui`
  - on a desktop: run it from a graphical session (`muontra ui --windowed`)
  - headless: `xvfb-run -s "-screen 0 1080x1920x24" muontra ui --windowed`
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", default=DEFAULT_SOCKET, help="the engine's API socket")
    parser.add_argument("--windowed", action="store_true", help="a window, not full screen")
    parser.add_argument("--large-text", action="store_true", help="larger text everywhere")
    parser.add_argument("--high-contrast", action="store_true", help="white/yellow on black")
    parser.add_argument("--sim-panel", action="store_true", help="show the simulator panel")
    parser.add_argument("--sound", action="store_true", help="sound cues (needs QtMultimedia)")
    parser.add_argument("--staff-pin-file", help="file holding the staff PIN (first line)")
    parser.add_argument("--size", default="1080x1920", help="window size WIDTHxHEIGHT")


def has_display() -> bool:
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run(args: argparse.Namespace) -> int:
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 3
    from ui.app import Options, build

    width, _, height = str(args.size).partition("x")
    app = build(
        Options(
            socket=Path(args.socket),
            windowed=args.windowed,
            large_text=args.large_text,
            high_contrast=args.high_contrast,
            sim_panel=args.sim_panel,
            sound=args.sound,
            staff_pin_file=args.staff_pin_file,
            size=(int(width or 1080), int(height or 1920)),
        )
    )
    try:
        return int(app.qt.exec())
    finally:
        app.link.stop()
