"""Hourly statistics per site and device: what each event counts as, and the counters.

An event adds to its counters in the same transaction that stores it, and only
when it was stored (not a redelivery), so the counters count every event once.
:func:`recount` rebuilds the counters of a span from the raw events: the check
and the repair for a span whose raw events are still kept.

Metrics (``key`` is empty except for ``sorted``):
  checkout, checkin, renew  a successful loan, return or renewal
  failure                   a checkout/checkin/renew that did not succeed, or an item error
  gate_in, gate_out         people through a gate, by direction
  alarm                     gate alarms
  sorted                    items a return machine put in a bin (key: the bin)
  security                  security events, info ones too (key: the threat; a code this
                            central does not know counts as "other", so a device inventing
                            codes cannot grow the table)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from central.models import Event, HourlyStat, utc_naive
from protocols.mqtt.security_schema import SECURITY_EVENT, Threat

__all__ = [
    "CIRCULATION",
    "METRICS",
    "StatKey",
    "add_counts",
    "hour_of",
    "metrics_of",
    "recount",
    "totals",
]

CIRCULATION = ("checkout", "checkin", "renew")
METRICS = (
    "checkout",
    "checkin",
    "renew",
    "failure",
    "gate_in",
    "gate_out",
    "alarm",
    "sorted",
    "security",
)
_THREATS = frozenset(t.value for t in Threat)
_MAX_KEY = 128
_GOOD_OUTCOMES = frozenset(
    {
        "ok",
        "checked_out",
        "offline_checked_out",
        "returned",
        "offline_returned",
        "renewed",
        "replayed",
    }
)


@dataclass(frozen=True, slots=True, order=True)
class StatKey:
    site: str
    device: str
    hour: datetime
    metric: str
    key: str = ""


def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in (naive UTC, like every stored time)."""
    return utc_naive(moment).replace(minute=0, second=0, microsecond=0)


def metrics_of(kind: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (metric, key) counters one event adds 1 to."""
    if kind in CIRCULATION:
        success = data.get("success")
        outcome = data.get("outcome")
        # ``success`` when the device says; otherwise the outcome's name (a replayed
        # offline loan says only "replayed" or "replay_conflict").
        failed = success is False or (
            success is None and isinstance(outcome, str) and outcome not in _GOOD_OUTCOMES
        )
        if failed:
            return [("failure", "")]
        counts = [(kind, "")]
        destination = data.get("destination")
        if kind == "checkin" and isinstance(destination, str) and destination:
            counts.append(("sorted", destination[:_MAX_KEY]))
        return counts
    if kind == "error":
        return [("failure", "")]
    if kind == "people":
        direction = data.get("direction")
        if direction in ("in", "out"):
            return [(f"gate_{direction}", "")]
        return []
    if kind == "alarm":
        return [("alarm", "")]
    if kind == SECURITY_EVENT:
        threat = data.get("threat")
        known = threat if isinstance(threat, str) and threat in _THREATS else "other"
        return [("security", known)]
    return []


def add_counts(session: Session, counts: Mapping[StatKey, int]) -> None:
    """Add ``counts`` to the stored counters, creating those missing.

    Keys are written in sorted order: two processes adding to the same counters
    then lock them in the same order and cannot deadlock (PostgreSQL).
    """
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(HourlyStat)
    statement = statement.on_conflict_do_update(
        index_elements=["site", "device", "hour", "metric", "key"],
        set_={"count": HourlyStat.count + statement.excluded.count},
    )
    rows = [
        {
            "site": key.site,
            "device": key.device,
            "hour": key.hour,
            "metric": key.metric,
            "key": key.key,
            "count": counts[key],
        }
        for key in sorted(counts)
    ]
    # One statement, executemany: a statement per counter was a third of the store's time.
    session.connection().execute(statement, rows)


def counts_of(
    events: Iterable[tuple[str, str, datetime, str, Mapping[str, Any]]],
) -> Counter[StatKey]:
    """The counters of ``events`` as (site, device, time, kind, data)."""
    counts: Counter[StatKey] = Counter()
    for site, device, time, kind, data in events:
        for metric, key in metrics_of(kind, data):
            counts[StatKey(site, device, hour_of(time), metric, key)] += 1
    return counts


def recount(session: Session, start: datetime, end: datetime) -> int:
    """Rebuild the counters of the hours in [start, end) from the raw events; how many."""
    first, last = hour_of(start), hour_of(end)
    if last < utc_naive(end):
        last += timedelta(hours=1)
    session.execute(delete(HourlyStat).where(HourlyStat.hour >= first, HourlyStat.hour < last))
    rows = session.execute(
        select(Event.site, Event.device, Event.time, Event.kind, Event.data).where(
            Event.time >= first, Event.time < last
        )
    )
    counts = counts_of((r.site, r.device, r.time, r.kind, r.data) for r in rows)
    add_counts(session, counts)
    return len(counts)


def totals(
    session: Session,
    start: datetime,
    end: datetime,
    site: str | None = None,
    device: str | None = None,
) -> dict[tuple[str, str], int]:
    """(metric, key) -> the sum over [start, end), for a site and device or all of them."""
    query = select(HourlyStat.metric, HourlyStat.key, func.sum(HourlyStat.count)).where(
        HourlyStat.hour >= hour_of(start), HourlyStat.hour < utc_naive(end)
    )
    if site is not None:
        query = query.where(HourlyStat.site == site)
    if device is not None:
        query = query.where(HourlyStat.device == device)
    query = query.group_by(HourlyStat.metric, HourlyStat.key)
    return {(metric, key): int(total) for metric, key, total in session.execute(query)}
