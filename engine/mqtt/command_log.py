"""Which commands this device has answered, on disk: a command id is taken once, ever.

A command can reach a device more than once: the broker re-sends a QoS 1
message after a reconnect, a retained command comes back at every connect, and
anyone able to publish can replay a captured one. Ids kept in memory are lost
at a restart — a ``reload`` that restarts the daemon would then run again and
again — so they live in the device's MQTT database, beside the outbox.

An id is written *before* the command runs (at most once: a power cut while it
runs leaves it marked unfinished, and a repeat is answered, not run), and its
outcome after. Rows are pruned by age: a command older than the link's
``command_max_age`` is refused as stale anyway, so an id needs to be kept only
as long as its command could still be fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from engine import db
from engine.mqtt.models import AnsweredCommand

__all__ = ["CommandLog", "PreviousAnswer"]

MAX_ROWS = 10_000
"""Beyond the age limit, a bound on the table whatever the clock does."""


@dataclass(frozen=True, slots=True)
class PreviousAnswer:
    """What the device did the first time it took a command id."""

    command: str
    finished: bool
    ok: bool
    detail: str | None


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


class CommandLog:
    """Durable command ids in a device's MQTT database (the :class:`~engine.mqtt.outbox.Outbox`)."""

    def __init__(self, store: db.SqliteStore, keep: float) -> None:
        if keep <= 0:
            raise ValueError("keep must be a positive number of seconds")
        self.store = store
        self.keep = keep
        """Seconds an id is remembered (by the device's clock)."""

    def claim(self, command_id: str, command: str, now: float) -> PreviousAnswer | None:
        """Take ``command_id`` now; None if it is new, else what was done with it before."""
        received = _utc(now)
        with self.store.write() as session:
            inserted = session.execute(
                insert(AnsweredCommand)
                .values(
                    command_id=command_id,
                    command=command,
                    received_at=received,
                    finished=False,
                    ok=False,
                    detail=None,
                )
                .on_conflict_do_nothing(index_elements=["command_id"])
            )
            if cast("CursorResult[Any]", inserted).rowcount == 1:
                self._prune(session, received)
                return None
            row = session.get(AnsweredCommand, command_id)
            assert row is not None  # the conflict was on this very key, in this transaction
            return PreviousAnswer(row.command, row.finished, row.ok, row.detail)

    def finish(self, command_id: str, ok: bool, detail: str | None) -> None:
        """Record the answer given to ``command_id``."""
        with self.store.write() as session:
            session.execute(
                update(AnsweredCommand)
                .where(AnsweredCommand.command_id == command_id)
                .values(finished=True, ok=ok, detail=None if detail is None else detail[:512])
            )

    def count(self) -> int:
        with self.store.read() as session:
            return int(session.scalar(select(func.count()).select_from(AnsweredCommand)) or 0)

    def _prune(self, session: Session, now: datetime) -> None:
        session.execute(
            delete(AnsweredCommand).where(
                AnsweredCommand.received_at < now - timedelta(seconds=self.keep)
            )
        )
        total = int(session.scalar(select(func.count()).select_from(AnsweredCommand)) or 0)
        if total > MAX_ROWS:
            oldest = (
                select(AnsweredCommand.command_id)
                .order_by(AnsweredCommand.received_at)
                .limit(total - MAX_ROWS)
            )
            session.execute(delete(AnsweredCommand).where(AnsweredCommand.command_id.in_(oldest)))
