"""The gate's tag security checks (gates/tag_security.py), fed directly, clocks injected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import EventBus
from engine.security.reporter import SecurityReporter
from gates import tag_security as module
from gates.tag_security import TagSecurityWatch, on_loan
from protocols.mqtt.payloads import event_from_engine
from protocols.tags import PRESETS

POLICY = PRESETS["afi"]
SECURED, UNSECURED = 0x07, 0xC2
UID = bytes.fromhex("E004010000001234")


@dataclass
class Info:
    circulation_status: str
    due_date: str | None = None
    title: str = "Truyện Kiều"


class Ils:
    """Answers item information from a table; counts what it was asked."""

    def __init__(self, statuses: dict[str, str], fail: bool = False) -> None:
        self.statuses = statuses
        self.fail = fail
        self.asked: list[str] = []

    def item_information(self, item_id: str) -> Info:
        self.asked.append(item_id)
        if self.fail:
            raise ConnectionError("the ILS is down")
        return Info(self.statuses.get(item_id, "03"))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _watch(ils: Any = None, per_minute: float = 6.0) -> tuple[TagSecurityWatch, EventBus, Clock]:
    bus, clock = EventBus(history=20_000), Clock()
    reporter = SecurityReporter(bus, window=60, clock=clock)
    watch = TagSecurityWatch(
        POLICY,
        reporter,
        ils=ils,
        ils_per_minute=per_minute,
        pass_window=3.0,
        clock=clock,
        monotonic=clock,
    )
    return watch, bus, clock


def _security(bus: EventBus) -> list[dict[str, Any]]:
    return [e for e in bus.history() if e["event"] == "security"]


def _passes(watch: TagSecurityWatch, clock: Clock, afi: int, item: str | None, n: int) -> None:
    """``n`` walks through the gate, each a few rounds long, 10 s apart."""
    for _ in range(n):
        for _ in range(4):
            watch.sighting(UID, afi, item, clock.now)
            clock.now += 0.1
        clock.now += 10


def _fleet(event: dict[str, Any]) -> dict[str, Any]:
    made = event_from_engine(event, device="gate-01", site="hn")
    assert made is not None, f"the fleet would drop {event}"
    return dict(made[1].data)


# --- unsecured, not on loan ------------------------------------------------------------------


def test_one_pass_unsecured_is_nothing_the_second_is_reported() -> None:
    watch, bus, clock = _watch()
    _passes(watch, clock, UNSECURED, None, 1)
    assert _security(bus) == []
    _passes(watch, clock, UNSECURED, None, 1)
    (sent,) = _security(bus)
    assert sent["threat"] == "unsecured_not_on_loan" and sent["severity"] == "info"
    assert sent["uid"] == UID.hex().upper() and "item_id" not in sent
    _fleet(sent)


def test_a_checkout_heard_explains_the_unsecured_tag() -> None:
    watch, bus, clock = _watch()
    watch.checked_out("B0001", [UID], clock.now)
    _passes(watch, clock, UNSECURED, None, 3)
    assert _security(bus) == []
    watch.returned("B0001", [UID])  # back at the library: unsecured now is suspect
    _passes(watch, clock, UNSECURED, None, 2)
    assert [e["threat"] for e in _security(bus)] == ["unsecured_not_on_loan"]


def test_a_checkout_heard_too_long_ago_is_forgotten() -> None:
    watch, bus, clock = _watch()
    watch.checked_out("B0001", [UID], clock.now)
    clock.now += 13 * 3600  # loan_memory is 12 hours
    _passes(watch, clock, UNSECURED, "B0001", 2)
    assert len(_security(bus)) == 1


def test_the_ils_says_on_loan_no_event_and_remembered() -> None:
    ils = Ils({"B0002": "04"})
    watch, bus, clock = _watch(ils)
    _passes(watch, clock, UNSECURED, "B0002", 5)
    assert _security(bus) == []
    assert ils.asked == ["B0002"]  # asked once: the answer counts as a checkout heard


def test_the_ils_says_not_on_loan_a_warning_with_the_item() -> None:
    ils = Ils({"B0003": "03"})
    watch, bus, clock = _watch(ils)
    _passes(watch, clock, UNSECURED, "B0003", 2)
    (sent,) = _security(bus)
    assert sent["severity"] == "warning" and sent["item_id"] == "B0003"
    clock.now += 60
    _passes(watch, clock, UNSECURED, "B0003", 1)
    assert ils.asked == ["B0003"]  # its answer is remembered too


def test_the_ils_down_is_still_reported_unconfirmed() -> None:
    watch, bus, clock = _watch(Ils({}, fail=True))
    _passes(watch, clock, UNSECURED, "B0004", 2)
    assert [e["severity"] for e in _security(bus)] == ["info"]


def test_ils_questions_are_rate_limited() -> None:
    ils = Ils({})
    watch, bus, clock = _watch(ils, per_minute=2)
    for n in range(10):  # ten suspects in 80 s
        uid = n.to_bytes(8, "big")
        for _ in range(2):
            watch.sighting(uid, UNSECURED, f"X{n}", clock.now)
            clock.now += 4
    assert len(ils.asked) == 4  # two at once, then one per 30 s
    assert len(_security(bus)) == 10  # the others are reported unconfirmed


def test_a_suspects_item_id_is_wanted_once_and_only_with_an_ils() -> None:
    watch, _, clock = _watch(Ils({}))
    assert not watch.item_wanted(UID)  # not a suspect yet
    _passes(watch, clock, UNSECURED, None, 1)
    assert watch.item_wanted(UID)
    assert not watch.item_wanted(UID)  # asked once; a failed read is not retried each survey
    _passes(watch, clock, UNSECURED, "B0006", 1)  # the survey read it
    assert not watch.item_wanted(UID)
    bare, _, bare_clock = _watch()
    _passes(bare, bare_clock, UNSECURED, None, 1)
    assert not bare.item_wanted(UID)  # nobody to ask: no antenna time spent


def test_never_asked_with_zero_per_minute() -> None:
    ils = Ils({})
    watch, bus, clock = _watch(ils, per_minute=0)
    _passes(watch, clock, UNSECURED, "B0005", 2)
    assert ils.asked == [] and len(_security(bus)) == 1


# --- on loan, secured ------------------------------------------------------------------------


def test_a_lent_item_secured_after_the_settle_time_is_reported() -> None:
    watch, bus, clock = _watch()
    watch.checked_out("B0010", [UID], clock.now)
    watch.sighting(UID, SECURED, None, clock.now + 5)  # the kiosk is still writing
    assert _security(bus) == []
    watch.sighting(UID, SECURED, None, clock.now + 120)
    (sent,) = _security(bus)
    assert sent["threat"] == "on_loan_secured" and sent["item_id"] == "B0010"
    assert sent["afi"] == SECURED and sent["uid"] == UID.hex().upper()
    _fleet(sent)


def test_a_failed_kiosk_write_is_no_tampering() -> None:
    watch, bus, clock = _watch()
    watch.checked_out("B0011", [UID], clock.now)
    watch.write_failed("B0011")
    watch.sighting(UID, SECURED, "B0011", clock.now + 600)
    watch.ils_answer("B0011", UID, Info("04"))
    assert _security(bus) == []


def test_the_alarms_title_lookup_tells_on_loan() -> None:
    watch, bus, _ = _watch()
    watch.ils_answer("B0012", UID, Info("03"))
    assert _security(bus) == []
    watch.ils_answer("B0012", UID, Info("04"))
    assert [e["threat"] for e in _security(bus)] == ["on_loan_secured"]


def test_on_loan_by_status_or_due_date() -> None:
    assert on_loan(Info("04")) and on_loan(Info("07")) and on_loan(Info("01", "20261231"))
    assert not on_loan(Info("03")) and not on_loan(object())


# --- foreign AFI, floods, hostile values -----------------------------------------------------


def test_foreign_afi_is_reported_and_checked_no_further() -> None:
    ils = Ils({})
    watch, bus, clock = _watch(ils)
    _passes(watch, clock, 0x3E, "B0020", 3)
    (sent,) = _security(bus)
    assert sent["threat"] == "foreign_afi" and sent["afi"] == 0x3E
    assert ils.asked == []


def test_a_flood_of_unsecured_uids_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_SUSPECTS", 100)
    watch, bus, clock = _watch()
    for n in range(5000):
        watch.sighting(n.to_bytes(8, "big"), UNSECURED, None, clock.now)
    assert len(watch._suspects) == 100
    assert _security(bus) == []  # one pass each: nothing to say


def test_offer_never_blocks_and_drops_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    watch, bus, clock = _watch()
    for n in range(module.QUEUE_SIZE + 50):
        watch.offer(n.to_bytes(8, "big"), 0x3E, None, clock.now)
    watch.offer(UID, None, None, clock.now)  # no AFI learnt: nothing to check
    assert watch.dropped == 50
    watch.drain()
    assert len(_security(bus)) == module.QUEUE_SIZE


@given(st.text(max_size=80))
def test_any_item_id_from_a_tag_gives_an_event_the_fleet_takes(item_id: str) -> None:
    watch, bus, clock = _watch()
    watch.checked_out(item_id or "x", [UID], clock.now)
    watch.sighting(UID, SECURED, item_id or "x", clock.now + 600)
    (sent,) = _security(bus)
    data = _fleet(sent)
    assert data.get("item_id") in (None, item_id or "x")


def test_the_thread_handles_what_the_alarm_path_offers() -> None:
    watch, bus, clock = _watch()
    events = bus.subscribe()
    watch.start()
    try:
        watch.offer(UID, 0x90, None, clock.now)
        sent = events.get(timeout=5)
        assert sent["threat"] == "foreign_afi"
    finally:
        watch.stop()
