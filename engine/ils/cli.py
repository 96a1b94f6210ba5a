"""`muontra sip2 …`: SIP2 tools for installers (decode traffic, check an ILS)."""

from __future__ import annotations

import argparse

from engine.ils import cli_decode, cli_doctor


def configure(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="sip2_command", metavar="TOOL", required=True)
    decode = tools.add_parser("decode", help=cli_decode.HELP, description=cli_decode.HELP)
    cli_decode.configure(decode)
    decode.set_defaults(_run=cli_decode.run)
    doctor = tools.add_parser("doctor", help=cli_doctor.HELP, description=cli_doctor.HELP)
    cli_doctor.configure(doctor)
    doctor.set_defaults(_run=cli_doctor.run)


def run(args: argparse.Namespace) -> int:  # pragma: no cover - subcommands set their own
    raise SystemExit("muontra sip2: choose a tool: decode or doctor")
