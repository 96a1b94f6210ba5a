"""The security reporter: first sighting at once, then one event per window with the count."""

from __future__ import annotations

import pytest

from engine.events import EventBus
from engine.security.reporter import MAX_SUBJECTS, SecurityReporter
from protocols.mqtt.payloads import event_from_engine
from protocols.mqtt.security_schema import Severity, Threat


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _security(bus: EventBus) -> list[dict[str, object]]:
    return [e for e in bus.history() if e["event"] == "security"]


def test_first_sighting_is_published_then_one_per_window() -> None:
    bus, clock = EventBus(), Clock()
    reporter = SecurityReporter(bus, window=60, clock=clock)
    for _ in range(50):  # a card waved 50 times within a second
        reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "E004", uid="E004", afi=7)
        clock.now += 0.02
    events = _security(bus)
    assert len(events) == 1
    assert events[0]["count"] == 1 and events[0]["afi"] == 7
    clock.now += 60
    assert reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "E004", uid="E004", afi=7)
    assert [e["count"] for e in _security(bus)] == [1, 1]  # a new window counts afresh
    assert reporter.seen(Threat.FOREIGN_AFI, "E004") == 1


def test_subjects_and_threats_are_counted_apart() -> None:
    bus, clock = EventBus(), Clock()
    reporter = SecurityReporter(bus, window=60, clock=clock)
    assert reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "A", uid="A", afi=7)
    assert reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "B", uid="B", afi=7)
    assert reporter.report(Threat.CLONED_TAG, Severity.CRITICAL, "A", item_id="1", uid="A")
    assert not reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "A", uid="A", afi=7)
    assert reporter.seen(Threat.FOREIGN_AFI, "A") == 2
    assert len(_security(bus)) == 3


def test_published_events_reach_the_fleet_with_their_evidence_only() -> None:
    bus, clock = EventBus(), Clock()
    SecurityReporter(bus, clock=clock).report(
        Threat.PIN_WRONG, Severity.INFO, ("card", "2300001"), patron_ref="p-3f9a1c"
    )
    (event,) = _security(bus)
    mapped = event_from_engine(event, "kiosk-01", "VN-HN0001")
    assert mapped is not None
    assert dict(mapped[1].data) == {
        "threat": "pin_wrong",
        "severity": "info",
        "count": 1,
        "window_s": 60.0,
        "patron_ref": "p-3f9a1c",
    }
    assert "2300001" not in repr(event)  # the subject is a key, never published


def test_a_flood_of_subjects_stays_bounded(caplog: pytest.LogCaptureFixture) -> None:
    bus, clock = EventBus(history=10), Clock()
    reporter = SecurityReporter(bus, window=60, clock=clock)
    for n in range(MAX_SUBJECTS * 3):
        reporter.report(Threat.UNKNOWN_ITEM_REPEATED, Severity.WARNING, n, item_id=str(n))
    assert len(reporter._seen) <= MAX_SUBJECTS
    # The newest subjects are the ones kept: a fresh sighting of one still counts on.
    last = MAX_SUBJECTS * 3 - 1
    assert not reporter.report(Threat.UNKNOWN_ITEM_REPEATED, Severity.WARNING, last, item_id="x")
    assert reporter.seen(Threat.UNKNOWN_ITEM_REPEATED, last) == 2
    assert reporter.seen(Threat.UNKNOWN_ITEM_REPEATED, 0) == 0
    assert len([r for r in caplog.records if r.name == "engine.security.reporter"]) == 1
    clock.now += 60
    reporter.report(Threat.UNKNOWN_ITEM_REPEATED, Severity.WARNING, "late", item_id="y")
    assert "12287 more event(s) of this kind not logged" in caplog.records[-1].getMessage()


def test_a_subject_seen_again_after_its_window_is_kept_over_older_ones() -> None:
    bus, clock = EventBus(history=10), Clock()
    reporter = SecurityReporter(bus, window=60, clock=clock)
    reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "renewed", uid="A", afi=7)
    clock.now += 61
    for n in range(MAX_SUBJECTS - 1):
        reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, n, uid="B", afi=7)
    reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "renewed", uid="A", afi=7)  # new window
    reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, "newcomer", uid="C", afi=7)
    assert reporter.seen(Threat.FOREIGN_AFI, "renewed") == 1
    assert reporter.seen(Threat.FOREIGN_AFI, 0) == 0  # the oldest first sighting made room
