"""The API's view of the fleet (:class:`central.api.FleetReader`) over the store's tables,
and today's counters per device for Home Assistant.

Everything is read from the database, not from this process's memory: several central
processes share the stream, and each has heard only its share of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.models import Device, Event, HourlyStat
from central.stats import totals

__all__ = ["StoreFleet", "day_bounds", "ha_counters"]

Json = Any

HA_COUNTERS: dict[str, tuple[str, str | None]] = {
    "checkouts": ("checkout", None),
    "checkins": ("checkin", None),
    "renewals": ("renew", None),
    "failures": ("failure", None),
    "people_in": ("gate_in", None),
    "people_out": ("gate_out", None),
    "alarms": ("alarm", None),
}
"""Home Assistant's counter name -> the hourly statistics' metric (every key summed)."""


def _iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its offset."""
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local ``day`` in ``zone`` as [start, end) in UTC (23 or 25 hours across a shift)."""
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def ha_counters(sums: dict[tuple[str, str], int]) -> dict[str, int]:
    """Home Assistant's counters from :func:`central.stats.totals`' (metric, key) sums."""
    out: dict[str, int] = {}
    for name, (metric, _key) in HA_COUNTERS.items():
        out[name] = sum(count for (m, _k), count in sums.items() if m == metric)
    # A return machine's checkins are the items it sorted when it reports no checkin events.
    sorted_items = sum(count for (m, _k), count in sums.items() if m == "sorted")
    if not out["checkins"] and sorted_items:
        out["checkins"] = sorted_items
    return out


class StoreFleet:
    """Devices, recent events and a day's hourly statistics, as the API's JSON values."""

    def __init__(self, sessions: Callable[[], Session], zone: ZoneInfo) -> None:
        self.sessions = sessions
        self.zone = zone

    def devices(self, site: str | None) -> list[dict[str, Json]]:
        query = select(Device).order_by(Device.site, Device.device)
        if site is not None:
            query = query.where(Device.site == site)
        with self.sessions() as session:
            return [
                {
                    "site": d.site,
                    "device": d.device,
                    "state": d.state,
                    "state_since": _iso(d.state_since),
                    "version": d.version,
                    "telemetry_time": _iso(d.telemetry_time),
                    "uptime": d.uptime,
                    "readers": d.readers or {},
                    "queues": d.queues or {},
                    "versions": d.versions or {},
                    "last_seen": _iso(d.last_seen),
                }
                for d in session.scalars(query)
            ]

    def events(self, site: str | None, device: str | None, limit: int) -> list[dict[str, Json]]:
        query = select(Event).order_by(Event.time.desc(), Event.id).limit(limit)
        if site is not None:
            query = query.where(Event.site == site)
        if device is not None:
            query = query.where(Event.device == device)
        with self.sessions() as session:
            return [
                {
                    "id": e.id,
                    "site": e.site,
                    "device": e.device,
                    "kind": e.kind,
                    "time": _iso(e.time),
                    "received": _iso(e.received),
                    "item_id": e.item_id,
                    "data": e.data,
                }
                for e in session.scalars(query)
            ]

    def stats(self, site: str, day: str) -> list[dict[str, Json]]:
        """The hourly counters of the local ``day`` (YYYY-MM-DD in the libraries' zone)."""
        start, end = day_bounds(date.fromisoformat(day), self.zone)
        query = (
            select(HourlyStat)
            .where(
                HourlyStat.site == site,
                HourlyStat.hour >= start.replace(tzinfo=None),
                HourlyStat.hour < end.replace(tzinfo=None),
            )
            .order_by(HourlyStat.hour, HourlyStat.device, HourlyStat.metric, HourlyStat.key)
        )
        with self.sessions() as session:
            return [
                {
                    "device": s.device,
                    "hour": _iso(s.hour),
                    "metric": s.metric,
                    "key": s.key,
                    "count": s.count,
                }
                for s in session.scalars(query)
            ]

    def today(self, site: str, device: str, now: datetime) -> dict[str, int]:
        """A device's counters for the local day of ``now``, named as Home Assistant shows them."""
        start, end = day_bounds(now.astimezone(self.zone).date(), self.zone)
        with self.sessions() as session:
            return ha_counters(totals(session, start, end, site, device))
