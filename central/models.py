"""The fleet's tables: devices, events, hourly statistics.

Times are stored as timezone-naive UTC (``DateTime``) so SQLite and PostgreSQL
compare them the same way; every writer converts with :func:`utc_naive`.

``events.id`` is the payload's own id (a uuid4 in hex): QoS 1 delivers at least
once and two central processes may both see a redelivered message, so the id is
the primary key and every insert skips an id already stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from central.base import Base

__all__ = ["Device", "Event", "HourlyStat", "utc_naive"]


def utc_naive(moment: datetime) -> datetime:
    """``moment`` in UTC without its tzinfo (a naive value is taken as UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


class Device(Base):
    """One device of the fleet, as its birth, will and last telemetry describe it."""

    __tablename__ = "devices"

    site: Mapped[str] = mapped_column(String(128), primary_key=True)
    device: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(16))
    """online / offline, from the retained birth and last will."""
    state_since: Mapped[datetime | None] = mapped_column(DateTime)
    state_time: Mapped[datetime | None] = mapped_column(DateTime)
    """When the state message was made: an older one never overwrites a newer."""
    version: Mapped[str | None] = mapped_column(String(512))
    telemetry_time: Mapped[datetime | None] = mapped_column(DateTime)
    uptime: Mapped[float | None] = mapped_column(Float)
    readers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    queues: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    versions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime)
    """When central last stored anything from this device (central's clock)."""


class Event(Base):
    """Something that happened at a device (checkout, return, alarm, people, error, device)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_site_time", "site", "time"),
        Index("ix_events_time", "time"),
        Index("ix_events_kind_time", "kind", "time"),
        # Central joins an item id's tag UIDs across a site's devices (cloned tags).
        Index("ix_events_site_item_id", "site", "item_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(128))
    device: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    time: Mapped[datetime] = mapped_column(DateTime)
    received: Mapped[datetime] = mapped_column(DateTime)
    item_id: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class HourlyStat(Base):
    """A counter of one site, device, UTC hour and metric (``key``: the bin, for ``sorted``)."""

    __tablename__ = "hourly_stats"
    __table_args__ = (Index("ix_hourly_stats_site_hour", "site", "hour"),)

    site: Mapped[str] = mapped_column(String(128), primary_key=True)
    device: Mapped[str] = mapped_column(String(128), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True, default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
