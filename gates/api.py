"""The gate's local API: the kiosk's JSON-lines protocol over a Unix socket.

The same wire format as :mod:`kiosk.api` (``{"id", "cmd", "args"}`` in,
``{"id", "ok", "result" | "error"}`` out, events after ``subscribe``), so the
staff console, scripts and :class:`kiosk.api.ApiClient` talk to a gate
as they talk to a kiosk. Its own small server because the kiosk's is bound to
the kiosk engine. The socket is mode 0660: the gate's user and group only.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.jsonlines import Command, JsonLinesServer, optional_string_arg, string_arg
from gates.controller import GateController

log = logging.getLogger(__name__)


def _counts(gate: GateController, args: dict[str, Any]) -> Any:
    since = optional_string_arg(args, "since")
    return gate.counts(datetime.fromisoformat(since) if since else None)


def _kiosk_event(gate: GateController, args: dict[str, Any]) -> Any:
    gate.kiosk_event(dict(args))
    return {"accepted": True}


def _missing(gate: GateController, args: dict[str, Any]) -> Any:
    item_id = string_arg(args, "item_id")
    missing = args.get("missing", True)
    if not isinstance(missing, bool):
        raise TypeError(f"missing must be true or false, got {type(missing).__name__}")
    gate.report_missing(item_id, missing)
    return {"item_id": item_id, "missing": missing}


def _hourly(gate: GateController, args: dict[str, Any]) -> Any:
    hours = args.get("hours", 24)
    # bool is an int to Python, not a number of hours to anyone else.
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 24 * 366:
        raise ValueError(f"hours must be a number from 0 to {24 * 366}, got {hours!r}")
    return {"hours": gate.hourly(float(hours))}


COMMANDS: dict[str, Command] = {
    "status": lambda g, a: g.status(),
    "counts": _counts,
    "hourly": _hourly,
    "history": lambda g, a: {"events": g.bus.history()},
    "kiosk_event": _kiosk_event,
    "missing": _missing,
}


class GateApiServer(JsonLinesServer):
    """The gate's local API: the same protocol as the kiosk's (engine.jsonlines)."""

    def __init__(
        self,
        path: Path,
        gate: GateController,
        *,
        admits: Callable[[socket.socket], bool] | None = None,
    ) -> None:
        """``admits`` decides on each connection by its peer's credentials (the daemon runs
        :class:`engine.security.api_peers.PeerGate`; tests on their own socket pass none)."""
        self.gate = gate
        super().__init__(path, gate, gate.bus, COMMANDS, name="gate-api", admits=admits)
