"""The restore drill on a kiosk: backed up while it runs with open journal entries and an
offline queue, its data directory destroyed, restored onto a fresh one, started against
the ILS simulator over TCP. Nothing lost, nothing done twice, each offline loan replayed
exactly once (counted in the ILS's own loans)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from drivers.sim.field import uid_for
from engine.circulation.replay import replay_offline
from engine.ils.client import IlsClient
from engine.journal.store import Journal
from ilssim.models import Item, Loan, Patron
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk import core as kiosk_core
from kiosk.core import Engine
from muontra.cli import main
from tests.engine.harness import (
    Kiosk,
    final_item,
    ils_goes_down,
    ils_simulator,
    login,
    wait_for,
    write_config,
)


@pytest.fixture
def ils(tmp_path: Path) -> Iterator[tuple[SimServerThread, Store]]:
    with ils_simulator(tmp_path / "ils.sqlite") as running:
        yield running


def loans(store: Store, barcode: str) -> int:
    """Every loan the ILS ever made of ``barcode``, returned or not."""
    with store.read() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Loan).join(Item).where(Item.barcode == barcode)
            )
            or 0
        )


def started(kiosk: Kiosk, item: str) -> str:
    """A checkout journaled as the engine journals it, before it asks the ILS; the power
    then goes. Opened after the engine started, so the running engine leaves it alone."""
    txn = kiosk.engine.journal.begin(
        "checkout",
        item,
        (uid_for(item),),
        patron_id="P0001",
        patron_ref=None,
        session_id=None,
        transaction_date=datetime.now(),
        security_target=False,
    )
    return txn.id


def patron_cache(journal_path: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(journal_path)) as db:
        return db.execute("SELECT patron_ref, pin_hash FROM patron_cache ORDER BY 1").fetchall()


def states(journal_path: Path) -> dict[str, str]:
    with Journal.open(journal_path) as journal:
        return {txn.item_id: txn.state for txn in journal.all()}


def test_kiosk_restore_drill(
    tmp_path: Path,
    ils: tuple[SimServerThread, Store],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, store = ils
    monkeypatch.setattr(Engine, "maintenance_every", 0.05)
    config = write_config(tmp_path, server.port)
    data = tmp_path / "data"
    kiosk = Kiosk(config)
    kiosk.engine.ils_simulator = server
    try:
        # Open entries: B0003 reached the ILS before the power went, B0004 never did.
        started(kiosk, "B0003")
        with IlsClient(f"sip2://127.0.0.1:{server.port}?institution=MUONTRA") as ils_link:
            assert ils_link.checkout("P0001", "B0003", "1234").ok
        started(kiosk, "B0004")
        # The offline queue: two loans while the ILS is down.
        ils_goes_down(kiosk)
        login(kiosk)
        for item in ("B0001", "B0002"):
            kiosk.call("sim_place", item_id=item)
            assert final_item(kiosk, item)["outcome"] == "offline_checked_out"
        kiosk.call("cancel")
        before = {t.item_id: t.state for t in kiosk.engine.journal.all()}
        assert before == {
            "B0001": "offline_done",
            "B0002": "offline_done",
            "B0003": "started",
            "B0004": "started",
        }
        hourly = kiosk.engine.journal.hourly()
        assert hourly
        cached = patron_cache(data / "journal.sqlite")
        assert cached and all(pin_hash for _ref, pin_hash in cached)
        # Backed up while the kiosk runs.
        out = tmp_path / "backups"
        code = main(["backup", "--config", str(config), "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        (archive,) = out.glob("muontra-kiosk-test-*.tar")
    finally:
        kiosk.close()
    shutil.rmtree(data)  # the SD card died
    assert main(["restore", str(archive), "--config", str(config)]) == 0, capsys.readouterr().err
    assert states(data / "journal.sqlite") == before  # nothing lost on the way
    with Journal.open(data / "journal.sqlite") as journal:
        assert journal.hourly() == hourly
    assert patron_cache(data / "journal.sqlite") == cached  # with its PIN verifiers

    server.faults.down = False
    assert [loans(store, item) for item in ("B0001", "B0002", "B0003", "B0004")] == [0, 0, 1, 0]
    kiosk = Kiosk(config)
    kiosk.engine.ils_simulator = server
    try:
        wait_for(
            lambda: (
                {t.item_id: t.state for t in kiosk.engine.journal.all()}
                == {
                    "B0001": "replayed",
                    "B0002": "replayed",
                    "B0003": "flagged",
                    "B0004": "cancelled",
                }
            ),
            what="the restored kiosk to replay and reconcile",
        )
    finally:
        kiosk.close()
    assert [loans(store, item) for item in ("B0001", "B0002", "B0003", "B0004")] == [1, 1, 1, 0]

    # Started once more on the same data: the replay runs again and sends nothing.
    passes: list[list[dict[str, object]]] = []

    def counted(*args: object, **options: object) -> list[dict[str, object]]:
        passes.append(replay_offline(*args, **options))  # type: ignore[arg-type]
        return passes[-1]

    monkeypatch.setattr(kiosk_core, "replay_offline", counted)
    kiosk = Kiosk(config)
    try:
        wait_for(lambda: len(passes) >= 3, what="three maintenance passes")
    finally:
        kiosk.close()
    assert all(done == [] for done in passes)
    assert [loans(store, item) for item in ("B0001", "B0002", "B0003", "B0004")] == [1, 1, 1, 0]


def holders(store: Store, barcode: str) -> list[str]:
    """Who has ``barcode`` on loan in the ILS now."""
    with store.read() as session:
        return list(
            session.scalars(
                select(Patron.barcode)
                .join(Loan, Loan.patron_id == Patron.id)
                .join(Item, Loan.item_id == Item.id)
                .where(Item.barcode == barcode, Loan.returned_at.is_(None))
            )
        )


def test_restore_drill_with_another_patron_s_loan_in_the_way(
    tmp_path: Path,
    ils: tuple[SimServerThread, Store],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Patron A borrowed B0001 offline; the backup holds that queued loan. Before the
    restored kiosk replays it, patron B borrows B0001 at the desk. The replay must tell
    staff, and never check the item out to A over B."""
    server, store = ils
    monkeypatch.setattr(Engine, "maintenance_every", 0.05)
    config = write_config(tmp_path, server.port)
    data = tmp_path / "data"
    kiosk = Kiosk(config)
    kiosk.engine.ils_simulator = server
    try:
        ils_goes_down(kiosk)
        login(kiosk)
        kiosk.call("sim_place", item_id="B0001")
        assert final_item(kiosk, "B0001")["outcome"] == "offline_checked_out"
        kiosk.call("cancel")
        assert {t.item_id: t.state for t in kiosk.engine.journal.all()} == {"B0001": "offline_done"}
        out = tmp_path / "backups"
        assert main(["backup", "--config", str(config), "--out", str(out)]) == 0
        (archive,) = out.glob("muontra-kiosk-test-*.tar")
    finally:
        kiosk.close()
    shutil.rmtree(data)  # the kiosk died before the ILS came back

    server.faults.down = False
    with IlsClient(f"sip2://127.0.0.1:{server.port}?institution=MUONTRA") as desk:
        assert desk.checkout("P0005", "B0001", "5678").ok  # patron B, at the desk
    assert holders(store, "B0001") == ["P0005"]

    assert main(["restore", str(archive), "--config", str(config)]) == 0, capsys.readouterr().err
    assert states(data / "journal.sqlite") == {"B0001": "offline_done"}
    kiosk = Kiosk(config)
    kiosk.engine.ils_simulator = server
    try:
        wait_for(
            lambda: states_now(kiosk) == {"B0001": "conflict"},
            what="the restored kiosk's replay to find the conflict",
        )
        attention = kiosk.engine.status()["attention"]
    finally:
        kiosk.close()
    assert [(a["item_id"], a["state"]) for a in attention] == [("B0001", "conflict")]
    assert holders(store, "B0001") == ["P0005"]  # B keeps it; A was not lent it over B
    assert loans(store, "B0001") == 1


def states_now(kiosk: Kiosk) -> dict[str, str]:
    return {t.item_id: t.state for t in kiosk.engine.journal.all()}
