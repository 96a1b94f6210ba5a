"""Copy what SQLite can still read out of a damaged journal into a fresh one.

A damaged file loses the pages that are gone, not the rest: each table is read
whole if it can be, and otherwise row by row (by rowid, which walks the table's
B-tree from its root for each row, so one lost page costs only the rows on it).
The rows go into a new journal at the current schema; the open transactions
among them are finished by the engine's reconcile at start and the offline ones
replayed, as after any restart. The damaged file is only read, never changed.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TABLES = ("transactions", "journal_steps", "patron_cache", "pin_locks", "hourly_counts")
PROBE_WINDOW = 5000
"""Rowids tried past the last one found when the table's end cannot be read."""


@dataclass
class Recovered:
    rows: dict[str, int] = field(default_factory=dict)
    lost_tables: list[str] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    """Recovered transactions by journal state (offline_done: loans the ILS has not seen)."""
    unreadable: str | None = None
    """Why nothing at all could be read, if so."""


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in connection.execute(f"PRAGMA table_info({table})")]


def _readable_rows(
    source: sqlite3.Connection, table: str, columns: list[str]
) -> list[tuple[object, ...]]:
    listed = ", ".join(f'"{c}"' for c in columns)
    try:
        return source.execute(f'SELECT {listed} FROM "{table}" ORDER BY rowid').fetchall()
    except sqlite3.DatabaseError:
        pass
    try:
        highest = int(source.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0] or 0)
    except (sqlite3.DatabaseError, TypeError):
        highest = 0
    rows: list[tuple[object, ...]] = []
    rowid, limit = 0, highest + PROBE_WINDOW
    while rowid < limit:
        rowid += 1
        try:
            row = source.execute(
                f'SELECT {listed} FROM "{table}" WHERE rowid = ?', (rowid,)
            ).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row is not None:
            rows.append(row)
            limit = max(limit, rowid + PROBE_WINDOW)
    return rows


def recover_into(damaged: Path, fresh: Path) -> Recovered:
    """Copy the readable rows of ``damaged`` into ``fresh``, an empty migrated journal."""
    result = Recovered()
    try:
        source = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        result.unreadable = f"SQLite cannot read {damaged.name}: {error}"
        return result
    target = sqlite3.connect(fresh)
    try:
        for table in TABLES:
            try:
                have = set(_columns(source, table))
            except sqlite3.DatabaseError:
                have = set()
            columns = [c for c in _columns(target, table) if c in have]
            if not columns:
                result.lost_tables.append(table)
                continue
            rows = _readable_rows(source, table, columns)
            marks = ", ".join("?" for _ in columns)
            listed = ", ".join(f'"{c}"' for c in columns)
            with target:
                target.executemany(
                    f'INSERT OR IGNORE INTO "{table}" ({listed}) VALUES ({marks})', rows
                )
            result.rows[table] = len(rows)
            if table == "transactions" and "state" in columns:
                at = columns.index("state")
                result.states.update(str(row[at]) for row in rows)
    finally:
        source.close()
        target.close()
    if not result.rows:
        result.unreadable = f"no table of the journal can be read from {damaged.name}"
    return result
