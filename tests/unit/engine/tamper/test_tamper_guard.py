"""The guard a daemon runs: health events in, periodic checks, the case switch, stop."""

from __future__ import annotations

import queue
from datetime import datetime
from pathlib import Path
from typing import Any

from gpiozero import Button
from gpiozero.pins.mock import MockFactory

from engine.events import EventBus
from engine.security.reporter import SecurityReporter
from engine.tamper.guard import TamperGuard
from engine.tamper.settings import TamperSection

WAIT = 5.0


def _next_security(events: queue.Queue[dict[str, Any]]) -> dict[str, Any]:
    while True:
        event = events.get(timeout=WAIT)  # queue.Empty fails the test
        if event["event"] == "security":
            return event


class Clocks:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_800_000_000.0


def _guard(
    tmp_path: Path, settings: TamperSection, pin_factory: Any = None
) -> tuple[TamperGuard, EventBus, Path, Clocks]:
    path = tmp_path / "kiosk.toml"
    path.write_text("[device]\n", encoding="utf-8")
    bus, clocks = EventBus(), Clocks()
    reporter = SecurityReporter(bus, window=60, clock=lambda: clocks.mono)
    guard = TamperGuard(
        settings,
        bus,
        reporter,
        local=lambda: datetime(2026, 12, 7, 10, 0),  # Monday 10:00
        config_path=path,
        monotonic=lambda: clocks.mono,
        wall=lambda: clocks.wall,
        pin_factory=pin_factory,
    )
    return guard, bus, path, clocks


def test_a_lost_part_on_the_bus_reaches_the_fleet_as_security(tmp_path: Path) -> None:
    guard, bus, _, _ = _guard(tmp_path, TamperSection(opening_hours={"mon": ["08:00-20:00"]}))
    events = bus.subscribe()
    guard.start()
    try:
        bus.publish("device", gate="gate-01", device="outputs", state="unavailable", detail="x")
        sent = _next_security(events)
        assert sent["threat"] == "device_unplugged" and sent["part"] == "outputs"
    finally:
        guard.stop()


def test_periodic_checks_see_clock_and_config(tmp_path: Path) -> None:
    guard, bus, path, clocks = _guard(tmp_path, TamperSection(config_check_every=30))
    guard.check()
    path.write_text("[device]\n# someone was here\n", encoding="utf-8")
    clocks.mono += 30
    clocks.wall += 30
    guard.check()  # the change is seen: it may still be reloaded
    clocks.mono += 30
    clocks.wall += 30 + 7200  # and the clock is set two hours on
    guard.check()
    threats = sorted(e["threat"] for e in bus.history() if e["event"] == "security")
    assert threats == ["clock_jump", "config_changed"]


def test_reloading_accepts_the_file(tmp_path: Path) -> None:
    guard, bus, path, clocks = _guard(tmp_path, TamperSection(config_check_every=30))
    path.write_text("[device]\n# edited, then reloaded\n", encoding="utf-8")
    guard.reloading()
    for _ in range(4):
        clocks.mono += 30
        clocks.wall += 30
        guard.check()
    assert [e for e in bus.history() if e["event"] == "security"] == []


def test_the_case_switch_is_claimed_on_start_and_released_on_stop(tmp_path: Path) -> None:
    factory = MockFactory()
    try:
        guard, _bus, _, _ = _guard(tmp_path, TamperSection(case_pin=22), factory)
        guard.start()
        factory.pin(22).drive_low()  # shut
        assert guard.case is not None and not guard.case.open
        guard.stop()
        assert guard.case is None
        guard.start()  # the pin was released: it can be claimed again
        guard.stop()
    finally:
        factory.close()


def test_a_failing_check_does_not_stop_the_others(tmp_path: Path) -> None:
    guard, bus, _, _ = _guard(tmp_path, TamperSection(opening_hours={"mon": ["08:00-20:00"]}))

    def broken() -> None:
        raise RuntimeError("boom")

    guard.clock.check = broken  # type: ignore[method-assign]
    guard.check()  # logs the failure, raises nothing
    events = bus.subscribe()
    guard.start()
    try:
        bus.publish("device", device="pad", state="unavailable")
        assert _next_security(events)["part"] == "pad"
    finally:
        guard.stop()


def test_a_case_pin_that_cannot_be_used_is_said_and_the_rest_goes_on(tmp_path: Path) -> None:
    factory = MockFactory()
    try:
        holder = Button(23, pin_factory=factory)  # another program has the pin
        guard, bus, _, _ = _guard(tmp_path, TamperSection(case_pin=23), factory)
        guard.start()
        try:
            (event,) = [e for e in bus.history() if e["event"] == "device"]
            assert event["device"] == "case" and event["state"] == "unavailable"
            assert "23" in event["detail"] and guard.case is None
        finally:
            guard.stop()
            holder.close()
    finally:
        factory.close()
