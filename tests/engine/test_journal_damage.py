"""`muontra kiosk` on a damaged journal: out of service, saying why, until staff decide.

The real daemon (a subprocess) against the ILS simulator over TCP: no traceback,
no exit for systemd to loop on, the screen told, and after `muontra journal
recover` it starts again on its own with the offline loan still queued for the ILS.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from engine.journal.store import Journal
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.api import ApiClient, CommandFailed
from tests.engine.harness import KioskProcess, wait_for, write_config


def _journal_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "muontra", "journal", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def _offline_loan(path: Path) -> str:
    journal = Journal.open(path)
    txn = journal.begin(
        "checkout",
        "B0001",
        (bytes.fromhex("e004010000000001"),),
        patron_id="P0001",
        patron_ref="ref",
        session_id="s1",
        transaction_date=datetime(2026, 3, 4, 12, 0),
        security_target=False,
    )
    journal.step(txn.id, "ils_ok", offline=True, detail="offline: down")
    journal.step(txn.id, "offline_done", security_verified=True)
    with journal.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.close()
    return txn.id


def _status(socket: Path) -> dict[str, object]:
    client = ApiClient(socket, timeout=5)
    try:
        return client.result("status")  # type: ignore[no-any-return]
    finally:
        client.close()


def test_a_damaged_journal_puts_the_kiosk_out_of_service_until_recovered(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    config = write_config(tmp_path, ils[0].port)
    journal = tmp_path / "data" / "journal.sqlite"
    txn = _offline_loan(journal)
    # A torn write lost the page of the journal's steps; the transactions still read.
    with sqlite3.connect(journal) as connection:
        [(page,)] = connection.execute("SELECT pageno FROM dbstat WHERE name = 'journal_steps'")
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    data = bytearray(journal.read_bytes())
    data[(page - 1) * size : page * size] = b"\xff" * size
    journal.write_bytes(bytes(data))
    socket = tmp_path / "kiosk.sock"
    kiosk = KioskProcess(config, socket)
    try:
        status = _status(socket)
        assert status["out_of_service"] is True
        damaged = status["journal_damaged"]
        assert isinstance(damaged, dict) and damaged["set_aside"]
        assert "muontra journal recover" in damaged["decide_with"]
        with pytest.raises(CommandFailed) as refused:
            kiosk.client.result("identify", method="typed", value="P0001")
        assert refused.value.error["code"] == "journal_damaged"
        assert "staff" in refused.value.error["en"] and refused.value.error["vi"]
        events = kiosk.client.result("history")["events"]
        assert any(e["event"] == "device" and e["state"] == "damaged" for e in events)
        assert kiosk.process.poll() is None  # up, not exiting for systemd to restart

        # Staff decide: recover what reads. The daemon notices and starts again in place.
        recovered = _journal_cli("recover", "--config", str(config))
        assert recovered.returncode == 0, recovered.stderr
        assert "offline transactions waiting for the ILS: 1" in recovered.stdout
        assert "Traceback" not in recovered.stdout + recovered.stderr

        def serving() -> dict[str, object] | None:
            try:
                answer = _status(socket)
            except (OSError, CommandFailed):
                return None
            return answer if "journal_damaged" not in answer else None

        status = wait_for(serving, 30, "the kiosk back in service")
        assert status["out_of_service"] is False
        # The offline loan reached the ILS (replayed by the maintenance loop) or is queued.
        final = Journal.open(journal)
        try:
            assert final.get(txn).state in ("offline_done", "replayed")
        finally:
            final.close()
        assert any(
            name.startswith("journal.sqlite.damaged-") for name in os.listdir(journal.parent)
        )
    finally:
        kiosk.process.terminate()
        _, err = kiosk.process.communicate(timeout=30)
        kiosk.stop()
    said = err.decode()
    assert "OUT OF SERVICE (journal damaged)" in said and "ready (self-checkout)" in said
    assert "Traceback" not in said


def test_journal_cli_refuses_without_damage_and_accept_new_needs_yes(tmp_path: Path) -> None:
    config = write_config(tmp_path, 1)
    journal = tmp_path / "data" / "journal.sqlite"
    _offline_loan(journal)
    sound = _journal_cli("status", "--config", str(config))
    assert (sound.returncode, sound.stdout.strip()) == (0, "sound")
    nothing = _journal_cli("accept-new", "--config", str(config), "--yes")
    assert nothing.returncode == 1 and "not damaged" in nothing.stdout
    journal.write_bytes(b"")
    unsure = _journal_cli("accept-new", "--config", str(config))
    assert unsure.returncode == 1 and "--yes" in unsure.stderr
    status = _journal_cli("status", "--config", str(config))
    assert status.returncode == 1 and "zero length" in status.stdout
    cannot = _journal_cli("recover", "--config", str(config))
    assert cannot.returncode == 1 and "accept-new" in cannot.stderr
    accepted = _journal_cli("accept-new", "--config", str(config), "--yes")
    assert accepted.returncode == 0, accepted.stderr
    fresh = Journal.open(journal)  # a new journal, as staff decided
    assert fresh.all() == []
    fresh.close()
    assert any(name.startswith("journal.sqlite.damaged-") for name in os.listdir(journal.parent))


def test_the_fleet_hears_of_a_damaged_journal(tmp_path: Path) -> None:
    """What the MQTT bridge sends for the out-of-service announcement (allow-listed fields)."""
    from engine.config import load_config
    from engine.damaged_journal import DamagedKiosk
    from engine.journal.integrity import Health, JournalDamaged, JournalState
    from protocols.mqtt.payloads import event_from_engine

    config = load_config(write_config(tmp_path, 1))
    state = JournalState(Health.DAMAGED, "20260304T050607Z", "the journal file is empty", ())
    kiosk = DamagedKiosk(config, JournalDamaged(tmp_path / "journal.sqlite", state))
    kiosk.announce()
    [announced] = kiosk.bus.history()
    converted = event_from_engine(announced, "kiosk-test", "MUONTRA")
    assert converted is not None
    topic, fleet_event = converted
    assert topic == "events/device"
    assert dict(fleet_event.data) == {
        "part": "journal",
        "state": "damaged",
        "detail": "the journal file is empty",
    }
    assert kiosk.status()["out_of_service"] is True
    assert kiosk.decided() is False


def test_the_kiosk_says_why_it_cannot_open_its_journal_without_a_traceback(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, 1)
    (tmp_path / "data" / "journal.sqlite").mkdir(parents=True)
    run = subprocess.run(
        [sys.executable, "-m", "muontra", "kiosk", "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3
    assert "cannot be checked" in run.stderr and "Traceback" not in run.stderr
