"""Keeping the store bounded: raw events for some days, hourly statistics for years.

The counters are made when an event is stored (central/stats.py), so purging
the raw events loses no statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from central.models import Event, HourlyStat, utc_naive
from central.settings import RetentionSection

__all__ = ["Purged", "purge"]


@dataclass(frozen=True, slots=True)
class Purged:
    events: int
    stats: int


def purge(session: Session, settings: RetentionSection, now: datetime) -> Purged:
    """Delete events older than ``events_days`` and counters older than ``stats_days``
    before ``now`` (the caller commits)."""
    moment = utc_naive(now)
    events = session.execute(
        delete(Event).where(Event.time < moment - timedelta(days=settings.events_days))
    )
    stats = session.execute(
        delete(HourlyStat).where(HourlyStat.hour < moment - timedelta(days=settings.stats_days))
    )
    return Purged(int(getattr(events, "rowcount", 0)), int(getattr(stats, "rowcount", 0)))
