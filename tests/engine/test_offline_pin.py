"""Offline PINs: checked against a keyed verifier, across a restart, and only with the key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.api import CommandFailed
from tests.engine.harness import Kiosk, wait_for, write_config


def _cached(journal: Path) -> list[str]:
    with sqlite3.connect(journal) as connection:
        rows = connection.execute("SELECT pin_hash FROM patron_cache").fetchall()
    connection.close()
    return [row[0] for row in rows if row[0]]


def test_offline_pin_is_checked_after_a_restart_and_not_with_another_key(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    config = write_config(tmp_path, ils[0].port)
    journal = tmp_path / "data" / "journal.sqlite"
    kiosk = Kiosk(config)
    try:
        kiosk.call("identify", method="typed", value="P0001")
        kiosk.call("pin", pin="1234")
        wait_for(lambda: _cached(journal), 10, "the patron in the offline cache")
        kiosk.call("cancel")
    finally:
        kiosk.close()
    [stored] = _cached(journal)
    assert stored.startswith("k1$")
    ils[0].faults.down = True
    kiosk = Kiosk(config)  # restarted: the key outlives the process
    try:
        kiosk.call("identify", method="typed", value="P0001")
        with pytest.raises(CommandFailed) as wrong:
            kiosk.call("pin", pin="4321")
        assert wrong.value.error["code"] == "wrong_pin"
        session = kiosk.call("pin", pin="1234")
        assert session["offline"] is True
        kiosk.call("cancel")
    finally:
        kiosk.close()
    # Another key (the journal copied to another machine, or the key replaced): the cached
    # verifier cannot be checked, so the patron is not let in offline on any PIN.
    (tmp_path / "data" / "pin.key").write_text("another key, at least 16 bytes long\n")
    kiosk = Kiosk(config)
    try:
        kiosk.call("identify", method="typed", value="P0001")
        with pytest.raises(CommandFailed) as refused:
            kiosk.call("pin", pin="1234")
        assert refused.value.error["code"] == "not_allowed_offline"
    finally:
        kiosk.close()
