"""case_opened: the door switch on a gpio pin, driven through gpiozero's MockFactory."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from engine.events import EventBus
from engine.security.reporter import SecurityReporter
from engine.tamper.case import CaseSwitch
from protocols.mqtt.payloads import event_from_engine

WAIT = 5.0


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    made = MockFactory()
    yield made
    made.close()


def _next(events: queue.Queue[dict[str, Any]], name: str) -> dict[str, Any]:
    while True:
        event = events.get(timeout=WAIT)  # queue.Empty fails the test
        if event["event"] == name:
            return event


def test_open_is_critical_and_close_is_a_device_event(factory: MockFactory) -> None:
    bus, clock = EventBus(), [0.0]
    reporter = SecurityReporter(bus, window=60, clock=lambda: clock[0])
    switch = CaseSwitch(17, reporter, bus, bounce=None, pin_factory=factory)
    pin = factory.pin(17)
    pin.drive_low()  # the shut door holds the switch closed to ground: pressed
    assert not switch.open
    clock[0] += 60  # past the window of the open-at-start report
    events = bus.subscribe()
    pin.drive_high()  # the door opens
    opened = _next(events, "security")
    assert opened["threat"] == "case_opened" and opened["severity"] == "critical"
    assert opened["part"] == "case"
    pin.drive_low()
    closed = _next(events, "device")
    while closed["state"] != "closed":
        closed = _next(events, "device")
    assert closed["device"] == "case"
    assert event_from_engine(closed, device="kiosk-01", site="hn") is not None  # on the fleet
    switch.close()


def test_a_switch_wired_the_other_way(factory: MockFactory) -> None:
    bus = EventBus()
    events = bus.subscribe()
    switch = CaseSwitch(
        5, SecurityReporter(bus), bus, open_when_pressed=True, bounce=None, pin_factory=factory
    )
    pin = factory.pin(5)
    assert not switch.open  # released with the pull-up: shut
    assert bus.history() == []
    pin.drive_low()
    assert _next(events, "security")["threat"] == "case_opened"
    switch.close()


def test_open_at_start_is_reported(factory: MockFactory) -> None:
    bus = EventBus()
    # The pull-up and nothing holding the pin down: the door is open.
    switch = CaseSwitch(6, SecurityReporter(bus), bus, bounce=None, pin_factory=factory)
    assert switch.open
    assert [e["threat"] for e in bus.history() if e["event"] == "security"] == ["case_opened"]
    switch.close()


def test_a_pin_that_cannot_be_used_says_which(factory: MockFactory) -> None:
    bus = EventBus()
    first = CaseSwitch(7, SecurityReporter(bus), bus, pin_factory=factory)
    with pytest.raises(ValueError, match=r"tamper\.case_pin 7"):
        CaseSwitch(7, SecurityReporter(bus), bus, pin_factory=factory)
    first.close()
