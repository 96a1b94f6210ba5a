"""`muontra ui`: the kiosk touchscreen, a client of the engine's local API.

Without a display it explains how to get one instead of letting Qt abort:
a kiosk runs it under a Wayland kiosk compositor (cage) or X; a headless
machine can use Xvfb, or QT_QPA_PLATFORM=offscreen for a quick check. With a
display that Qt cannot use (a library of its platform plugin missing, an X
server gone), :mod:`ui.platform_probe` finds out in a child process first and
it exits with one line saying why (status 4); ``--check`` does only that, for
``muontra demo`` to decide between the touchscreen and the text session.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from protocols.extras import require

DEFAULT_SOCKET = "/run/muontra/kiosk.sock"
NO_DISPLAY_STATUS = 3
CANNOT_START_STATUS = 4
DEVICE_WAIT = 10.0

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
    parser.add_argument(
        "--size", help="window size WIDTHxHEIGHT (kiosk 1080x1920, return machine 1024x600)"
    )
    parser.add_argument(
        "--device",
        choices=("auto", "kiosk", "sorter"),
        default="auto",
        help="the kiosk's screens or the return machine's; auto asks the daemon's status "
        f"(waiting up to {DEVICE_WAIT:.0f} s, then the kiosk's)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that Qt can open a window here; say why not in one line (status 4)",
    )


def has_display() -> bool:
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run(args: argparse.Namespace) -> int:
    # Qt first: on a gate or sorter installed without [ui], that is the fix to name.
    require("ui", "muontra ui (the touchscreen)", modules=("PySide6",))
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return NO_DISPLAY_STATUS
    from ui.platform_probe import probe

    verdict = probe(os.environ.get("QT_QPA_PLATFORM", ""))
    if not verdict.ok:
        print(f"muontra ui: {verdict.reason}", file=sys.stderr)
        return CANNOT_START_STATUS
    if args.check:
        print(f"muontra ui: Qt opens its {verdict.platform} platform here")
        return 0
    from ui.app import Options, build

    device = args.device
    if device == "auto":
        from ui.device_kind import ask

        device = ask(Path(args.socket), DEVICE_WAIT) or "kiosk"
    default_size = "1024x600" if device == "sorter" else "1080x1920"
    width, _, height = str(args.size or default_size).partition("x")
    options = Options(
        socket=Path(args.socket),
        windowed=args.windowed,
        large_text=args.large_text,
        high_contrast=args.high_contrast,
        sim_panel=args.sim_panel,
        sound=args.sound,
        staff_pin_file=args.staff_pin_file,
        size=(int(width or 1080), int(height or 1920)),
    )
    if device == "sorter":
        from ui.sorter_app import build_sorter

        app: Any = build_sorter(options)
    else:
        app = build(options)
    try:
        return int(app.qt.exec())
    finally:
        app.link.stop()
