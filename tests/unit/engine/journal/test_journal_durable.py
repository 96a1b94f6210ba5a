"""The journal's commits outlive a power cut, the other stores' need only outlive a kill.

A power cut cannot be made here; what makes the difference can be read back: SQLite in WAL
mode fsyncs the log at every commit only with ``synchronous=FULL`` (2); ``NORMAL`` (1) syncs
at checkpoints, so a power cut may take the last commits back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from engine.db import SqliteStore
from engine.journal.store import Journal
from engine.mqtt.outbox import Outbox


def synchronous(store: SqliteStore) -> tuple[int, str]:
    with store.engine.connect() as connection:
        level = connection.execute(text("PRAGMA synchronous")).scalar_one()
        mode = connection.execute(text("PRAGMA journal_mode")).scalar_one()
    return int(level), str(mode)


def test_the_journal_syncs_every_commit(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        assert synchronous(journal) == (2, "wal")


def test_the_outbox_is_not_slowed_by_it(tmp_path: Path) -> None:
    outbox = Outbox.open(tmp_path / "outbox.sqlite")
    try:
        assert synchronous(outbox) == (1, "wal")
    finally:
        outbox.close()
