"""The journal's API: begin a transaction, record each step, find what is still open.

Each call is its own committed write transaction, so a step is on disk before
the action it announces is taken; a crash leaves the transaction at the last
step that was written, and :mod:`engine.circulation.reconcile` takes it from there.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Self

from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError

from engine import db
from engine.journal import integrity
from engine.journal.models import CachedPatron, HourlyCount, JournalStep, PinLock, Transaction
from engine.journal.pin_verifier import PinVerifier

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# States a transaction rests in when nothing more will happen to it.
FINAL = frozenset({"done", "refused", "cancelled", "reversed", "replayed", "conflict"})
# States the engine must finish after a restart (offline_done waits for the ILS instead).
OPEN = frozenset({"started", "ils_ok", "securing", "flagged"})
# Open and not merely waiting for its tag to come back (as a flagged one is).
IN_WORK = OPEN - {"flagged"}


# What retention may delete: at rest and nothing left for anyone to do. A conflict waits
# for staff (it is on their list), so it stays until they have dealt with it.
PRUNABLE = FINAL - {"conflict"}


class JournalUnavailable(RuntimeError):
    """The journal cannot be opened for a reason that is not damage (disk full, read-only)."""


@dataclass(frozen=True, slots=True)
class Pruned:
    transactions: int
    steps: int
    patrons: int


class AtRest(ValueError):
    """A step asked of a transaction that has already reached a final state."""


def _deleted(result: Any) -> int:
    """Rows a DELETE removed (a CursorResult's rowcount; typed loosely by SQLAlchemy)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Txn:
    """A snapshot of a journal row, safe to pass between threads."""

    id: str
    kind: str
    state: str
    item_id: str
    tag_uids: tuple[bytes, ...]
    patron_id: str | None
    patron_ref: str | None
    session_id: str | None
    offline: bool
    transaction_date: datetime
    title: str | None
    due_date: str | None
    ils_message: str | None
    security_target: bool | None
    security_verified: bool
    outcome: str | None
    detail: str | None

    @classmethod
    def of(cls, row: Transaction) -> Txn:
        uids = tuple(bytes.fromhex(u) for u in row.tag_uids.split(",") if u)
        return cls(
            row.id,
            row.kind,
            row.state,
            row.item_id,
            uids,
            row.patron_id,
            row.patron_ref,
            row.session_id,
            row.offline,
            row.transaction_date,
            row.title,
            row.due_date,
            row.ils_message,
            row.security_target,
            row.security_verified,
            row.outcome,
            row.detail,
        )


class Journal(db.SqliteStore):
    MIGRATIONS: ClassVar[Path] = MIGRATIONS
    # A loan recorded before the ILS is asked must still be there after a power cut,
    # or the ILS may hold a loan whose tag the kiosk never released (or a refusal it
    # would send again): an fsync per commit, a few per item.
    DURABLE: ClassVar[bool] = True

    @classmethod
    def open(cls, path: str | Path | None = None, *, migrate: bool = True) -> Self:
        """Open the journal after checking it (see :mod:`engine.journal.integrity`).

        Raises :class:`~engine.journal.integrity.JournalDamaged` when the file is damaged,
        empty or gone (it is set aside first), :class:`JournalUnavailable` when SQLite
        cannot open or migrate it for another reason; neither leaves a half-open store.
        """
        if path is None or str(path) == ":memory:":
            return super().open(path, migrate=migrate)
        file = Path(path)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            integrity.guard(file)
        except OSError as error:  # not damage: a permission, a read-only or absent disk
            raise JournalUnavailable(f"journal {file} cannot be checked: {error}") from None
        try:
            store = super().open(file, migrate=migrate)
        except DBAPIError as error:
            raise JournalUnavailable(f"journal {file} cannot be opened: {error.orig}") from None
        try:
            # Before any patron data is written: the file SQLite just made follows the umask.
            integrity.restrict(file)
            integrity.mark_sound(file)
        except OSError as error:
            store.close()
            raise JournalUnavailable(f"journal {file} cannot be secured: {error}") from None
        return store

    def prune(self, now: datetime, keep: timedelta) -> Pruned:
        """Forget who borrowed what once ``keep`` has passed: finished transactions, their
        steps and cached patrons older than that go; hourly statistics stay.

        ``now`` is UTC, as the journal's own clock (:meth:`now`). Open, flagged, offline
        (not yet replayed) and conflicting transactions are never pruned, whatever their
        age. Deleted rows are overwritten (``secure_delete``) and the WAL emptied, so the
        history does not linger in free pages.
        """
        cutoff = now - keep
        with self.write() as session:
            session.connection().exec_driver_sql("PRAGMA secure_delete=ON")
            old = select(Transaction.id).where(
                Transaction.state.in_(PRUNABLE), Transaction.updated_at < cutoff
            )
            steps = _deleted(
                session.execute(delete(JournalStep).where(JournalStep.transaction_id.in_(old)))
            )
            transactions = _deleted(
                session.execute(
                    delete(Transaction).where(
                        Transaction.state.in_(PRUNABLE), Transaction.updated_at < cutoff
                    )
                )
            )
            patrons = _deleted(
                session.execute(delete(CachedPatron).where(CachedPatron.updated_at < cutoff))
            )
        if self.path is not None and (transactions or patrons):
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return Pruned(transactions, steps, patrons)

    def begin(
        self,
        kind: str,
        item_id: str,
        tag_uids: tuple[bytes, ...],
        *,
        patron_id: str | None,
        patron_ref: str | None,
        session_id: str | None,
        transaction_date: datetime,
        security_target: bool | None,
        offline: bool = False,
        title: str | None = None,
    ) -> Txn:
        now = _now()
        row = Transaction(
            id=uuid.uuid4().hex,
            kind=kind,
            state="started",
            session_id=session_id,
            patron_id=patron_id,
            patron_ref=patron_ref,
            item_id=item_id,
            tag_uids=",".join(uid.hex() for uid in tag_uids),
            offline=offline,
            created_at=now,
            updated_at=now,
            transaction_date=transaction_date,
            title=title,
            security_target=security_target,
            security_verified=False,
        )
        with self.write() as session:
            session.add(row)
            session.flush()
            session.add(JournalStep(transaction_id=row.id, step="started", at=now))
            return Txn.of(row)

    def step(
        self,
        txn_id: str,
        state: str,
        note: dict[str, Any] | None = None,
        *,
        count: str | None = None,
        **fields: Any,
    ) -> Txn:
        """Move a transaction to ``state``, setting ``fields``; one appended journal step.

        ``count`` adds one to that hourly statistic in the same write. A transaction
        at rest (done, refused, cancelled, …) never moves again: a second attempt to
        finish it raises :class:`AtRest` and writes nothing, count included — so no
        race between two workers can do, or count, a transaction twice.
        """
        now = _now()
        with self.write() as session:
            row = session.get(Transaction, txn_id)
            if row is None:
                raise KeyError(txn_id)
            if row.state in FINAL:
                raise AtRest(f"{row.kind} {txn_id} is already {row.state}; not moved to {state}")
            if count is not None:
                self._count(session, count, datetime.now())
            for name, value in fields.items():
                setattr(row, name, value)
            row.state = state
            row.updated_at = now
            session.add(
                JournalStep(
                    transaction_id=txn_id,
                    step=state,
                    at=now,
                    detail=json.dumps(note, ensure_ascii=False) if note else None,
                )
            )
            return Txn.of(row)

    def get(self, txn_id: str) -> Txn:
        with self.read() as session:
            row = session.get(Transaction, txn_id)
            if row is None:
                raise KeyError(txn_id)
            return Txn.of(row)

    def in_states(
        self, states: frozenset[str] | set[str], *, opened_before: datetime | None = None
    ) -> list[Txn]:
        query = select(Transaction).where(Transaction.state.in_(states))
        if opened_before is not None:
            query = query.where(Transaction.created_at < opened_before)
        with self.read() as session:
            rows = session.scalars(query.order_by(Transaction.created_at))
            return [Txn.of(row) for row in rows]

    def open_transactions(self, *, opened_before: datetime | None = None) -> list[Txn]:
        """Transactions not yet at rest; ``opened_before`` (see :meth:`now`) keeps only
        those begun earlier — by a previous run, not by workers running now."""
        return self.in_states(OPEN, opened_before=opened_before)

    @staticmethod
    def now() -> datetime:
        """The journal's clock (UTC), as ``opened_before`` compares it."""
        return _now()

    def latest(self, item_id: str) -> Txn | None:
        """The item's most recent transaction here, of any kind and state."""
        query = (
            select(Transaction)
            .where(Transaction.item_id == item_id)
            .order_by(Transaction.created_at.desc())
            .limit(1)
        )
        with self.read() as session:
            row = session.scalars(query).first()
            return None if row is None else Txn.of(row)

    def all(self) -> list[Txn]:
        with self.read() as session:
            rows = session.scalars(select(Transaction).order_by(Transaction.created_at))
            return [Txn.of(row) for row in rows]

    def steps(self, txn_id: str) -> list[str]:
        with self.read() as session:
            rows = session.scalars(
                select(JournalStep.step)
                .where(JournalStep.transaction_id == txn_id)
                .order_by(JournalStep.id)
            )
            return list(rows)

    def count(self, kind: str, when: datetime | None = None) -> None:
        """One more ``kind`` (checkout, checkin_failed, …) in the hour of ``when``."""
        with self.write() as session:
            self._count(session, kind, when or datetime.now())

    @staticmethod
    def _count(session: Any, kind: str, when: datetime) -> None:
        at = when.replace(minute=0, second=0, microsecond=0)
        row = session.get(HourlyCount, (at, kind))
        if row is None:
            session.add(HourlyCount(hour=at, kind=kind, count=1))
        else:
            row.count += 1

    def hourly(self) -> list[tuple[datetime, str, int]]:
        with self.read() as session:
            rows = session.scalars(select(HourlyCount).order_by(HourlyCount.hour))
            return [(row.hour, row.kind, row.count) for row in rows]


@dataclass(frozen=True, slots=True)
class PatronCacheEntry:
    patron_ref: str
    valid: bool
    blocked: bool
    patron_type: str | None
    pin_hash: str | None
    display_name: str | None
    updated_at: datetime


class PatronCache:
    """The offline list of valid and blocked patrons, and PIN attempt limits, in the journal DB.

    PINs are kept only as keyed verifiers (see :mod:`engine.journal.pin_verifier`); the
    key is not in the journal. ``verifier`` defaults to a key that lives as long as this
    object, which is right for tests and for a device that must not keep PINs at all.
    """

    def __init__(self, journal: Journal, verifier: PinVerifier | None = None) -> None:
        self.journal = journal
        self.verifier = verifier or PinVerifier(os.urandom(32))

    def verifier_for(self, pin: str | None) -> str | None:
        """What is stored for ``pin`` (None: no PIN to keep)."""
        return self.verifier.make(pin) if pin else None

    def pin_matches(self, pin: str, stored: str | None) -> bool:
        return self.verifier.matches(pin, stored)

    def remember(self, entry: PatronCacheEntry) -> None:
        with self.journal.write() as session:
            row = session.get(CachedPatron, entry.patron_ref)
            if row is None:
                row = CachedPatron(patron_ref=entry.patron_ref)
                session.add(row)
            row.valid, row.blocked = entry.valid, entry.blocked
            row.patron_type, row.display_name = entry.patron_type, entry.display_name
            if entry.pin_hash is not None:
                row.pin_hash = entry.pin_hash
            row.updated_at = entry.updated_at

    def lookup(self, patron_ref: str) -> PatronCacheEntry | None:
        """The patron as cached. An entry whose PIN verifier this key cannot check (an
        older unkeyed hash, another key) is reported not valid: the patron logs in online
        once more, rather than having any PIN accepted or a right one counted as wrong."""
        with self.journal.read() as session:
            row = session.get(CachedPatron, patron_ref)
            if row is None:
                return None
            checkable = row.pin_hash is None or self.verifier.usable(row.pin_hash)
            return PatronCacheEntry(
                row.patron_ref,
                row.valid and checkable,
                row.blocked,
                row.patron_type,
                row.pin_hash if checkable else None,
                row.display_name,
                row.updated_at,
            )

    def locked_until(self, patron_ref: str) -> datetime | None:
        with self.journal.read() as session:
            row = session.get(PinLock, patron_ref)
            if row is None or row.locked_until is None or row.locked_until <= _now():
                return None
            return row.locked_until

    def failed_pin(self, patron_ref: str, limit: int, lock_for: timedelta) -> int:
        """Count a wrong PIN; returns attempts left (0 means now locked for ``lock_for``)."""
        with self.journal.write() as session:
            row = session.get(PinLock, patron_ref)
            if row is None:
                row = PinLock(patron_ref=patron_ref, failures=0)
                session.add(row)
            if row.locked_until is not None and row.locked_until <= _now():
                row.failures, row.locked_until = 0, None
            row.failures += 1
            left = max(0, limit - row.failures)
            if left == 0:
                row.locked_until = _now() + lock_for
            return left

    def good_pin(self, patron_ref: str) -> None:
        with self.journal.write() as session:
            row = session.get(PinLock, patron_ref)
            if row is not None:
                session.delete(row)
