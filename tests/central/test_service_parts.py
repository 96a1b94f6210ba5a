"""The joins of central/service.py and the API's fleet view (central/fleet_reader.py), on SQLite
and PostgreSQL: a local day's statistics, Home Assistant's counters, and the offline rule counting
silence from the store's last_seen, which every central process sharing the stream writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.fleet_reader import StoreFleet, day_bounds, ha_counters
from central.service import CentralService
from central.settings import CentralSettings
from central.staff_models import AlertRow
from central.store import Incoming, StoreResult, parse_message, store_batch
from tests.central.helpers import PREFIX, SITE, event, state, telemetry

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7, no shifts
# 2026-11-25 local runs from 2026-11-24 17:00 UTC to 2026-11-25 17:00 UTC.
DAY = date(2026, 11, 25)


def store(engine: Engine, messages: list[tuple[str, bytes]], at: datetime) -> StoreResult:
    parsed: list[Incoming] = [parse_message(t, p, PREFIX) for t, p in messages]
    with Session(engine) as session, session.begin():
        return store_batch(session, parsed, lambda: at)


def service(engine: Engine, now: list[float], **central: object) -> CentralService:
    """A service not started (no broker): its joins are called by hand."""
    settings = CentralSettings.model_validate(
        {"mqtt": {"tls": False, "port": 1}, "alerts": {"offline_after_s": 60}} | central
    )
    return CentralService(settings, engine, clock=lambda: now[0])


def test_a_days_statistics_are_the_local_days_hours(engine: Engine) -> None:
    before = datetime(2026, 11, 24, 16, 59, tzinfo=UTC)  # 23:59 on the 24th, local
    first = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 00:00 on the 25th, local
    last = datetime(2026, 11, 25, 16, 59, tzinfo=UTC)  # 23:59 on the 25th, local
    store(
        engine,
        [
            event("checkout", before, item_id="1", outcome="checked_out"),
            event("checkout", first, item_id="2", outcome="checked_out"),
            event("alarm", last, device="gate-a", item_id="3", title="t"),
            event("people", last, device="gate-a", direction="in"),
        ],
        last,
    )
    fleet = StoreFleet(lambda: Session(engine), ZONE)
    rows = fleet.stats(SITE, DAY.isoformat())
    assert [(r["device"], r["hour"], r["metric"], r["count"]) for r in rows] == [
        ("kiosk-01", "2026-11-24T17:00:00+00:00", "checkout", 1),
        ("gate-a", "2026-11-25T16:00:00+00:00", "alarm", 1),
        ("gate-a", "2026-11-25T16:00:00+00:00", "gate_in", 1),
    ]
    assert fleet.stats("VN-XX9999", DAY.isoformat()) == []
    assert fleet.today(SITE, "gate-a", last)["alarms"] == 1
    assert fleet.today(SITE, "gate-a", last + timedelta(minutes=2)) == ha_counters({})
    with pytest.raises(ValueError):
        fleet.stats(SITE, "2026-02-30")


def test_devices_and_events_newest_first(engine: Engine) -> None:
    at = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    first = event("checkout", at, item_id="1", outcome="checked_out")
    second = event("checkin", at + timedelta(seconds=5), item_id="1", outcome="returned")
    other = event("alarm", at, site="VN-HN0002", device="gate-b", item_id="9")
    born = state("online", at, site="VN-HN0002", device="gate-b")
    store(engine, [state("online", at), telemetry(at, queue=3), first, second, born, other], at)
    fleet = StoreFleet(lambda: Session(engine), ZONE)
    devices = fleet.devices(SITE)
    assert [(d["device"], d["state"], d["queues"]) for d in devices] == [
        ("kiosk-01", "online", {"outbox": 3})
    ]
    assert devices[0]["last_seen"] == at.isoformat()
    assert len(fleet.devices(None)) == 2
    kinds = [(e["kind"], e["item_id"]) for e in fleet.events(SITE, None, 10)]
    assert kinds == [("checkin", "1"), ("checkout", "1")]
    assert len(fleet.events(None, None, 10)) == 3
    assert len(fleet.events(SITE, "kiosk-01", 1)) == 1
    assert fleet.events(SITE, "gate-b", 10) == []


@given(st.dates(date(1990, 1, 1), date(2100, 12, 31)))
def test_day_bounds_cover_a_day(day: date) -> None:
    start, end = day_bounds(day, ZONE)
    assert end - start == timedelta(days=1)
    assert start.astimezone(ZONE).date() == day and start.astimezone(ZONE).hour == 0


@given(
    st.dictionaries(
        st.tuples(st.sampled_from(["checkout", "alarm", "sorted", "x"]), st.text(max_size=3)),
        st.integers(0, 10**6),
    )
)
def test_ha_counters_sum_every_key(sums: dict[tuple[str, str], int]) -> None:
    out = ha_counters(sums)
    assert out["checkouts"] == sum(v for (m, _), v in sums.items() if m == "checkout")
    assert out["alarms"] == sum(v for (m, _), v in sums.items() if m == "alarm")
    assert all(isinstance(v, int) and v >= 0 for v in out.values())


def open_offline(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.scalars(
            select(AlertRow).where(AlertRow.rule == "offline", AlertRow.cleared.is_(None))
        )
        return [row.device for row in rows]


def test_silence_counts_from_the_stores_last_seen(engine: Engine) -> None:
    """This process heard kiosk-01 once; the stream's other process stored its telemetry
    since. Offline is raised only after a silence in the store, not in this process."""
    t0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    now = [t0.timestamp()]
    central = service(engine, now)
    central._stored(store(engine, [telemetry(t0)], t0))  # this process's share of the stream
    # Another process stores telemetry 50 s later (this one never hears it).
    store(engine, [telemetry(t0 + timedelta(seconds=50))], t0 + timedelta(seconds=50))
    now[0] = t0.timestamp() + 90
    central.sync()
    central.staff.tick()
    assert open_offline(engine) == []  # 40 s of silence in the store
    now[0] = t0.timestamp() + 111
    central.sync()
    central.staff.tick()
    assert open_offline(engine) == ["kiosk-01"]


def test_stored_events_reach_alerts_once_and_home_assistant_counters(engine: Engine) -> None:
    at = datetime.now(UTC)
    now = [at.timestamp()]
    central = service(engine, now, homeassistant={"enabled": True})
    published: list[tuple[str, str, dict[str, int]]] = []
    assert central.staff.homeassistant is not None
    central.staff.homeassistant.counters = (  # type: ignore[method-assign]
        lambda site, device, counts: published.append((site, device, counts))
    )
    alarm = event("alarm", at, device="gate-a", item_id="30077", title="Số đỏ")
    first = store(engine, [alarm], at)
    again = store(engine, [alarm], at)  # a redelivery: stored nothing new
    central._stored(first)
    central._stored(again)
    with Session(engine) as session:
        alerts = list(session.scalars(select(AlertRow).where(AlertRow.rule == "gate_alarm")))
    assert [(a.device, a.subject) for a in alerts] == [("gate-a", "30077")]
    central.sync()
    assert [(s, d, c["alarms"]) for s, d, c in published] == [(SITE, "gate-a", 1)]
    central.sync()  # nothing new stored since: nothing republished
    assert len(published) == 1
