"""Security alerts in the store and the site-wide joins, on SQLite and PostgreSQL (migrated by
alembic): counts that grow in one statement, a second process's raise counted instead, the quiet
time, one card's wrong PINs at several kiosks, one item id on more tags than parts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select
from sqlalchemy import event as event_api
from sqlalchemy.orm import Session

from central.alert_values import AlertKey, Counted, Raised
from central.alerts import AlertEvaluator, AlertStore
from central.db import sessions as make_sessions
from central.models import HourlyStat
from central.ops import StaffSide
from central.security_joins import SITE_WIDE, SecurityJoins
from central.settings_ops import AlertsSection, ApiSection, HomeAssistantSection
from central.store import Incoming, parse_message, store_batch
from protocols.mqtt import payloads
from tests.central.helpers import PREFIX, SITE, event

T0 = 1_800_000_000.0
AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
RULES = AlertsSection(card_window_s=600, clone_window_s=3600)


@pytest.fixture
def sessions(engine: Engine) -> Callable[[], Session]:
    return make_sessions(engine)


def store(sessions: Callable[[], Session], messages: list[tuple[str, bytes]]) -> list[Any]:
    parsed: list[Incoming] = [parse_message(t, p, PREFIX) for t, p in messages]
    with sessions() as session, session.begin():
        return store_batch(session, parsed, lambda: AT).events_new


def security(when: datetime, device: str, **data: Any) -> tuple[str, bytes]:
    return event("security", when, device=device, **data)


# --- the alerts' own fields ---------------------------------------------------------------


def test_a_security_alert_counts_in_the_store_and_a_second_raise_is_a_count(
    sessions: Callable[[], Session],
) -> None:
    store_ = AlertStore(sessions)
    key = AlertKey("pin_guessing", SITE, "kiosk-01")
    [view] = store_.apply([Raised(key, T0, severity="critical", count=3, evidence={"cards": 4})])
    assert (view.severity, view.count, view.evidence, view.last_seen) == (
        "critical",
        3,
        {"cards": 4},
        T0,
    )
    assert store_.apply([Counted(key, T0 + 60, add=5, evidence={"cards": 6})]) == []
    # A second central process raised it too (its evaluator did not know): counted, not twice.
    assert store_.apply([Raised(key, T0 + 61, severity="critical", count=2)]) == []
    [row] = store_.list_alerts()
    assert (row.id, row.count, row.evidence, row.last_seen) == (view.id, 10, {"cards": 6}, T0 + 61)
    body = row.as_json()
    assert body["severity"] == "critical" and body["count"] == 10
    assert "kiosk-01" in body["text_vi"] and "PIN" in body["text_en"]
    # A site-wide join sets its total.
    card = AlertKey("card_across_kiosks", SITE, SITE_WIDE, "ab12cd34")
    store_.apply([Raised(card, T0, severity="critical", count=4, evidence={"devices": 2})])
    store_.apply([Counted(card, T0 + 5, total=7, evidence={"devices": 3})])
    assert store_.counted(card) is not None
    counted = store_.counted(card)
    assert counted is not None and (counted.count, counted.evidence) == (7, {"devices": 3})
    # A count of an alert closed meanwhile is dropped (the next sighting raises it anew).
    store_.apply([Counted(AlertKey("clock_jump", SITE, "x"), T0, add=1)])
    assert len(store_.list_alerts()) == 2
    # Other rules' alerts have none of these fields.
    [gate] = store_.apply([Raised(AlertKey("gate_alarm", SITE, "gate-a", "30077"), T0)])
    assert (gate.severity, gate.count, gate.evidence) == (None, None, None)


def test_a_batch_with_a_raise_another_process_won_keeps_the_rest(
    sessions: Callable[[], Session],
) -> None:
    """A batch's changes are one transaction: the raise another central process stored first
    is undone alone (its savepoint), the alerts before and after it in the batch are kept,
    and a security raise that lost the race is counted on the winner's alert."""
    first, second = AlertStore(sessions), AlertStore(sessions)
    taken = AlertKey("gate_alarm", SITE, "gate-a", "30077")
    guessing = AlertKey("pin_guessing", SITE, "kiosk-01")
    [won] = first.apply([Raised(taken, T0)])
    [winner] = first.apply([Raised(guessing, T0, severity="critical", count=3)])
    before, after = (AlertKey("gate_alarm", SITE, "gate-a", item) for item in ("30076", "30078"))
    views = second.apply(
        [
            Raised(before, T0 + 1),
            Raised(taken, T0 + 1),
            Raised(guessing, T0 + 1, severity="critical", count=2),
            Raised(after, T0 + 1),
        ]
    )
    assert [v.subject for v in views] == ["30076", "30078"]
    rows = {(r.subject, r.rule): r for r in second.list_alerts(open_only=True)}
    assert set(rows) == {
        ("30076", "gate_alarm"),
        ("30077", "gate_alarm"),
        ("30078", "gate_alarm"),
        ("", "pin_guessing"),
    }
    assert rows[("30077", "gate_alarm")].id == won.id
    assert (rows[("", "pin_guessing")].id, rows[("", "pin_guessing")].count) == (winner.id, 5)


