"""The return machine's local API: the kiosk's JSON-lines protocol over a Unix socket.

The same wire format as :mod:`kiosk.api` and :mod:`gates.api` (``{"id", "cmd",
"args"}`` in, ``{"id", "ok", "result" | "error"}`` out, events after
``subscribe``), so the wall screen, the staff console and scripts talk to a
sorter as they talk to a kiosk. The commands are the contract in
/work/briefs/sorter-api.md: ``status``, ``exceptions``, ``staff_report``,
``empty_bin``, ``drop_begin``, ``drop_end``, ``receipt``, ``language``,
``pause`` and ``resume``. Events: ``item``, ``bins``, ``state``,
``exception``, ``staff_report``, ``bin_full``, ``bin_emptied``,
``belt_stopped``, ``plc_lost``, ``plc_back``, ``replayed``, ``reconciled``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.jsonlines import Command, JsonLinesServer, optional_string_arg, string_arg
from sorter.machine import Sorter

MAX_EXCEPTIONS = 200


def _exceptions(sorter: Sorter, args: dict[str, Any]) -> Any:
    limit = args.get("limit", 50)
    # bool is an int to Python, not a number of lines to anyone else.
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_EXCEPTIONS:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_EXCEPTIONS}, got {limit!r}")
    return {"items": sorter.exceptions(limit)}


def _empty_bin(sorter: Sorter, args: dict[str, Any]) -> Any:
    bin_id = string_arg(args, "bin")
    staff = optional_string_arg(args, "staff")
    # Here, not at the top: engine.mqtt.commands brings the MQTT link (paho), which a
    # machine without [mqtt] need not hold in memory until staff empty a bin.
    from engine.mqtt.commands import UnknownBin, announce_bin_emptied

    try:
        emptied = sorter.empty_bin(bin_id, staff)
    except UnknownBin:
        raise ValueError(f"there is no bin {bin_id!r} on this machine") from None
    announce_bin_emptied(sorter.bus, emptied, staff)
    return {
        "bin": emptied.bin,
        "items": emptied.items,
        "manifest": str(emptied.manifest) if emptied.manifest is not None else None,
        "printed": emptied.printed,
    }


def _language(sorter: Sorter, args: dict[str, Any]) -> Any:
    sorter.set_language(string_arg(args, "lang"))
    return {"language": sorter.language}


def _receipt(sorter: Sorter, args: dict[str, Any]) -> Any:
    """``{"drop"?, "how": "print"|"email"|"qr", "email"?}``: an ended drop's receipt
    (the last ended drop when none is named), answered as the kiosk's receipt command."""
    drop = optional_string_arg(args, "drop")
    how = string_arg(args, "how")
    address = optional_string_arg(args, "email")
    return sorter.receipt(drop, how, address)


def _pause(sorter: Sorter, paused: bool) -> Any:
    sorter.pause(paused)
    return {"state": sorter.status()["state"]}


COMMANDS: dict[str, Command] = {
    "status": lambda s, a: s.status(),
    "exceptions": _exceptions,
    "staff_report": lambda s, a: {"lines": s.staff_report()},
    "empty_bin": _empty_bin,
    "drop_begin": lambda s, a: {"drop": s.drop_begin()},
    "drop_end": lambda s, a: s.drop_end(),
    "receipt": _receipt,
    "language": _language,
    "pause": lambda s, a: _pause(s, True),
    "resume": lambda s, a: _pause(s, False),
    "history": lambda s, a: {"events": s.bus.history()},
}


class SorterApiServer(JsonLinesServer):
    """The sorter's local API: the same protocol as the kiosk's (engine.jsonlines)."""

    def __init__(
        self, path: Path, sorter: Sorter, *, admits: Callable[[socket.socket], bool] | None = None
    ) -> None:
        """``admits`` decides on each connection by its peer's credentials (the daemon runs
        :class:`engine.security.api_peers.PeerGate`; tests on their own socket pass none)."""
        self.sorter = sorter
        super().__init__(path, sorter, sorter.bus, COMMANDS, name="sorter-api", admits=admits)
