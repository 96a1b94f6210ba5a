"""The `muontra` command: one dispatcher, each subcommand imported only when it runs.

A subcommand lives in the layer that owns it, as a module with two functions:
``configure(parser)`` adds its arguments (and nested subcommands) and
``run(args) -> int`` does the work and returns the exit status. Importing lazily
keeps `muontra --help` fast and lets a kiosk without PySide6 run `muontra kiosk`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from muontra import __version__


@dataclass(frozen=True, slots=True)
class Command:
    help: str
    module: str


COMMANDS: dict[str, Command] = {
    "demo": Command("run everything on simulators and play a session for a person", "kiosk.demo"),
    "kiosk": Command("run the kiosk engine (self-checkout, return station)", "kiosk.engine.cli"),
    "gate": Command("run the security gate (inventory loop, alarms, people counter)", "gates.cli"),
    "scenario": Command("run scenario files end to end on simulators", "kiosk.scenario.cli"),
    "ils-sim": Command("run the SIP2 ILS simulator (SQLite catalogue)", "kiosk.ils.sim.cli"),
    "sip2": Command("SIP2 tools: decode traffic, check a real ILS (doctor)", "kiosk.ils.cli"),
    "reader": Command("RFID reader tools: live inventory scan", "drivers.cli_reader"),
    "tag": Command("RFID tag tools: decode, read and program tags", "drivers.cli_tag"),
    "frame": Command("decode RFID reader frames sniffed from a serial line", "drivers.cli_frame"),
    "journal": Command(
        "the device's journal: status; recover or accept-new after damage", "kiosk.journal.cli"
    ),
    "config": Command("check and show device configuration files", "kiosk.config.cli"),
    "ui": Command("the PySide6 touchscreen (a client of the engine's local API)", "ui.cli"),
    "events": Command(
        "print a site's live events from MQTT (the staff alarm view)", "kiosk.mqtt.cli_events"
    ),
}


def _first_command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if arg in COMMANDS:
            return arg
        if not arg.startswith("-"):
            return None
    return None


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muontra",
        description="Self-service library hardware: kiosks, return machines, RFID gates.",
    )
    parser.add_argument("--version", action="version", version=f"muontra {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _first_command(argv)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        if name == chosen:
            module = importlib.import_module(command.module)
            module.configure(child)
            child.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from kiosk.logsetup import configure_logging

    configure_logging(args.verbose)
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