def test_quiet_alerts_clear_and_may_be_raised_again(sessions: Callable[[], Session]) -> None:
    ev, store_ = AlertEvaluator(RULES), AlertStore(sessions)
    quiet = {"threat": "config_changed", "severity": "warning", "detail": "changed"}
    busy = {"threat": "case_opened", "severity": "critical", "part": "case"}
    store_.apply(ev.on_event(SITE, "kiosk-01", "security", quiet, T0))
    store_.apply(ev.on_event(SITE, "kiosk-01", "security", busy, T0))
    store_.apply(ev.on_event(SITE, "gate-a", "alarm", {"item_id": "1"}, T0))
    store_.apply(ev.on_event(SITE, "kiosk-01", "security", busy | {"count": 2}, T0 + 3000))
    assert store_.security_open(SITE, "kiosk-01") == ["case_opened", "config_changed"]
    closed = store_.clear_quiet(T0 + 3600 - 3600 + 1, T0 + 3601)
    assert [(v.rule, v.cleared) for v in closed] == [("config_changed", T0 + 3601)]
    assert store_.security_open(SITE, "kiosk-01") == ["case_opened"]
    assert {v.rule for v in store_.list_alerts(open_only=True)} == {"case_opened", "gate_alarm"}
    ev.closed([AlertKey(v.rule, v.site, v.device, v.subject) for v in closed])
    again = store_.apply(ev.on_event(SITE, "kiosk-01", "security", quiet, T0 + 4000))
    assert [v.rule for v in again] == ["config_changed"]


# --- the joins ----------------------------------------------------------------------------


def pin(when: datetime, device: str, ref: str = "ab12cd34", count: int = 1) -> tuple[str, bytes]:
    return security(when, device, threat="pin_wrong", severity="info", patron_ref=ref, count=count)


def test_one_cards_wrong_pins_at_two_kiosks_within_the_window(
    sessions: Callable[[], Session],
) -> None:
    joins = SecurityJoins(sessions, RULES)
    first = store(sessions, [pin(AT, "kiosk-01", count=3)])
    assert joins.find(first) == []  # one kiosk: the kiosk's own business
    # Another card at another kiosk, another site's kiosk, and a wrong PIN too long after.
    noise = store(
        sessions,
        [
            pin(AT, "kiosk-02", ref="ffff0000"),
            event("security", AT, site="VN-HN0002", device="kiosk-09", threat="pin_wrong",
                  severity="info", patron_ref="ab12cd34"),
            pin(AT + timedelta(seconds=1000), "kiosk-03"),
        ],
    )  # fmt: skip
    assert joins.find(noise) == []
    second = store(sessions, [pin(AT + timedelta(seconds=300), "kiosk-02", count=2)])
    [found] = joins.find(second)
    assert found.key == AlertKey("card_across_kiosks", SITE, SITE_WIDE, "ab12cd34")
    assert (found.severity, found.total, dict(found.evidence)) == (
        "critical",
        5,
        {"patron_ref": "ab12cd34", "devices": 2},
    )
    assert SecurityJoins(sessions, RULES.model_copy(update={"card_kiosks": 3})).find(second) == []
    assert SecurityJoins(sessions, AlertsSection(security=False)).find(second) == []


