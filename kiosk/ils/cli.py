"""`muontra sip2 …`: SIP2 tools for installers."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_subparsers(dest="sip2_command", metavar="TOOL")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("muontra sip2: not built yet")
