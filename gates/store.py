"""The gate's own SQLite database: people and alarm counts per hour.

Staff read the day's figures (who came in, who left, how many alarms) from
the gate even while the network is down, and an hourly row per kind keeps
the file small over years. No item ids or patron data are kept here: alarms
reach staff as events, this only counts them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.db import SqliteStore

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

KINDS = ("in", "out", "aborted", "alarm")


class Base(DeclarativeBase):
    pass


class GateCount(Base):
    __tablename__ = "gate_counts"

    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    """Local time, truncated to the hour."""
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """in, out, aborted (a half pass) or alarm."""
    count: Mapped[int] = mapped_column(Integer, default=0)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0, tzinfo=None)


class GateStore(SqliteStore):
    MIGRATIONS = MIGRATIONS

    def add(self, kind: str, at: datetime, count: int = 1) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown count {kind!r}; one of {', '.join(KINDS)}")
        hour = _hour(at)
        with self.write() as session:
            row = session.get(GateCount, (hour, kind))
            if row is None:
                session.add(GateCount(hour=hour, kind=kind, count=count))
            else:
                row.count += count

    def counts(self, since: datetime, until: datetime | None = None) -> dict[str, int]:
        """Totals of every kind over the hours from ``since`` (its hour included) to ``until``."""
        totals = dict.fromkeys(KINDS, 0)
        query = select(GateCount).where(GateCount.hour >= _hour(since))
        if until is not None:
            query = query.where(GateCount.hour < until.replace(tzinfo=None))
        with self.read() as session:
            for row in session.scalars(query):
                totals[row.kind] = totals.get(row.kind, 0) + row.count
        return totals

    def hourly(self, since: datetime) -> list[tuple[datetime, str, int]]:
        """(hour, kind, count) rows from ``since`` on, oldest first: the day's figures."""
        query = (
            select(GateCount)
            .where(GateCount.hour >= _hour(since))
            .order_by(GateCount.hour, GateCount.kind)
        )
        with self.read() as session:
            return [(row.hour, row.kind, row.count) for row in session.scalars(query)]


def today(now: datetime) -> datetime:
    """Midnight of ``now``'s day."""
    return _hour(now) - timedelta(hours=now.hour)
