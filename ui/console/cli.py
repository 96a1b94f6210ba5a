"""`muontra console`: the staff console, a desktop client of central's HTTP API.

Without a display it says how to get one (status 3), as `muontra ui` does.
"""

from __future__ import annotations

import argparse
import os
import sys

from protocols.extras import require
from ui.console.client import TIMEOUT_S  # standard library only: no Qt before parsing

NO_DISPLAY_STATUS = 3
NO_DISPLAY = """muontra console: no display (DISPLAY, WAYLAND_DISPLAY, QT_QPA_PLATFORM unset).
Run it from a graphical session on the desk's or the IT office's computer.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        default="http://127.0.0.1:8765",
        help="central's API address ([central.api] port; https:// through a TLS proxy)",
    )
    parser.add_argument("--login", default="", help="the staff login to fill in")
    parser.add_argument(
        "--token-file",
        help="file holding a staff API token (first line), from `muontra central add-token`",
    )
    parser.add_argument("--site", help="only this site's alarms and devices (default: every site)")
    parser.add_argument("--language", choices=("vi", "en"), default="vi")
    parser.add_argument("--sound", action="store_true", help="a sound on every new alarm")
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT_S,
        help=f"seconds to wait for each answer from central (default {TIMEOUT_S:g}); the "
        "window stays live meanwhile and says so when central does not answer",
    )


def run(args: argparse.Namespace) -> int:
    require("ui", "muontra console (the staff console)")
    if not any(os.environ.get(n) for n in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        print(NO_DISPLAY, file=sys.stderr)
        return NO_DISPLAY_STATUS
    token = ""
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as handle:
            token = handle.readline().strip()
    from PySide6.QtWidgets import QApplication

    from ui.console.window import Console, Options
    from ui.sound import SoundCues

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = Console(
        Options(
            server=args.server,
            token=token,
            login=args.login,
            language=args.language,
            site=args.site,
            timeout=args.timeout,
        )
    )
    if args.sound:
        cues = SoundCues(True, window)
        window.options.sound = lambda: cues.play("attention")
    window.resize(1200, 800)
    window.show()
    if token:
        window.sign_in()
    try:
        return int(app.exec())
    finally:
        window.close_stream()
