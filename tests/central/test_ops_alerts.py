"""Alerts: each raised once, acknowledged by a named staff member, cleared when the cause goes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.accounts import Role, Staff, create_staff
from central.alert_texts import TEXTS, alert_text
from central.alerts import AlertError, AlertEvaluator, AlertKey, AlertStore, Cleared, Raised
from central.settings_ops import AlertsSection
from central.staff_models import AuditEntry
from tests.central.ops_db import fresh_db_fixture  # noqa: F401  (a fixture)

SITE, OTHER = "VN-HN0001", "VN-HN0002"
T0 = 1_800_000_000.0
RULES = AlertsSection(offline_after_s=30, queue_growing_after=10)
ALARM = {"item_id": "30077", "title": "Số đỏ", "direction": "out", "gate": "gate-a"}


def rules_of(changes: list[Raised | Cleared]) -> list[tuple[str, str]]:
    return [(type(c).__name__, c.key.rule) for c in changes]


def test_gate_alarm_raised_once_and_closed_by_ack_only() -> None:
    ev = AlertEvaluator(RULES)
    first = ev.on_event(SITE, "gate-a", "alarm", ALARM, T0)
    assert rules_of(first) == [("Raised", "gate_alarm")]
    assert isinstance(first[0], Raised) and first[0].detail == "Số đỏ out"
    assert ev.on_event(SITE, "gate-a", "alarm", ALARM, T0 + 1) == []  # same item again
    assert ev.on_state(SITE, "gate-a", "online", T0 + 2) == []  # nothing clears an alarm
    ev.acknowledged(first[0].key)
    assert rules_of(ev.on_event(SITE, "gate-a", "alarm", ALARM, T0 + 3)) == [
        ("Raised", "gate_alarm")
    ]


def test_offline_from_the_will_and_from_silence() -> None:
    ev = AlertEvaluator(RULES)
    ev.on_state(SITE, "kiosk-01", "online", T0)
    ev.on_telemetry(SITE, "kiosk-01", {}, {}, T0 + 10)
    assert ev.tick(T0 + 39) == []  # 29 s of silence
    assert rules_of(ev.tick(T0 + 41)) == [("Raised", "offline")]
    assert ev.tick(T0 + 100) == []  # raised once
    assert rules_of(ev.on_telemetry(SITE, "kiosk-01", {}, {}, T0 + 101)) == [("Cleared", "offline")]
    ev.on_state(SITE, "kiosk-01", "offline", T0 + 200)  # the will
    assert ev.tick(T0 + 229) == []
    assert rules_of(ev.tick(T0 + 231)) == [("Raised", "offline")]
    assert rules_of(ev.on_state(SITE, "kiosk-01", "online", T0 + 232)) == [("Cleared", "offline")]


def test_reader_printer_paper_bin_queue() -> None:
    ev = AlertEvaluator(RULES)
    got = ev.on_telemetry(SITE, "gate-a", {"antenna-1": "unavailable"}, {"outbox": 12}, T0)
    assert sorted(rules_of(got)) == [("Raised", "queue_growing"), ("Raised", "reader_unavailable")]
    got = ev.on_telemetry(SITE, "gate-a", {"antenna-1": "ready"}, {"outbox": 7}, T0 + 1)
    assert rules_of(got) == [("Cleared", "reader_unavailable")]  # 7 is not below half of 10
    assert rules_of(ev.on_telemetry(SITE, "gate-a", {}, {"outbox": 4}, T0 + 2)) == [
        ("Cleared", "queue_growing")
    ]
    printer = {"part": "printer", "state": "paper_low"}
    assert rules_of(ev.on_event(SITE, "kiosk-01", "device", printer, T0)) == [
        ("Raised", "paper_low")
    ]
    down = {"part": "printer", "state": "unavailable"}
    assert rules_of(ev.on_event(SITE, "kiosk-01", "device", down, T0)) == [
        ("Raised", "printer_unavailable")
    ]
    ready = {"part": "printer", "state": "ready"}
    assert sorted(rules_of(ev.on_event(SITE, "kiosk-01", "device", ready, T0))) == [
        ("Cleared", "paper_low"),
        ("Cleared", "printer_unavailable"),
    ]
    full = {"part": "bin-2", "state": "full"}
    assert rules_of(ev.on_event(SITE, "sorter-01", "device", full, T0)) == [("Raised", "bin_full")]
    assert ev.on_event(SITE, "sorter-01", "device", full, T0 + 1) == []
    emptied = {"part": "bin-2", "state": "emptied"}
    assert rules_of(ev.on_event(SITE, "sorter-01", "device", emptied, T0)) == [
        ("Cleared", "bin_full")
    ]


def test_security_write_failed_cleared_when_the_item_is_handled_again() -> None:
    ev = AlertEvaluator(RULES)
    failed = {"item_id": "30001", "outcome": "security_failed", "kind": "checkout"}
    assert rules_of(ev.on_event(SITE, "kiosk-01", "checkout", failed, T0)) == [
        ("Raised", "security_write_failed")
    ]
    # Another site's checkin of an item with the same id does not clear it.
    assert ev.on_event(OTHER, "kiosk-09", "checkin", {"item_id": "30001"}, T0 + 1) == []
    done = {"item_id": "30001", "outcome": "returned"}
    assert rules_of(ev.on_event(SITE, "kiosk-02", "checkin", done, T0 + 2)) == [
        ("Cleared", "security_write_failed")
    ]


def test_rules_switched_off_raise_nothing() -> None:
    ev = AlertEvaluator(AlertsSection(gate_alarm=False, enabled=True, bin_full=False))
    assert ev.on_event(SITE, "gate-a", "alarm", ALARM, T0) == []
    assert ev.on_event(SITE, "s", "device", {"part": "bin-1", "state": "full"}, T0) == []
    assert (
        AlertEvaluator(AlertsSection(enabled=False)).on_telemetry(SITE, "g", {"r": "lost"}, {}, T0)
        == []
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.sampled_from(["alarm", "device", "checkout", "checkin", "people", "error"]),
    st.dictionaries(st.sampled_from(["item_id", "part", "state", "outcome", "title"]), _json),
)
def test_hostile_event_data_never_raises(kind: str, data: dict[str, object]) -> None:
    ev = AlertEvaluator(RULES)
    for change in ev.on_event(SITE, "d", kind, data, T0):
        assert isinstance(change.key.subject, str) and len(change.key.subject) <= 128


def test_every_rule_reads_in_vietnamese_and_english() -> None:
    rules = {
        "gate_alarm", "offline", "reader_unavailable", "printer_unavailable", "paper_low",
        "bin_full", "queue_growing", "security_write_failed",
    }  # fmt: skip
    assert set(TEXTS) == rules
    for rule in rules:
        vi, en = (alert_text(rule, "kiosk-01", "bin-2", lang) for lang in ("vi", "en"))
        assert "kiosk-01" in vi and "kiosk-01" in en and vi != en


# --- the store -----------------------------------------------------------------------------


@pytest.fixture
def sessions(fresh_db: Callable[[], Session]) -> Callable[[], Session]:
    return fresh_db


def _staff(sessions: Callable[[], Session], login: str, role: str, site: str | None) -> Staff:
    with sessions() as session:
        staff = create_staff(session, login, login.title(), role, "0123456789ab", site=site, now=T0)
        session.commit()
    return staff


def test_store_raises_once_across_two_processes(sessions: Callable[[], Session]) -> None:
    one, two = AlertEvaluator(RULES), AlertEvaluator(RULES)
    store = AlertStore(sessions)
    assert len(store.apply(one.on_event(SITE, "gate-a", "alarm", ALARM, T0))) == 1
    # A second central process saw the same alarm (its own evaluator knows nothing of it).
    assert store.apply(two.on_event(SITE, "gate-a", "alarm", ALARM, T0)) == []
    assert len(store.list_alerts(open_only=True)) == 1


def test_ack_by_named_staff_with_role_and_audit(sessions: Callable[[], Session]) -> None:
    ev, store = AlertEvaluator(RULES), AlertStore(sessions)
    [alert] = store.apply(ev.on_event(SITE, "gate-a", "alarm", ALARM, T0))
    viewer = _staff(sessions, "xem", "viewer", SITE)
    desk = _staff(sessions, "lan", "desk", SITE)
    _staff(sessions, "far", "desk", OTHER)
    boss = _staff(sessions, "boss", "admin", None)
    assert sorted(s.login for s in store.recipients(alert)) == ["boss", "lan", "xem"]
    with pytest.raises(AlertError, match="may not"):
        store.acknowledge(alert.id, viewer, T0 + 5)
    with pytest.raises(AlertError, match="no alert"):
        store.acknowledge(alert.id + 100, desk, T0 + 5)
    view, key = store.acknowledge(alert.id, desk, T0 + 9)
    ev.acknowledged(key)
    assert (view.acked_by, view.acked_at, view.cleared) == ("lan", T0 + 9, T0 + 9)
    with pytest.raises(AlertError, match="already"):
        store.acknowledge(alert.id, boss, T0 + 10)
    with sessions() as session:
        audit = session.scalars(select(AuditEntry)).all()
    assert [(a.actor, a.action, a.device, a.time) for a in audit] == [
        ("lan", "ack", "gate-a", T0 + 9)
    ]
    assert boss.role is Role.ADMIN


def test_condition_cleared_in_store_and_restored(sessions: Callable[[], Session]) -> None:
    ev, store = AlertEvaluator(RULES), AlertStore(sessions)
    store.apply(ev.on_telemetry(SITE, "gate-a", {"ant": "lost"}, {}, T0))
    restarted = AlertEvaluator(RULES)
    restarted.restore(store.open_keys(), T0 + 1)
    assert restarted.open.keys() == {AlertKey("reader_unavailable", SITE, "gate-a", "ant")}
    store.apply(restarted.on_telemetry(SITE, "gate-a", {"ant": "ready"}, {}, T0 + 2))
    [row] = store.list_alerts()
    assert row.cleared == T0 + 2 and row.acked_by is None


_steps = st.lists(
    st.one_of(
        st.tuples(st.just("state"), st.sampled_from(["online", "offline"])),
        st.tuples(st.just("telemetry"), st.sampled_from(["ready", "unavailable", "lost"])),
        st.tuples(st.just("queue"), st.integers(0, 30)),
        st.tuples(st.just("alarm"), st.sampled_from(["30001", "30002"])),
        st.tuples(st.just("part"), st.sampled_from(["full", "emptied", "paper_low", "ready"])),
        st.tuples(st.just("tick"), st.floats(0, 100)),
        st.tuples(st.just("ack"), st.sampled_from(["30001", "30002"])),
    ),
    max_size=40,
)


@given(_steps)
def test_each_key_alternates_raised_and_cleared(steps: list[tuple[str, object]]) -> None:
    """Whatever the fleet says, in any order: a key is never raised twice without a clear
    (or an acknowledgement) between, and never cleared unless open."""
    ev = AlertEvaluator(RULES)
    now = T0
    open_keys: set[AlertKey] = set()
    for what, value in steps:
        now += 1
        if what == "state":
            changes = ev.on_state(SITE, "d", str(value), now)
        elif what == "telemetry":
            changes = ev.on_telemetry(SITE, "d", {"r": str(value)}, {}, now)
        elif what == "queue":
            changes = ev.on_telemetry(SITE, "d", {}, {"outbox": int(value)}, now)  # type: ignore[call-overload]
        elif what == "alarm":
            changes = ev.on_event(SITE, "d", "alarm", {"item_id": value}, now)
        elif what == "part":
            part = "printer" if value in ("paper_low", "ready") else "bin-1"
            changes = ev.on_event(SITE, "d", "device", {"part": part, "state": value}, now)
        elif what == "tick":
            now += float(value)  # type: ignore[arg-type]
            changes = ev.tick(now)
        else:
            key = AlertKey("gate_alarm", SITE, "d", str(value))
            ev.acknowledged(key)
            open_keys.discard(key)
            continue
        for change in changes:
            if isinstance(change, Raised):
                assert change.key not in open_keys, change
                open_keys.add(change.key)
            else:
                assert change.key in open_keys, change
                open_keys.discard(change.key)
        assert open_keys == set(ev.open)