def test_a_flood_of_cards_is_one_lookup_and_finds_the_real_one(
    engine: Engine, sessions: Callable[[], Session]
) -> None:
    noise = [pin(AT, "kiosk-01", ref=f"{n:012x}") for n in range(300)]
    real = [pin(AT, "kiosk-01", ref="ab12cd34"), pin(AT, "kiosk-02", ref="ab12cd34")]
    batch = store(sessions, noise + real)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event_api.listen(engine, "before_cursor_execute", seen)
    try:
        found = SecurityJoins(sessions, RULES).find(batch)
    finally:
        event_api.remove(engine, "before_cursor_execute", seen)
    assert [f.key.subject for f in found] == ["ab12cd34"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def checkout(when: datetime, device: str, item: str, *uids: str, **more: Any) -> Any:
    return event("checkout", when, device=device, item_id=item, outcome="checked_out",
                 uids=list(uids), **more)  # fmt: skip


def alarm(when: datetime, device: str, item: str, uid: str) -> tuple[str, bytes]:
    return event("alarm", when, device=device, item_id=item, uid=uid, direction="out")


def test_one_item_id_on_more_tags_than_parts_across_devices(
    sessions: Callable[[], Session],
) -> None:
    joins = SecurityJoins(sessions, RULES)
    later = AT + timedelta(minutes=10)
    assert joins.find(store(sessions, [checkout(AT, "kiosk-01", "30077", "E004A1")])) == []
    [found] = joins.find(store(sessions, [alarm(later, "gate-a", "30077", "E004B2")]))
    assert found.key == AlertKey("cloned_tag", SITE, SITE_WIDE, "30077")
    assert dict(found.evidence) == {
        "item_id": "30077",
        "uid": "E004A1",
        "other_uid": "E004B2",
        "devices": 2,
    }
    assert found.total == 2
    # A two-part item: its checkout names both tags, and an alarm on either is no clone.
    both = store(sessions, [checkout(AT, "kiosk-01", "40001", "E005A1", "E005A2")])
    assert joins.find(both) == []
    assert joins.find(store(sessions, [alarm(later, "gate-a", "40001", "E005A2")])) == []
    # Alarms alone tell no number of parts: two tags of a set walking out are not a clone...
    first = store(sessions, [alarm(AT, "gate-a", "50001", "E006A1")])
    assert joins.find(first + store(sessions, [alarm(later, "gate-b", "50001", "E006A2")])) == []
    # ...unless an event said how many parts the item has.
    said = store(sessions, [checkout(later, "kiosk-02", "50001", "E006A1", parts=1)])
    assert [f.key.subject for f in joins.find(said)] == ["50001"]
    # Outside the window the old tag is forgotten (a re-tagged item).
    old = AT - timedelta(hours=2)
    store(sessions, [checkout(old, "kiosk-01", "60001", "E007A1")])
    assert joins.find(store(sessions, [alarm(AT, "gate-a", "60001", "E007B1")])) == []


def test_security_events_are_counted_per_threat_info_too(sessions: Callable[[], Session]) -> None:
    store(
        sessions,
        [
            pin(AT, "kiosk-01"),
            pin(AT, "kiosk-01"),
            security(AT, "kiosk-01", threat="case_opened", severity="critical", part="case"),
            security(AT, "kiosk-01", threat="made_up_threat", severity="warning"),
        ],
    )
    with sessions() as session:
        rows = session.execute(
            select(HourlyStat.metric, HourlyStat.key, HourlyStat.count).where(
                HourlyStat.metric == "security"
            )
        ).all()
    assert sorted(rows) == [
        ("security", "case_opened", 1),
        ("security", "other", 1),
        ("security", "pin_wrong", 2),
    ]


def test_uid_events_decode_as_central_stores_them() -> None:
    """The fleet's alarm with a uid passes central's parse (no closed schema refuses it)."""
    topic, payload = alarm(AT, "gate-a", "30077", "E004B2")
    parsed = parse_message(topic, payload, PREFIX)
    assert isinstance(parsed, payloads.Event) and parsed.data["uid"] == "E004B2"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["kiosk-01", "gate-a"]),
            st.dictionaries(st.sampled_from(["uid", "uids", "parts", "item_id"]), _json),
        ),
        max_size=8,
    )
)
def test_any_stored_data_is_joined_without_error(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Stored data is what devices sent; the clone join takes any of it and names only text."""
    found = SecurityJoins(lambda: None, RULES)._clone(SITE, "30077", events)  # type: ignore[arg-type,return-value]
    if found is not None:
        assert found.total > 1
        assert found.evidence["uid"] != found.evidence["other_uid"]
        assert isinstance(found.evidence["uid"], str) and isinstance(
            found.evidence["other_uid"], str
        )


def test_the_staff_sides_tick_clears_quiet_alerts(sessions: Callable[[], Session]) -> None:
    """The quiet time through StaffSide.tick, on an injected clock (no broker needed)."""
    clock = [T0]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="not-connected")
    side = StaffSide(
        sessions,
        client,
        PREFIX,
        alerts=AlertsSection(security_quiet_s=600),
        api=ApiSection(),
        homeassistant=HomeAssistantSection(),
        clock=lambda: clock[0],
        sync_every=0,
    )
    case = payloads.Event(
        payloads.Envelope(payloads.new_id(), payloads.iso_time(T0), "kiosk-01", SITE),
        "security",
        {"threat": "case_opened", "severity": "critical", "part": "case"},
    )
    side.observe(case)
    side.tick()
    [open_] = side.alerts.list_alerts(open_only=True)
    clock[0] = T0 + 599
    side.observe(case)  # seen again before the quiet time: counted, and the quiet starts over
    clock[0] = T0 + 599 + 601
    side.tick()
    assert side.alerts.list_alerts(open_only=True) == []
    [closed] = side.alerts.list_alerts()
    assert (closed.id, closed.cleared, closed.count) == (open_.id, T0 + 1200, 2)
    assert side.evaluator.open == {}
    side.observe(case)  # after the quiet time: a new alert
    [reopened] = side.alerts.list_alerts(open_only=True)
    assert reopened.id != closed.id and reopened.count == 1
