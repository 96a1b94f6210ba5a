"""The tamper checks of one daemon, assembled from its ``[tamper]`` section and run.

One thread per daemon: it reads the daemon's bus for the health events that say
a part was lost (:mod:`engine.tamper.devices`), and between them runs the
periodic checks (clock, opening hours, config file). The case switch reports from
gpiozero's own thread. Nothing here is on a role's hot path: a gate's alarm
rounds and a sorter's belt loop only publish the events they published before.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.clock import SiteClock
from engine.config.model import DeviceConfig
from engine.events import Event, EventBus
from engine.security.reporter import SecurityReporter
from engine.tamper.clock_jump import ClockJumpWatch
from engine.tamper.config_file import ConfigFileWatch
from engine.tamper.devices import DeviceWatch
from engine.tamper.settings import TamperSection

__all__ = ["TamperGuard", "guard_for"]

log = logging.getLogger(__name__)


class TamperGuard:
    """Device tampering for one daemon: ``start`` after the role's parts, ``stop`` before."""

    def __init__(
        self,
        settings: TamperSection,
        bus: EventBus,
        reporter: SecurityReporter,
        *,
        local: Callable[[], datetime],
        config_path: Path | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        pin_factory: Any = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.reporter = reporter
        self.monotonic = monotonic
        self.pin_factory = pin_factory
        self.devices = DeviceWatch(reporter, settings.hours(), local)
        self.config_file = (
            ConfigFileWatch(
                config_path, reporter, settle=settings.config_check_every, clock=monotonic
            )
            if config_path is not None
            else None
        )
        self.clock = ClockJumpWatch(
            reporter, threshold=settings.clock_jump_seconds, wall=wall, monotonic=monotonic
        )
        self.case: Any = None
        self._config_due = monotonic() + settings.config_check_every
        self._events: queue.Queue[Event] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reloading(self) -> None:
        """A ``reload`` command is re-reading the file: its change is not tampering."""
        if self.config_file is not None:
            self.config_file.reloading()

    def check(self) -> None:
        """The periodic checks, once (the thread calls it every ``check_every``)."""
        checks: list[Callable[[], object]] = [self.clock.check, self.devices.check]
        if self.config_file is not None and self.monotonic() >= self._config_due:
            self._config_due = self.monotonic() + self.settings.config_check_every
            checks.append(self.config_file.check)
        for check in checks:
            try:
                check()
            except Exception:
                log.exception("a tamper check failed; the others go on")

    def start(self) -> None:
        if self.settings.case_pin is not None and self.case is None:
            from engine.tamper.case import PART, CaseSwitch  # gpiozero only where wired

            try:
                self.case = CaseSwitch(
                    self.settings.case_pin,
                    self.reporter,
                    self.bus,
                    pull_up=self.settings.case_pull_up,
                    open_when_pressed=self.settings.case_open_when_pressed,
                    pin_factory=self.pin_factory,
                )
            except ValueError as error:
                # The device goes on working (a gate that stops alarming over its door
                # switch helps nobody); staff see that the switch is not watched.
                log.error("the case switch is not watched: %s", error)
                self.bus.publish("device", device=PART, state="unavailable", detail=str(error))
        self._events = self.bus.subscribe()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(self._events,), name="tamper", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._events is not None:
            self.bus.unsubscribe(self._events)
            self._events.put({"event": "_stop"})
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.case is not None:
            self.case.close()
            self.case = None

    def _run(self, events: queue.Queue[Event]) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                event: Event | None = events.get(timeout=max(0.0, due - time.monotonic()))
            except queue.Empty:
                event = None
            if self._stop.is_set():
                return
            try:
                if event is not None:
                    self.devices.on_event(event)
            except Exception:
                log.exception("a tamper check failed; the others go on")
            if time.monotonic() >= due:
                due = time.monotonic() + self.settings.check_every
                self.check()


def guard_for(
    config: DeviceConfig,
    bus: EventBus,
    reporter: SecurityReporter,
    config_path: Path | None,
) -> TamperGuard:
    """The guard a daemon runs, from its configuration (opening hours in its site's zone)."""
    site = SiteClock(config.device.timezone)
    return TamperGuard(config.tamper, bus, reporter, local=site.local, config_path=config_path)
