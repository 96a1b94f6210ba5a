"""The case or door switch: ``case_opened`` (critical) on open, a ``device`` event on close.

A kiosk's or gate's cabinet holds the reader, the Pi and its SD card: an open door
in opening hours is the one tampering staff must see at once, whatever the hour,
so this is reported always (a technician opening it at night should be known
too). The switch is a gpiozero ``Button`` on one pin, the way every input of
muontra is read: the usual door microswitch closes a circuit to ground while the
door is shut, so "pressed" is "shut" (``pull_up``, gpiozero's convention); a
switch wired the other way round sets ``open_when_pressed``.

gpiozero calls back on its own thread; the reporter and the bus are thread-safe.
Tests drive the pin with gpiozero's ``MockFactory``.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.events import EventBus
from engine.security.reporter import SecurityReporter
from protocols.extras import MissingExtra, require
from protocols.mqtt.security_schema import Severity, Threat

__all__ = ["PART", "CaseSwitch"]

log = logging.getLogger(__name__)

PART = "case"


class CaseSwitch:
    """Watches one gpio input; ``open`` says whether the case is open now."""

    def __init__(
        self,
        pin: int | str,
        reporter: SecurityReporter,
        bus: EventBus,
        *,
        pull_up: bool = True,
        open_when_pressed: bool = False,
        bounce: float | None = 0.05,
        pin_factory: Any = None,
    ) -> None:
        self.reporter = reporter
        self.bus = bus
        self.open_when_pressed = open_when_pressed
        # gpiozero is the gpio extra's: imported here, so that the core (and a device with
        # no case switch) starts without it, and a missing one is the one-line message.
        try:
            (gpiozero,) = require("gpio", "tamper.case_pin (the case switch)", ("gpiozero",))
        except MissingExtra as missing:
            raise ValueError(str(missing)) from missing
        try:
            self.button = gpiozero.Button(
                pin, pull_up=pull_up, bounce_time=bounce, pin_factory=pin_factory
            )
        except (gpiozero.GPIOZeroError, OSError) as error:
            raise ValueError(f"tamper.case_pin {pin!r}: cannot use it: {error}") from error
        self.button.when_pressed = self._pressed
        self.button.when_released = self._released
        if self.open:
            # Open at start: the daemon came up with the door open (or the switch is gone).
            self._opened()

    @property
    def open(self) -> bool:
        return bool(self.button.is_pressed) == self.open_when_pressed

    def _pressed(self) -> None:
        self._opened() if self.open_when_pressed else self._closed()

    def _released(self) -> None:
        self._closed() if self.open_when_pressed else self._opened()

    def _opened(self) -> None:
        self.bus.publish("device", device=PART, state="open", detail="case opened")
        self.reporter.report(Threat.CASE_OPENED, Severity.CRITICAL, PART, part=PART)

    def _closed(self) -> None:
        log.info("the case was closed")
        self.bus.publish("device", device=PART, state="closed", detail="case closed")

    def close(self) -> None:
        self.button.close()
