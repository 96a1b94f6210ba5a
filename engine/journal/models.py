"""Tables of the engine's database: the journal, the offline patron cache, statistics.

The journal is what makes a power cut harmless. A transaction row records the
intent before anything happens (``state`` says how far it got) and every step
is appended to ``journal_steps``; at start the engine reads the open rows and
finishes or reverses each one (see :mod:`engine.circulation.reconcile`).

The patron id is kept here, on the device only, because an offline loan must
be replayed to the ILS under it; logs, events and MQTT carry ``patron_ref``
(a keyed hash) instead. PINs are never stored in clear: the offline cache holds
a verifier keyed with a secret kept outside the journal (see
:mod:`engine.journal.pin_verifier`), so a patron can still prove who they are
while the ILS is down, and a copy of the journal alone tests no PIN.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Transaction(Base):
    __tablename__ = "transactions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """checkout, checkin, renew."""
    state: Mapped[str] = mapped_column(String(24), index=True)
    session_id: Mapped[str | None] = mapped_column(String(32))
    patron_id: Mapped[str | None] = mapped_column(String(64))
    patron_ref: Mapped[str | None] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(64), index=True)
    tag_uids: Mapped[str] = mapped_column(Text, default="")
    """Comma-separated UIDs (hex) of the item's tags: several for a multi-part set."""
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    transaction_date: Mapped[datetime] = mapped_column(DateTime)
    """Local time of the patron's action: what an offline replay sends (no-block)."""
    title: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[str | None] = mapped_column(String(32))
    ils_message: Mapped[str | None] = mapped_column(Text)
    security_target: Mapped[bool | None] = mapped_column(Boolean)
    """True: secured (on the shelf); False: released (on loan)."""
    security_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime)


class JournalStep(Base):
    __tablename__ = "journal_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime)
    detail: Mapped[str | None] = mapped_column(Text)


class CachedPatron(Base):
    """What the device knows of a patron for offline use (refreshed at every online login)."""

    __tablename__ = "patron_cache"

    patron_ref: Mapped[str] = mapped_column(String(16), primary_key=True)
    valid: Mapped[bool] = mapped_column(Boolean)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    patron_type: Mapped[str | None] = mapped_column(String(32))
    pin_hash: Mapped[str | None] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(64))
    """Already masked as configured."""
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class PinLock(Base):
    """Failed PIN attempts per patron, and the lock that follows too many."""

    __tablename__ = "pin_locks"

    patron_ref: Mapped[str] = mapped_column(String(16), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)


class HourlyCount(Base):
    __tablename__ = "hourly_counts"

    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    """checkout, checkin, renew, and *_failed for failures."""
    count: Mapped[int] = mapped_column(Integer, default=0)
