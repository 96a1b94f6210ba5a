"""device_unplugged: a part lost during opening hours, from the roles' own health events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.events import EventBus
from engine.security.reporter import SecurityReporter
from engine.tamper.devices import DeviceWatch, part_of
from engine.tamper.hours import OpeningHours
from protocols.mqtt.payloads import event_from_engine

HOURS = OpeningHours.parse({d: ["08:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")})


class Wall:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def __call__(self) -> datetime:
        return self.when


class Mono:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _watch(when: datetime) -> tuple[DeviceWatch, EventBus, Wall, Mono]:
    bus, wall, mono = EventBus(), Wall(when), Mono()
    return DeviceWatch(SecurityReporter(bus, window=60, clock=mono), HOURS, wall), bus, wall, mono


def _security(bus: EventBus) -> list[dict[str, Any]]:
    return [e for e in bus.history() if e["event"] == "security"]


def test_a_gate_reader_lost_in_opening_hours_is_reported_once() -> None:
    watch, bus, _, _ = _watch(datetime(2026, 12, 7, 10, 0))  # Monday 10:00
    event = {"event": "device", "device": "feig+serial:///dev/ttyUSB0", "state": "unavailable"}
    for _ in range(5):  # the gate says so once, but a repeat must not count twice
        watch.on_event(event)
    (sent,) = _security(bus)
    assert sent["threat"] == "device_unplugged" and sent["part"] == "reader"
    assert "ttyUSB0" not in str(sent)  # the URL is the subject only
    fleet = event_from_engine(sent, device="gate-01", site="hn")
    assert fleet is not None and fleet[0] == "events/security"


def test_outside_hours_nothing_then_reported_when_the_library_opens() -> None:
    watch, bus, wall, mono = _watch(datetime(2026, 12, 7, 21, 0))  # Monday night
    watch.on_event({"event": "plc_lost", "why": "link_lost"})
    watch.check()
    assert _security(bus) == []
    wall.when = datetime(2026, 12, 8, 8, 0)  # Tuesday opening: still lost
    mono.now += 39600
    watch.check()
    (sent,) = _security(bus)
    assert sent["part"] == "plc"


def test_back_before_opening_is_forgotten() -> None:
    watch, bus, wall, _ = _watch(datetime(2026, 12, 12, 10, 0))  # Saturday: closed
    watch.on_event({"event": "device", "device": "pad", "state": "unavailable"})
    watch.on_event({"event": "device", "device": "pad", "state": "ready"})
    wall.when = datetime(2026, 12, 14, 9, 0)
    watch.check()
    assert _security(bus) == [] and watch.lost_now() == []


def test_a_flapping_cable_is_one_event_per_window_with_its_count() -> None:
    watch, bus, _, mono = _watch(datetime(2026, 12, 7, 10, 0))
    for _ in range(10):
        watch.on_event({"event": "plc_lost"})
        watch.on_event({"event": "plc_back"})
        mono.now += 1
    assert len(_security(bus)) == 1
    mono.now += 60
    watch.on_event({"event": "plc_lost"})
    assert [e["count"] for e in _security(bus)] == [1, 1]


def test_events_that_are_not_a_plug_are_ignored() -> None:
    watch, bus, _, _ = _watch(datetime(2026, 12, 7, 10, 0))
    for event in (
        {"event": "device", "device": "journal", "state": "damaged"},
        {"event": "device", "device": "case", "state": "open"},
        {"event": "device", "device": ["x"], "state": "unavailable"},
        {"event": "alarm", "device": "pad", "state": "unavailable"},
    ):
        watch.on_event(event)
    assert _security(bus) == [] and watch.lost_now() == []


def test_part_codes() -> None:
    assert part_of("3m+serial:///dev/ttyUSB1") == "reader"
    assert part_of("outputs") == "outputs" and part_of("printer") == "printer"
    assert part_of("Weird Name!") == "device"
