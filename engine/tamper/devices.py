"""A reader, printer or PLC lost during opening hours: ``device_unplugged``.

Every role already tells its bus when a part goes away and comes back, for the
staff screen and central's health view: the gate's ``device`` events (each reader
by URL, its outputs and beams), the kiosk's ``device`` event for its pad, the
sorter's ``plc_lost`` / ``plc_back``. This module listens to those same events
rather than adding a second way of noticing, so a part a role learns to watch
is watched here too.

A part lost while the library is closed is maintenance, and says nothing; one
still lost when the library opens is reported then (someone unplugged it last
night and nobody put it back). Each lost stretch is reported once; the reporter
turns a flapping cable into one event per window with its count.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from engine.security.reporter import SecurityReporter
from engine.tamper.hours import OpeningHours
from protocols.mqtt.security_schema import Severity, Threat
from protocols.mqtt.sorter_schema import CODE

__all__ = ["NOT_PARTS", "DeviceWatch", "part_of"]

log = logging.getLogger(__name__)

NOT_PARTS = frozenset({"journal", "engine", "case"})
"""``device`` events about something that is not a plug: a damaged journal, the engine's
own readiness, the case switch (reported by :mod:`engine.tamper.case` itself)."""

MAX_PARTS = 64
"""Parts remembered as lost at once; a device has a handful, so more is a bug, not a flood."""


def part_of(device: str) -> str:
    """The ``part`` code for a role's device name: a reader named by URL is a ``reader``;
    ``pad``, ``outputs``, ``beams``, ``printer``, ``plc`` are codes already."""
    if "://" in device:
        return "reader"
    name = device.strip().lower()
    return name if CODE.fullmatch(name) else "device"


class DeviceWatch:
    """Remembers which parts are lost and reports them while the library is open."""

    def __init__(
        self,
        reporter: SecurityReporter,
        hours: OpeningHours,
        local: Callable[[], datetime],
    ) -> None:
        self.reporter = reporter
        self.hours = hours
        self.local = local
        """The site's wall time (``SiteClock.local``)."""
        self._lock = threading.Lock()
        self._lost: dict[str, tuple[str, bool]] = {}
        """Lost devices by name: (part, reported yet)."""

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Feed one bus event; those that are not about a part's health are ignored."""
        name = event.get("event")
        if name == "plc_lost":
            self.lost("plc")
        elif name == "plc_back":
            self.back("plc")
        elif name == "device":
            device, state = event.get("device"), event.get("state")
            if not isinstance(device, str) or device in NOT_PARTS:
                return
            if state == "unavailable":
                self.lost(device)
            elif state == "ready":
                self.back(device)

    def lost(self, device: str, part: str | None = None) -> None:
        with self._lock:
            if device in self._lost:
                return
            if len(self._lost) >= MAX_PARTS:
                log.warning("more than %d parts lost at once; %s not watched", MAX_PARTS, device)
                return
            self._lost[device] = (part or part_of(device), False)
        self.check()

    def back(self, device: str) -> None:
        with self._lock:
            self._lost.pop(device, None)

    def lost_now(self) -> list[str]:
        with self._lock:
            return sorted(self._lost)

    def check(self) -> None:
        """Report each lost part not yet reported, if the library is open now."""
        if not self.hours.is_open(self.local()):
            return
        with self._lock:
            due = [(d, part) for d, (part, told) in self._lost.items() if not told]
            for device, part in due:
                self._lost[device] = (part, True)
        for device, part in due:
            # The device name (a reader's URL) is the subject, never published: two
            # readers of one gate are two subjects with the same part.
            self.reporter.report(Threat.DEVICE_UNPLUGGED, Severity.WARNING, device, part=part)
