"""Central's store on SQLite and on a real PostgreSQL: idempotent events, counters counted
once, device rows never overwritten by older news, retention, the schema's migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central.base import Base
from central.db import current_revision, head_revisions
from central.models import Device, Event, HourlyStat
from central.retention import purge
from central.settings import RetentionSection
from central.stats import recount, totals
from central.store import Incoming, parse_message, store_batch
from tests.central.helpers import PREFIX, event, state, telemetry

T0 = datetime(2026, 11, 25, 8, 15, tzinfo=UTC)


def clock() -> datetime:
    return T0 + timedelta(minutes=1)


def parsed(*pairs: tuple[str, bytes]) -> list[Incoming]:
    return [parse_message(topic, payload, PREFIX) for topic, payload in pairs]


def store(engine: Engine, messages: list[Incoming]) -> None:
    with Session(engine) as session, session.begin():
        store_batch(session, messages, clock)


def test_migration_matches_the_models(engine: Engine) -> None:
    heads = head_revisions()
    assert current_revision(engine) == heads
    assert heads == {"c0001"} or "c0001" not in heads  # c0001 is the root, never a lone head
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_an_event_delivered_twice_is_stored_and_counted_once(engine: Engine) -> None:
    checkout = parsed(event("checkout", T0, item_id="3000000001", success=True))
    store(engine, checkout)
    with Session(engine) as session, session.begin():
        again = store_batch(session, checkout + checkout, clock)
    assert again.events_new == [] and again.duplicates == 2
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1
        row = session.scalars(select(Event)).one()
        assert (row.kind, row.item_id, row.time) == (
            "checkout",
            "3000000001",
            T0.replace(tzinfo=None),
        )
        assert totals(session, T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == {
            ("checkout", ""): 1
        }


def test_counters_per_metric_site_device_and_hour(engine: Engine) -> None:
    later = T0 + timedelta(hours=1)
    store(
        engine,
        parsed(
            event("checkout", T0, success=True),
            event("checkout", T0, success=False, outcome="refused"),
            event("checkin", T0, device="sorter-01", success=True, destination="A"),
            event("checkin", later, device="sorter-01", outcome="returned", destination="B"),
            event("checkin", later, device="sorter-01", outcome="replay_conflict"),
            event("renew", T0, success=True),
            event("people", T0, device="gate-01", direction="in"),
            event("people", T0, device="gate-01", direction="out"),
            event("people", T0, device="gate-01", direction="in"),
            event("alarm", T0, device="gate-01", item_id="3000000002"),
            event("error", T0, reason="tag_unreadable"),
            event("checkout", T0, site="VN-HN0002", success=True),
        ),
    )
    day = (T0 - timedelta(hours=8), T0 + timedelta(hours=8))
    with Session(engine) as session:
        assert totals(session, *day, site="VN-HN0001") == {
            ("checkout", ""): 1,
            ("checkin", ""): 2,
            ("sorted", "A"): 1,
            ("sorted", "B"): 1,
            ("renew", ""): 1,
            ("failure", ""): 3,
            ("gate_in", ""): 2,
            ("gate_out", ""): 1,
            ("alarm", ""): 1,
        }
        assert totals(session, *day, site="VN-HN0001", device="sorter-01") == {
            ("checkin", ""): 2,
            ("sorted", "A"): 1,
            ("sorted", "B"): 1,
            ("failure", ""): 1,
        }
        assert totals(session, later, later + timedelta(hours=1), site="VN-HN0001") == {
            ("checkin", ""): 1,
            ("sorted", "B"): 1,
            ("failure", ""): 1,
        }
        hours = session.scalars(select(HourlyStat.hour).distinct()).all()
        assert sorted(hours) == [
            T0.replace(minute=0, tzinfo=None),
            later.replace(minute=0, tzinfo=None),
        ]
        before = totals(session, *day)
    # Rebuilt from the raw events, the counters are the same.
    with Session(engine) as session, session.begin():
        recount(session, *day)
    with Session(engine) as session:
        assert totals(session, *day) == before


def test_older_news_never_overwrites_a_device_row(engine: Engine) -> None:
    store(engine, parsed(state("offline", T0 + timedelta(seconds=10))))
    store(engine, parsed(state("online", T0)))  # an old birth, redelivered late
    store(engine, parsed(telemetry(T0 + timedelta(seconds=5), queue=7)))
    store(engine, parsed(telemetry(T0, queue=99)))
    with Session(engine) as session:
        device = session.scalars(select(Device)).one()
    assert (device.site, device.device, device.state) == ("VN-HN0001", "kiosk-01", "offline")
    assert device.queues == {"outbox": 7}
    assert device.readers == {"pad": "ok"}
    assert device.telemetry_time == (T0 + timedelta(seconds=5)).replace(tzinfo=None)
    store(engine, parsed(state("online", T0 + timedelta(seconds=20))))
    with Session(engine) as session:
        assert session.scalars(select(Device.state)).one() == "online"


def test_retention_keeps_recent_events_and_old_counters(engine: Engine) -> None:
    old, recent = T0 - timedelta(days=100), T0 - timedelta(days=2)
    store(engine, parsed(event("checkout", old, success=True), event("renew", recent)))
    settings = RetentionSection(events_days=90, stats_days=3650)
    with Session(engine) as session, session.begin():
        done = purge(session, settings, T0)
    assert (done.events, done.stats) == (1, 0)
    with Session(engine) as session:
        assert session.scalars(select(Event.kind)).all() == ["renew"]
        assert totals(session, old - timedelta(days=1), T0)[("checkout", "")] == 1
    with Session(engine) as session, session.begin():
        later = purge(session, settings, old + timedelta(days=3651))
    assert later.stats == 1


def test_nul_and_long_text_are_stored_cleanly(engine: Engine) -> None:
    """PostgreSQL's text refuses NUL: a hostile item id is cleaned, not a stuck batch."""
    store(engine, parsed(event("alarm", T0, item_id="30\x0000" + "9" * 300)))
    with Session(engine) as session:
        item = session.scalars(select(Event.item_id)).one()
    assert item == "3000" + "9" * 196
