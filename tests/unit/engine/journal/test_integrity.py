"""A damaged, empty or vanished journal is never taken for a new one, and nothing is deleted."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from engine.journal.integrity import Health, JournalDamaged, read_state
from engine.journal.recovery import recover_into
from engine.journal.store import Journal, JournalUnavailable


def _offline_loan(journal: Journal, item: str = "B0001") -> str:
    txn = journal.begin(
        "checkout",
        item,
        (bytes.fromhex("e004010000000001"),),
        patron_id="P0001",
        patron_ref="ref",
        session_id="s1",
        transaction_date=datetime(2026, 3, 4, 12, 0),
        security_target=False,
    )
    journal.step(txn.id, "ils_ok", offline=True, detail="offline: down")
    journal.step(txn.id, "securing")
    journal.step(txn.id, "offline_done", security_verified=True)
    return txn.id


def _made(path: Path, loans: int = 1) -> list[str]:
    journal = Journal.open(path)
    ids = [_offline_loan(journal, f"B{n:04d}") for n in range(loans)]
    journal.close()
    return ids


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _bad_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:16] = b"not sqlite at al"
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _vanished(path: Path) -> None:
    path.unlink()


def _checkpointed(path: Path) -> None:
    """Everything in the main file, so damaging it damages the data."""
    journal = Journal.open(path)
    with journal.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.close()


@pytest.mark.parametrize(
    "damage",
    [_truncate, _garbage, _bad_header, _empty, _vanished],
    ids=["truncated", "random-bytes", "bad-header", "zero-length", "vanished"],
)
def test_a_damaged_journal_is_set_aside_and_refused_until_staff_decide(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    path = tmp_path / "journal.sqlite"
    _made(path, loans=40)
    _checkpointed(path)
    before = path.read_bytes()
    damage(path)
    damaged = path.read_bytes() if path.exists() else None
    with pytest.raises(JournalDamaged) as refused:
        Journal.open(path)
    assert "muontra journal recover" in str(refused.value)
    assert not path.exists()  # no new journal was started in its place
    kept = refused.value.state.set_aside
    if damaged is not None:
        assert (tmp_path / kept[0]).read_bytes() == damaged  # kept as it was, not deleted
        assert before != damaged
    else:
        assert kept == ()
    # Still refused at the next start: the decision is the staff's, not the next restart's.
    with pytest.raises(JournalDamaged):
        Journal.open(path)
    state = read_state(path)
    assert state is not None and state.health is Health.DAMAGED


def test_a_zero_length_journal_is_damage_even_without_the_state_file(tmp_path: Path) -> None:
    """A device upgraded from a version that kept no state file."""
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"")
    with pytest.raises(JournalDamaged):
        Journal.open(path)


def test_a_new_device_and_a_sound_journal_open_quietly(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    [txn] = _made(path)
    journal = Journal.open(path)
    assert journal.get(txn).state == "offline_done"
    journal.close()
    state = read_state(path)
    assert state is not None and state.health is Health.OK


def test_journal_files_are_readable_by_the_engine_user_only(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    old = os.umask(0o002)
    try:
        _made(path)
        journal = Journal.open(path)
        _offline_loan(journal, "B0100")
        for name in os.listdir(tmp_path):
            mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
            assert mode & 0o077 == 0, f"{name} is {oct(mode)}"
        journal.close()
        os.chmod(path, 0o644)  # an older version's file: fixed at the next start
        Journal.open(path).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_recovery_copies_every_readable_row_and_keeps_offline_loans(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    ids = _made(path, loans=300)
    _checkpointed(path)
    # Lose one page in the middle: the rows on it are gone, the others must come back.
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    middle = (len(data) // page // 2) * page
    data[middle : middle + page] = bytes(page)
    path.write_bytes(bytes(data))
    with pytest.raises(JournalDamaged) as refused:
        Journal.open(path)
    source = tmp_path / refused.value.state.set_aside[0]
    fresh = tmp_path / "fresh.sqlite"
    Journal.open(fresh).close()
    result = recover_into(source, fresh)
    assert result.unreadable is None
    journal = Journal.open(fresh)
    found = {t.id for t in journal.in_states({"offline_done"})}
    journal.close()
    assert found <= set(ids)
    assert len(found) >= 250, f"only {len(found)} of 300 offline loans recovered"
    assert result.states["offline_done"] == len(found)


def test_a_journal_that_cannot_be_read_is_not_called_damaged_nor_moved(tmp_path: Path) -> None:
    """A permission or a disk problem is not damage: nothing is set aside, and the error
    says what it is (the kiosk prints it and exits 3, without a traceback)."""
    path = tmp_path / "journal.sqlite"
    path.mkdir()  # what a bad bind mount leaves behind
    with pytest.raises(JournalUnavailable, match="cannot be checked"):
        Journal.open(path)
    assert path.is_dir() and os.listdir(tmp_path) == ["journal.sqlite"]
