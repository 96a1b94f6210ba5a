"""The durable MQTT outbox: what the device has to say, kept until the broker has it.

Events are written here first (one short SQLite transaction) and sent by the
link in id order; a row goes only when the broker acknowledged it (PUBACK).
The engine therefore never waits for the network, and neither an outage nor a
restart loses an event: what was not acknowledged is sent again, and the
consumers drop repeated ids.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from sqlalchemy import Engine, delete, func, insert, select

from engine import db
from engine.mqtt.models import OutboxRow

__all__ = ["Outbox", "OutboxEntry"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One waiting message."""

    id: int
    topic: str
    payload: bytes
    retain: bool


class Outbox(db.SqliteStore):
    MIGRATIONS: ClassVar[Path] = MIGRATIONS

    def __init__(self, engine: Engine, *, path: Path | None) -> None:
        super().__init__(engine, path=path)
        self._added = threading.Condition()
        self._generation = 0

    def add(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """Store a message to send; returns its id (ids ascend in the order of adding)."""
        values = {
            "topic": topic,
            "payload": bytes(payload),
            "retain": retain,
            "created_at": datetime.now(UTC).replace(tzinfo=None),
        }
        # SQLAlchemy Core, not the ORM: this runs once per event on the engine's path.
        with self.write() as session:
            result = session.execute(insert(OutboxRow).values(values).returning(OutboxRow.id))
            entry_id = int(result.scalar_one())
        with self._added:
            self._generation += 1
            self._added.notify_all()
        return entry_id

    def poke(self) -> None:
        """Wake :meth:`wait_change` callers (the sender) without adding anything."""
        with self._added:
            self._generation += 1
            self._added.notify_all()

    def wait_change(self, generation: int, timeout: float) -> int:
        """Block until an add or :meth:`poke` after ``generation`` (or ``timeout``); the new one.

        Lets the sender sleep instead of polling the database.
        """
        with self._added:
            self._added.wait_for(lambda: self._generation != generation, timeout)
            return self._generation

    @property
    def generation(self) -> int:
        with self._added:
            return self._generation

    def pending(self, limit: int = 100, after: int = 0) -> list[OutboxEntry]:
        """The oldest ``limit`` messages with an id above ``after``, in sending order."""
        with self.read() as session:
            rows = session.execute(
                select(OutboxRow.id, OutboxRow.topic, OutboxRow.payload, OutboxRow.retain)
                .where(OutboxRow.id > after)
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            return [OutboxEntry(r[0], r[1], bytes(r[2]), bool(r[3])) for r in rows]

    def mark_sent(self, entry_id: int) -> None:
        """The broker acknowledged ``entry_id``: forget it."""
        self.mark_sent_many((entry_id,))

    def mark_sent_many(self, entry_ids: Iterable[int]) -> None:
        """Forget several acknowledged messages in one transaction."""
        ids = list(entry_ids)
        if not ids:
            return
        with self.write() as session:
            for start in range(0, len(ids), 500):
                session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids[start : start + 500])))

    def count(self) -> int:
        """How many messages wait for an acknowledgement."""
        with self.read() as session:
            return int(session.scalar(select(func.count()).select_from(OutboxRow)) or 0)
