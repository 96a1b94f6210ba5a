"""What the journal keeps about patrons: PIN verifiers useless without the key, and a
retention period after which only anonymous statistics remain (on the disk too)."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.journal.pin_verifier import PinKeyError, PinVerifier, load_key
from engine.journal.store import Journal, PatronCache, PatronCacheEntry

NOW = datetime(2026, 6, 1, 12, 0)
"""The journal's clock (UTC) as these tests inject it."""
KEY = b"k" * 32


def _loan(journal: Journal, patron: str, item: str, final: str, *, offline: bool = False) -> str:
    txn = journal.begin(
        "checkout",
        item,
        (bytes.fromhex("e004010000000001"),),
        patron_id=patron,
        patron_ref="ref-" + patron,
        session_id="s",
        transaction_date=NOW,
        security_target=False,
    )
    if final != "started":
        journal.step(txn.id, final, offline=offline)
    return txn.id


def _age(journal: Journal, txn_id: str, days: int) -> None:
    with journal.write() as session:
        session.connection().exec_driver_sql(
            "UPDATE transactions SET updated_at = ? WHERE id = ?",
            ((NOW - timedelta(days=days)).isoformat(sep=" "), txn_id),
        )


def test_retention_forgets_finished_loans_and_keeps_what_is_unsettled(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal.open(path)
    old_done = _loan(journal, "P0777", "B0001", "done")
    kept = {
        _loan(journal, "P0778", "B0002", "offline_done", offline=True),  # not yet at the ILS
        _loan(journal, "P0779", "B0003", "flagged"),  # the tag still to fix
        _loan(journal, "P0780", "B0004", "conflict"),  # on the staff's list
        _loan(journal, "P0781", "B0005", "started"),  # open: reconcile's
    }
    recent = _loan(journal, "P0782", "B0006", "done")
    for txn in (old_done, *kept):
        _age(journal, txn, 31)
    _age(journal, recent, 29)
    journal.count("checkout", NOW)
    cache = PatronCache(journal, PinVerifier(KEY))
    cache.remember(PatronCacheEntry("ref-old", True, False, None, None, "A", NOW - timedelta(40)))
    cache.remember(PatronCacheEntry("ref-new", True, False, None, None, "B", NOW))

    pruned = journal.prune(NOW, timedelta(days=30))

    assert (pruned.transactions, pruned.patrons) == (1, 1)
    assert pruned.steps == 2  # started, done
    assert {t.id for t in journal.all()} == kept | {recent}
    assert cache.lookup("ref-old") is None and cache.lookup("ref-new") is not None
    assert [(kind, count) for _, kind, count in journal.hourly()] == [("checkout", 1)]
    journal.close()
    # Gone from the disk, not only from the tables: no free page or WAL frame keeps it.
    on_disk = b"".join(
        (tmp_path / name).read_bytes() for name in os.listdir(tmp_path) if "journal" in name
    )
    assert b"P0777" not in on_disk
    assert b"P0782" in on_disk  # (the check can see a patron id when one is there)


def test_retention_is_idempotent_and_leaves_a_young_journal_alone(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "journal.sqlite")
    _loan(journal, "P0001", "B0001", "done")
    assert journal.prune(journal.now(), timedelta(days=30)).transactions == 0
    assert len(journal.all()) == 1
    journal.close()


def test_a_pin_verifier_is_useless_without_its_key() -> None:
    verifier = PinVerifier(KEY)
    stored = verifier.make("1234")
    assert verifier.matches("1234", stored)
    assert not verifier.matches("1235", stored)
    # Someone with the journal but not the key: no candidate PIN can be confirmed, since the
    # verifier is an HMAC under a key they lack (here: any other key).
    thief = PinVerifier(os.urandom(32))
    assert not thief.usable(stored)
    forged = stored.replace(stored.split("$")[1], thief.key_id)
    assert not any(thief.matches(pin, forged) for pin in ("1234", "0000"))
    # Nor is any unkeyed hash of the PIN in it.
    salt = bytes.fromhex(stored.split("$")[2])
    plain = hashlib.pbkdf2_hmac("sha256", b"1234", salt, 120_000).hex()
    assert plain not in stored


def test_an_older_unkeyed_hash_makes_the_patron_log_in_online_once(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "journal.sqlite")
    cache = PatronCache(journal, PinVerifier(KEY))
    salt = os.urandom(16)
    legacy = f"{salt.hex()}${hashlib.pbkdf2_hmac('sha256', b'1234', salt, 120_000).hex()}"
    cache.remember(PatronCacheEntry("ref", True, False, None, legacy, "A", NOW))
    entry = cache.lookup("ref")
    assert entry is not None and entry.valid is False  # not "any PIN", not "wrong PIN"
    assert entry.pin_hash is None
    cache.remember(PatronCacheEntry("ref", True, False, None, cache.verifier_for("1234"), "A", NOW))
    entry = cache.lookup("ref")
    assert entry is not None and entry.valid and cache.pin_matches("1234", entry.pin_hash)
    journal.close()


def test_the_key_comes_from_the_credential_and_a_generated_one_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "pin-key").write_text("c" * 40 + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert load_key(None, tmp_path) == b"c" * 40
    (credentials / "other").write_text("short")
    with pytest.raises(PinKeyError, match="shorter"):
        load_key(Path("other"), tmp_path)
    with pytest.raises(PinKeyError, match="cannot read"):
        load_key(tmp_path / "missing", tmp_path)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    data = tmp_path / "data"
    data.mkdir()
    first = load_key(None, data)
    assert load_key(None, data) == first and len(first) == 64
    assert stat.S_IMODE((data / "pin.key").stat().st_mode) == 0o600


def test_a_pin_key_file_that_reads_without_end_is_refused(tmp_path: Path) -> None:
    """Read as every other secret is (a regular file, at most 64 KiB): /dev/zero as the
    key once made the kiosk read until it was killed."""
    with pytest.raises(PinKeyError, match="cannot read the PIN key /dev/zero"):
        load_key(Path("/dev/zero"), tmp_path)
