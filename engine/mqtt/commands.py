"""Commands from central monitoring, routed to the handlers the device's role registered.

The link (:class:`~engine.mqtt.link.MqttLink`) makes sure a command is fresh and
runs once; what it does is the role's business. Each role builds a
:class:`CommandRouter` and registers a :class:`CommandHandler` per command it
really carries out (kiosk/mqtt_commands.py, gates/mqtt_commands.py, the
sorter's). A command no handler was registered for is answered plainly with
what this device is, so central never reads "done" for something that was not:
a kiosk asked to empty a bin says it has no bins.

The handlers every role may share (a staff message, a reload, emptying a bin)
are here, so that their arguments are checked once and answered alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.events import EventBus
from engine.mqtt.link import CommandOutcome
from protocols.mqtt.payloads import Command
from protocols.mqtt.topics import COMMAND_NAMES

__all__ = [
    "NO_BINS",
    "BinEmptier",
    "CommandHandler",
    "CommandRouter",
    "EmptiedBin",
    "EmptyBinCommand",
    "MessageCommand",
    "ReloadCommand",
    "UnknownBin",
    "announce_bin_emptied",
]

log = logging.getLogger(__name__)

NO_BINS = "this device has no bins: empty_bin is for a return machine with sorting bins"
_MAX_MESSAGE = 500
_MAX_STAFF = 64
_MAX_BIN = 64


class CommandHandler(Protocol):
    """Carries out one kind of command; answers what happened (published as its result)."""

    def handle(self, command: Command) -> CommandOutcome: ...


class CommandRouter:
    """The one command callback a role gives the link: each name to its registered handler."""

    def __init__(self, role: str) -> None:
        self.role = role
        self._handlers: dict[str, CommandHandler] = {}

    def register(self, name: str, handler: CommandHandler) -> CommandRouter:
        """Have ``handler`` carry out command ``name``; returns the router, to chain."""
        if name not in COMMAND_NAMES:
            raise ValueError(f"{name!r} is not a command of the schema {sorted(COMMAND_NAMES)}")
        if name in self._handlers:
            raise ValueError(f"command {name!r} already has a handler")
        self._handlers[name] = handler
        return self

    @property
    def names(self) -> frozenset[str]:
        """The commands this device carries out."""
        return frozenset(self._handlers)

    def __call__(self, command: Command) -> CommandOutcome:
        handler = self._handlers.get(command.name)
        if handler is not None:
            return handler.handle(command)
        if command.name == "empty_bin":
            return CommandOutcome(False, f"{NO_BINS} (this is a {self.role})")
        return CommandOutcome(False, f"{command.name} does not apply to a {self.role}")


@dataclass(frozen=True, slots=True)
class MessageCommand:
    """``message`` {"text"}: shown on the device's staff screen (an event on its bus)."""

    bus: EventBus

    def handle(self, command: Command) -> CommandOutcome:
        text = command.args.get("text")
        if not isinstance(text, str) or not text:
            return CommandOutcome(False, "message needs args.text")
        self.bus.publish("staff_message", text=text[:_MAX_MESSAGE])
        return CommandOutcome(True, "shown")


@dataclass(frozen=True, slots=True)
class ReloadCommand:
    """``reload``: the daemon checks its configuration file and restarts on it if valid.

    ``reload`` returns the problem when the file is not valid, None when the restart
    is under way; None as ``reload`` itself: this daemon cannot reload.
    """

    reload: Callable[[], str | None] | None

    def handle(self, command: Command) -> CommandOutcome:
        if self.reload is None:
            return CommandOutcome(False, "reload is not available here")
        problem = self.reload()
        return CommandOutcome(problem is None, problem or "reloading the configuration")


# --- emptying a bin -------------------------------------------------------------------------


class UnknownBin(LookupError):
    """The bin named in an ``empty_bin`` is not one of this machine's."""


@dataclass(frozen=True, slots=True)
class EmptiedBin:
    """What emptying a bin did: its count went back to 0 from ``items``."""

    bin: str
    items: int
    manifest: Path | None = None
    """The CSV manifest written for the bin slip, if one was."""
    printed: bool = False
    """Whether the bin slip came out of the printer."""


class BinEmptier(Protocol):
    """The machine with bins (the sorter): empties one, keeps its manifest, prints its slip.

    It does not announce the emptying itself: whoever asked (this command, the
    staff screen) calls :func:`announce_bin_emptied` once.
    """

    def empty_bin(self, bin_id: str, staff: str | None) -> EmptiedBin:
        """Raise :class:`UnknownBin` for a bin the machine does not have."""
        ...


def announce_bin_emptied(bus: EventBus, emptied: EmptiedBin, staff: str | None = None) -> None:
    """Publish ``bin_emptied`` on the device's bus; the MQTT bridge takes it to the fleet."""
    fields: dict[str, object] = {"bin": emptied.bin, "count": emptied.items}
    if staff:
        fields["staff"] = staff
    bus.publish("bin_emptied", **fields)


def _bin_argument(value: object) -> str | None:
    """A bin id from the command's args: text, or a whole number as older consoles send it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= _MAX_BIN and value.isprintable():
        return value
    return None


@dataclass(frozen=True, slots=True)
class EmptyBinCommand:
    """``empty_bin`` {"bin", "staff"?}: empty the bin for real, then say so on the bus.

    ``staff`` is the display name the staff member chose to be shown as (the
    bin slip and the fleet event carry it); it is optional.
    """

    machine: BinEmptier
    bus: EventBus

    def handle(self, command: Command) -> CommandOutcome:
        bin_id = _bin_argument(command.args.get("bin"))
        if bin_id is None:
            return CommandOutcome(False, "empty_bin needs args.bin (the bin's id)")
        staff = command.args.get("staff")
        if staff is not None and (
            not isinstance(staff, str) or not staff.isprintable() or len(staff) > _MAX_STAFF
        ):
            return CommandOutcome(
                False, f"empty_bin args.staff must be a name of at most {_MAX_STAFF} characters"
            )
        try:
            emptied = self.machine.empty_bin(bin_id, staff or None)
        except UnknownBin:
            return CommandOutcome(False, f"there is no bin {bin_id!r} on this machine")
        announce_bin_emptied(self.bus, emptied, staff or None)
        log.info("bin %s emptied by command: %d item(s)", emptied.bin, emptied.items)
        slip = "slip printed" if emptied.printed else "slip not printed"
        manifest = f", manifest {emptied.manifest.name}" if emptied.manifest is not None else ""
        return CommandOutcome(
            True, f"bin {emptied.bin} emptied: {emptied.items} item(s), {slip}{manifest}"
        )
