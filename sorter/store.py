"""The return machine's own SQLite database: every item read, where it went, staff lines.

The engine's journal holds each checkin (its steps, replay and reconcile); this
holds what only a sorter knows: the bin decided for an item and whether the
diverter was fired for it. A separate table rather than journal steps because
an item that was never checked in (an unreadable tag, a second read, a foreign
item) still goes somewhere and is still counted, and because the journal's
states are the circulation's, shared with the kiosk.

Each item row is written when the item is read (state ``read``,
:meth:`SorterStore.add_read`), again when its bin is decided (``decided``) and
when it reached its bin (``diverted``). After a power cut, rows still ``read``
or ``decided`` are the items that were on the belt: the sorter turns them into
staff lines once (:meth:`SorterStore.on_belt`, then :meth:`SorterStore.mark_left`).
No patron data is kept: item ids, bins, reasons and titles only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Boolean, DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.db import SqliteStore
from sorter.texts import Text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

READ = "read"
DECIDED = "decided"
DIVERTED = "diverted"
LEFT = "left"
"""On the belt when the service stopped (reported to staff)."""


class Base(DeclarativeBase):
    pass


class SorterItem(Base):
    __tablename__ = "sorter_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime)
    item_id: Mapped[str] = mapped_column(String(64))
    drop_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    checked_in: Mapped[bool] = mapped_column(Boolean, default=False)
    """A checkin went to the circulation (journaled there) for this read."""
    bin: Mapped[str | None] = mapped_column(String(32), nullable=True)
    wanted_bin: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    destination: Mapped[str] = mapped_column(String(64), default="")
    recheck: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    diverted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)


class SorterReport(Base):
    __tablename__ = "sorter_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    item_id: Mapped[str] = mapped_column(String(64))
    bin: Mapped[str] = mapped_column(String(32))
    text_vi: Mapped[str] = mapped_column(String(400))
    text_en: Mapped[str] = mapped_column(String(400))
    done: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True, slots=True)
class ItemRow:
    id: str
    item_id: str
    checked_in: bool
    bin: str | None
    reason: str | None
    state: str
    title: str
    read_at: datetime
    wanted_bin: str | None = None
    recheck: bool = False


@dataclass(frozen=True, slots=True)
class ReportLine:
    item_id: str
    bin: str
    text: Text
    at: datetime


class SorterStore(SqliteStore):
    MIGRATIONS = MIGRATIONS

    def add_read(self, item_id: str, at: datetime, drop_id: str | None, checked_in: bool) -> str:
        """An item was read at the tunnel; returns its row's id."""
        row_id = str(uuid.uuid4())
        with self.write() as session:
            session.add(
                SorterItem(
                    id=row_id,
                    read_at=at,
                    item_id=item_id[:64],
                    drop_id=drop_id,
                    checked_in=checked_in,
                    title="",
                    destination="",
                    recheck=False,
                    state=READ,
                )
            )
        return row_id

    def decided(
        self,
        row_id: str,
        at: datetime,
        *,
        bin_id: str,
        wanted_bin: str | None,
        reason: str | None,
        title: str,
        destination: str,
        recheck: bool,
    ) -> None:
        with self.write() as session:
            row = session.get(SorterItem, row_id)
            if row is None:
                raise KeyError(row_id)
            row.bin = bin_id
            row.wanted_bin = wanted_bin
            row.reason = reason
            row.title = title[:200]
            row.destination = destination[:64]
            row.recheck = recheck
            row.decided_at = at
            row.state = DECIDED

    def diverted(self, row_id: str, at: datetime, bin_id: str) -> None:
        with self.write() as session:
            row = session.get(SorterItem, row_id)
            if row is None:
                raise KeyError(row_id)
            row.bin = bin_id
            row.diverted_at = at
            row.state = DIVERTED

    def on_belt(self) -> list[ItemRow]:
        """Items read and not yet in a bin, oldest first."""
        query = (
            select(SorterItem)
            .where(SorterItem.state.in_((READ, DECIDED)))
            .order_by(SorterItem.read_at)
        )
        with self.read() as session:
            return [_row(row) for row in session.scalars(query)]

    def latest_decided(self, item_id: str) -> ItemRow | None:
        """The last row of ``item_id`` that has a bin (for the replay's comparison)."""
        query = (
            select(SorterItem)
            .where(SorterItem.item_id == item_id, SorterItem.bin.is_not(None))
            .order_by(SorterItem.read_at.desc())
            .limit(1)
        )
        with self.read() as session:
            row = session.scalars(query).first()
            return _row(row) if row is not None else None

    def mark_left(self, row_ids: list[str]) -> None:
        with self.write() as session:
            for row_id in row_ids:
                row = session.get(SorterItem, row_id)
                if row is not None:
                    row.state = LEFT

    def report(self, item_id: str, bin_id: str, text: Text, at: datetime) -> None:
        with self.write() as session:
            session.add(
                SorterReport(
                    at=at,
                    item_id=item_id[:64],
                    bin=bin_id,
                    text_vi=text.vi[:400],
                    text_en=text.en[:400],
                    done=False,
                )
            )

    def reports(self) -> list[ReportLine]:
        query = select(SorterReport).where(SorterReport.done.is_(False)).order_by(SorterReport.id)
        with self.read() as session:
            return [
                ReportLine(r.item_id, r.bin, Text(r.text_vi, r.text_en), r.at)
                for r in session.scalars(query)
            ]

    def exceptions(self, limit: int) -> list[ItemRow]:
        """The latest items sent to the exception bin, newest first."""
        query = (
            select(SorterItem)
            .where(SorterItem.reason.is_not(None))
            .order_by(SorterItem.read_at.desc())
            .limit(limit)
        )
        with self.read() as session:
            return [_row(row) for row in session.scalars(query)]


def _row(row: SorterItem) -> ItemRow:
    return ItemRow(
        row.id,
        row.item_id,
        row.checked_in,
        row.bin,
        row.reason,
        row.state,
        row.title,
        row.read_at,
        row.wanted_bin,
        row.recheck,
    )
