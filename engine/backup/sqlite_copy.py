"""Consistent copies of live SQLite databases, and what schema each is at.

A running kiosk writes its journal at any moment, in WAL mode: a file copy may
catch a page half written, and never sees what still sits in the ``-wal`` file.
SQLite's online backup API copies every page under one read transaction, so the
copy is the database as it was at one commit, and the writer is not stopped
(WAL readers never block writers).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

__all__ = ["HEADER", "alembic_revision", "is_sqlite", "snapshot"]

HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(HEADER)) == HEADER
    except OSError:
        return False


def snapshot(source: Path, target: Path) -> None:
    """Copy ``source`` to a new ``target`` as of one moment, with SQLite's backup API.

    All pages in one step (``pages=-1``): a step-wise copy restarts whenever another
    connection writes, and would never end under a busy kiosk.
    """
    with (
        closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_S)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst, pages=-1)
        # The copy is a plain rollback-journal file: no -wal beside it to carry along.
        dst.execute("PRAGMA journal_mode=DELETE")
        problem = dst.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise sqlite3.DatabaseError(f"{source.name}: the copy fails quick_check: {problem}")


def alembic_revision(path: Path) -> str:
    """The alembic revision(s) of the database at ``path`` ("" when it has none)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.OperationalError:
            return ""
    return ",".join(sorted(str(row[0]) for row in rows))
