"""`muontra ils-sim`: run the SIP2 ILS simulator."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=6001, help="TCP port to listen on")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("muontra ils-sim: not built yet")
