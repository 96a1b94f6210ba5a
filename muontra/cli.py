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
    "demo": Command("run everything on simulators and play a session for a person", "demo.run"),
    "kiosk": Command("run the kiosk engine (self-checkout, return station)", "kiosk.cli"),
    "gate": Command("run the security gate (inventory loop, alarms, people counter)", "gates.cli"),
    "sorter": Command(
        "run the return machine with sorting bins (belt, tunnel reader, bins)", "sorter.cli"
    ),
    "scenario": Command("run scenario files end to end on simulators", "scenario.cli"),
    "ils-sim": Command("run the SIP2 ILS simulator (SQLite catalogue)", "ilssim.cli"),
    "sip2": Command("SIP2 tools: decode traffic, check a real ILS (doctor)", "engine.ils.cli"),
    "reader": Command("RFID reader tools: live inventory scan", "drivers.cli_reader"),
    "tag": Command("RFID tag tools: decode, read and program tags", "drivers.cli_tag"),
    "frame": Command("decode RFID reader frames sniffed from a serial line", "drivers.cli_frame"),
    "journal": Command(
        "the device's journal: status; recover or accept-new after damage", "engine.journal.cli"
    ),
    "config": Command("check and show device configuration files", "engine.config.cli"),
    "doctor": Command(
        "check this device: config, devices, ILS, broker, clock, disk", "engine.doctor.cli"
    ),
    "ui": Command("the PySide6 touchscreen (a client of the engine's local API)", "ui.cli"),
    "central": Command("the fleet's centre: store, statistics, export", "central.cli"),
    "console": Command(
        "the staff console: alarms, fleet, bins, statistics (central's API)", "ui.console.cli"
    ),
    "events": Command(
        "print a site's live events from MQTT (the staff alarm view)", "engine.mqtt.cli_events"
    ),
    "backup": Command("a device's or central's data into one dated archive", "muontra.backup_cli"),
    "restore": Command("a backup onto a fresh data directory or database", "muontra.restore_cli"),
}


MISSING_EXTRA_STATUS = 5
"""The exit status when a configured feature's pip extra is not installed."""


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
    from engine.logsetup import configure_logging

    configure_logging(args.verbose)
    from protocols.extras import MissingExtra

    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
    except MissingExtra as missing:
        # One line naming the extra to install, not a traceback (protocols/extras.py).
        print(f"muontra {args.command}: {missing}", file=sys.stderr)
        return MISSING_EXTRA_STATUS
