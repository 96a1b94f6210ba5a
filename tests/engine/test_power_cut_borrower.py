"""A power cut at 'checkout:started', and meanwhile the desk lends the book to someone else.

The kiosk is killed (SIGKILL at the crash point) right after journaling the
checkout's start; the ILS then shows the item on loan — to another patron. A
real restart on the same journal must not take that loan for its own: the tag
stays secured and the transaction is cancelled.
"""

from __future__ import annotations

from pathlib import Path

from engine.ils.client import IlsClient
from tests.engine.harness import Kiosk, KioskProcess, afi_of, ils_simulator, write_config

SECURED = 0x07


def cut_power_lending_b0001(tmp_path: Path, port: int, crash_at: str) -> Path:
    """P0001 lays B0001 on the pad of a real `muontra kiosk`, killed (SIGKILL) at
    ``crash_at``; the kiosk's config, for the restart on the same journal."""
    config = write_config(tmp_path, port)
    engine = KioskProcess(config, tmp_path / "kiosk.sock", env={"MUONTRA_CRASH_AT": crash_at})
    try:
        engine.client.result("identify", method="typed", value="P0001")
        engine.client.result("pin", pin="1234")
        engine.client.result("sim_place", item_id="B0001")
        assert engine.wait_killed() == -9
    finally:
        engine.stop()
    return config


def test_restart_leaves_another_patrons_loan_secured(tmp_path: Path) -> None:
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        config = cut_power_lending_b0001(tmp_path, sim.port, "checkout:started")
        with IlsClient(f"sip2://127.0.0.1:{sim.port}?institution=MUONTRA") as desk:
            assert desk.checkout("P0005", "B0001", "5678").ok
            kiosk = Kiosk(config)
            try:
                (txn,) = [t for t in kiosk.engine.journal.all() if t.item_id == "B0001"]
                assert txn.state == "cancelled"
                assert txn.detail == "on loan to another patron in the ILS after restart"
                assert afi_of(kiosk, "B0001") == SECURED
                charged = desk.patron_information("P0005", "5678", summary="charged")
                assert "B0001" in charged.charged_items
            finally:
                kiosk.close()


def test_restart_finishes_the_patrons_own_loan(tmp_path: Path) -> None:
    """The other side: the ILS lent it to this transaction's patron, so it is released."""
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        config = cut_power_lending_b0001(tmp_path, sim.port, "checkout:ils_ok")
        kiosk = Kiosk(config)
        try:
            (txn,) = [t for t in kiosk.engine.journal.all() if t.item_id == "B0001"]
            assert txn.state == "done"
            assert afi_of(kiosk, "B0001") == 0xC2
        finally:
            kiosk.close()
