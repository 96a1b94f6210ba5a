"""Is the journal on disk the one this device wrote? Checked before anything is served.

The journal holds loans that exist nowhere else yet (offline checkouts whose tags
are already released, steps a power cut interrupted). A journal that became
unreadable, or that vanished or shrank to nothing, must never be taken for a new
device: those loans would be lost without anyone knowing. So:

- a small state file beside the journal (``journal.sqlite.state``) says that a
  journal existed and whether it was last found sound; it is written when a
  journal is first created, and survives the journal itself;
- at every start the journal's header is read and SQLite's ``quick_check`` run;
- a journal that fails, that is missing where the state file says one was, or
  that has zero length, is renamed aside with a timestamp (never deleted), the
  state file says "damaged", and the engine refuses to serve until staff decide
  with ``muontra journal recover`` or ``muontra journal accept-new``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from engine.private_files import sync_directory, write_private

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")
"""SQLite's companions of a database file, moved aside together with it."""


class Health(StrEnum):
    NEW = "new"
    """No journal yet, and none expected: a new device, or staff accepted a new one."""
    OK = "ok"
    DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class JournalState:
    """What the state file beside the journal says."""

    health: Health
    since: str
    reason: str = ""
    set_aside: tuple[str, ...] = ()
    """Names (in the journal's directory) of the damaged files kept."""

    def to_json(self) -> str:
        return json.dumps(
            {
                "health": self.health.value,
                "since": self.since,
                "reason": self.reason,
                "set_aside": list(self.set_aside),
            },
            ensure_ascii=False,
        )


class JournalDamaged(RuntimeError):
    """The journal cannot be trusted; the engine must not serve until staff decide."""

    def __init__(self, path: Path, state: JournalState) -> None:
        kept = ", ".join(state.set_aside) or "nothing (no file was left)"
        super().__init__(
            f"journal {path} is damaged: {state.reason}; kept aside: {kept}. "
            f"Run `muontra journal recover --config FILE` to recover what can be read, "
            f"or `muontra journal accept-new --config FILE` to start with an empty journal."
        )
        self.path = path
        self.state = state


def state_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".state")


def read_state(journal: Path) -> JournalState | None:
    """The state file's word, None when there is none. One that cannot be read still says
    that a journal existed: it is taken as damaged, never as "new"."""
    path = state_path(journal)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        return JournalState(Health.DAMAGED, _stamp(), f"state file unreadable: {error.strerror}")
    try:
        data = json.loads(raw)
        return JournalState(
            Health(data["health"]),
            str(data.get("since", "")),
            str(data.get("reason", "")),
            tuple(str(name) for name in data.get("set_aside", ())),
        )
    except (ValueError, KeyError, TypeError):
        return JournalState(Health.DAMAGED, _stamp(), "state file unreadable: not valid JSON")


def write_state(journal: Path, state: JournalState) -> None:
    """Atomically (a crash leaves the old file or the new one), readable by the owner only."""
    write_private(state_path(journal), state.to_json().encode("utf-8"))


def _stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def examine(journal: Path, *, existed: bool) -> str | None:
    """Why the journal file cannot be trusted, or None when it can (or there is none
    and ``existed`` is false)."""
    try:
        size = journal.stat().st_size
    except FileNotFoundError:
        return "the journal file is missing, though this device had one" if existed else None
    if size == 0:
        # Even without a state file (a device upgraded from a version that had none): an
        # SQLite database is never empty once created, so this is a loss, not a new device.
        return "the journal file is empty (zero length)"
    with journal.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        return "the journal file is not an SQLite database (bad header)"
    try:
        connection = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    except sqlite3.Error as error:
        return f"the journal cannot be opened: {error}"
    try:
        rows = connection.execute("PRAGMA quick_check").fetchall()
        problems = [str(row[0]) for row in rows if row and row[0] != "ok"]
        if problems:
            return "SQLite finds it damaged: " + "; ".join(problems[:3])[:300]
        if existed:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if "transactions" not in tables:
                return "the journal has lost its tables"
    except sqlite3.DatabaseError as error:
        return f"SQLite cannot read it: {error}"
    finally:
        connection.close()
    return None


def set_aside(journal: Path, now: datetime | None = None) -> tuple[str, ...]:
    """Rename the journal and its companions with a timestamp; returns the new names.

    Never deletes: the damaged file is evidence and the source of a recovery.
    """
    stamp = _stamp(now)
    kept: list[str] = []
    for suffix in ("", *SIDE_FILES):
        source = journal.with_name(journal.name + suffix)
        if not source.exists():
            continue
        target = journal.with_name(f"{journal.name}.damaged-{stamp}{suffix}")
        number = 1
        while target.exists():
            number += 1
            target = journal.with_name(f"{journal.name}.damaged-{stamp}-{number}{suffix}")
        os.replace(source, target)
        with contextlib.suppress(OSError):
            os.chmod(target, 0o600)
        kept.append(target.name)
    sync_directory(journal.parent)
    return tuple(kept)


def guard(journal: Path, now: datetime | None = None) -> Health:
    """Check the journal before it is opened. Raises :class:`JournalDamaged` (after setting
    the damaged file aside and recording it) when it cannot be used as it is."""
    state = read_state(journal)
    if state is not None and state.health is Health.DAMAGED:
        if journal.exists() and not state.set_aside:
            # Damaged before it could be moved (the state file itself was unreadable).
            state = JournalState(Health.DAMAGED, state.since, state.reason, set_aside(journal, now))
            write_state(journal, state)
        raise JournalDamaged(journal, state)
    reason = examine(journal, existed=state is not None and state.health is Health.OK)
    if reason is None:
        return Health.NEW if state is None and not journal.exists() else Health.OK
    kept = set_aside(journal, now)
    state = JournalState(Health.DAMAGED, _stamp(now), reason, kept)
    write_state(journal, state)
    log.error("journal %s is damaged (%s); kept aside as %s", journal, reason, ", ".join(kept))
    raise JournalDamaged(journal, state)


def mark_sound(journal: Path, now: datetime | None = None) -> None:
    """Record that a sound journal exists here (after it was opened and migrated)."""
    current = read_state(journal)
    if current is not None and current.health is Health.OK:
        return
    write_state(journal, JournalState(Health.OK, _stamp(now)))


def restrict(journal: Path) -> None:
    """Only the engine's user may read the journal (it holds patron ids and PIN verifiers)."""
    for suffix in ("", *SIDE_FILES, ".state"):
        with contextlib.suppress(FileNotFoundError):
            path = journal.with_name(journal.name + suffix)
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
