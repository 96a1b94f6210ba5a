"""`muontra demo`: everything on simulators, played for a person."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise SystemExit("muontra demo: not built yet")
