"""The journal's disk fills up, or turns read-only, while the ILS answers a checkout.

The ILS made the loan; the journal could not record it. The patron must not be
told "not lent" (nor the receipt say so) while the ILS holds the loan: the item
is "being checked" until the engine has asked the ILS and the tag, and then the
screen, the summary and the receipt say what the ILS holds.

Disk full is SQLite's own SQLITE_FULL: ``PRAGMA max_page_count`` holds every
connection of the journal at its current size and the free room in its pages is
used up, so the next write that needs room fails as on a full disk (no root, no
mount: it runs in CI). Read-only is ``PRAGMA query_only`` on every connection:
SQLite then refuses every write with SQLITE_READONLY, as on a file system
remounted read-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from drivers.sim.field import uid_for
from engine.ils.client import IlsClient
from engine.journal.store import Journal
from engine.receipts.qr import parse_qr_payload
from ilssim.server import SimServerThread
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus
from tests.engine.harness import Kiosk, write_config

UNLIMITED = 1_073_741_823


class Disk:
    """The journal's disk as the tests make it: fine, full or read-only."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.pages = UNLIMITED
        self.read_only = False
        event.listen(journal.engine, "checkout", self._apply)

    def _apply(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {self.pages}")
        cursor.execute(f"PRAGMA query_only = {'ON' if self.read_only else 'OFF'}")
        cursor.close()

    def fill(self, txn_id: str) -> None:
        """No room left: the pages are capped and the free space in them used up by rows
        as small as the next step the engine writes for ``txn_id`` (so it cannot fit)."""
        with self.journal.read() as session:
            self.pages = int(session.execute(text("PRAGMA page_count")).scalar_one())
        for size in (2000, 400, 80, 16, 0):
            while True:
                try:
                    with self.journal.write() as session:
                        session.execute(
                            text(
                                "INSERT INTO journal_steps (transaction_id, step, at, detail)"
                                " VALUES (:txn, 'f', '2026-01-01 00:00:00', :detail)"
                            ),
                            {"txn": txn_id, "detail": "x" * size if size else None},
                        )
                except OperationalError as error:
                    assert "full" in str(error)
                    break

    def free(self) -> None:
        self.pages = UNLIMITED
        self.read_only = False


class FillingIls:
    """The engine's ILS client; the disk fails right after the ILS has made the loan."""

    def __init__(self, real: Any, disk: Disk, failure: str) -> None:
        self.real = real
        self.disk = disk
        self.failure = failure
        self.armed = True

    def checkout(self, *args: Any, **kwargs: Any) -> Any:
        answer = self.real.checkout(*args, **kwargs)
        if self.armed:
            self.armed = False
            [txn] = self.disk.journal.in_states({"started"})
            if self.failure == "full":
                self.disk.fill(txn.id)
            else:
                self.disk.read_only = True
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _kiosk(tmp_path: Path, port: int, failure: str) -> tuple[Kiosk, Disk]:
    kiosk = Kiosk(write_config(tmp_path, port))
    disk = Disk(kiosk.engine.journal)
    circulation = kiosk.engine.circulation
    circulation.ils = FillingIls(circulation.ils, disk, failure)
    return kiosk, disk


def _login(kiosk: Kiosk) -> None:
    kiosk.call("identify", method="typed", value="P0001")
    kiosk.call("pin", pin="1234")


def _on_loan(kiosk: Kiosk, item: str) -> bool:
    """What the ILS holds, asked on a link of the test's own: the kiosk's link has the
    harness's 2 s answer limit, which a loaded machine can miss (it failed so once)."""
    url = kiosk.config.ils.url.replace("timeout=2", "timeout=15")
    with IlsClient(url) as ils:
        status = ils.item_information(item).circulation_status
    return str(status) == CirculationStatus.CHARGED


@pytest.mark.parametrize("failure", ["full", "read-only"])
def test_while_the_disk_stays_broken_the_item_is_being_checked_not_failed(
    tmp_path: Path,
    ils: tuple[SimServerThread, Store],
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    from kiosk.core import Engine

    monkeypatch.setattr(Engine, "maintenance_every", 0.05)
    kiosk, disk = _kiosk(tmp_path, ils[0].port, failure)
    try:
        _login(kiosk)
        kiosk.call("sim_place", item_id="B0001")
        told = kiosk.event("item", item_id="B0001", outcome="being_checked")
        assert "being checked" in told["message"]["en"] and told["message"]["vi"]
        assert _on_loan(kiosk, "B0001")  # the ILS did lend it
        summary = kiosk.call("done")
        assert (summary["checked_out"], summary["failed"], summary["being_checked"]) == (0, 0, 1)
        qr = kiosk.call("receipt", method="qr")
        [line] = parse_qr_payload(qr["payload"]).items
        assert (line.item_id, line.ok, line.checking) == ("B0001", False, True)
        # The disk is fixed: the maintenance loop finishes the loan the ILS holds.
        disk.free()
        reconciled = kiosk.event("reconciled", item_id="B0001")
        assert reconciled["to"] == "done"
        tags = {t["uid"].lower(): t["afi"] for t in kiosk.call("sim_tags")["tags"]}
        assert tags[uid_for("B0001").hex()] == 0xC2  # released: the ILS and the tag agree
    finally:
        kiosk.close()


@pytest.mark.parametrize("failure", ["full", "read-only"])
def test_a_disk_fixed_before_the_summary_gives_the_ilss_answer(
    tmp_path: Path,
    ils: tuple[SimServerThread, Store],
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    from kiosk.core import Engine

    monkeypatch.setattr(Engine, "maintenance_every", 3600.0)  # only `done` settles it
    kiosk, disk = _kiosk(tmp_path, ils[0].port, failure)
    try:
        _login(kiosk)
        kiosk.call("sim_place", item_id="B0001")
        kiosk.event("item", item_id="B0001", outcome="being_checked")
        disk.free()
        kiosk.call("sim_place", item_id="B0002")
        kiosk.event("item", item_id="B0002", outcome="checked_out")
        summary = kiosk.call("done")
        assert (summary["checked_out"], summary["failed"], summary["being_checked"]) == (2, 0, 0)
        lines = {i["item_id"]: i for i in summary["items"]}
        assert lines["B0001"]["success"] and lines["B0001"]["due_date"]
        kiosk.event("item", item_id="B0001", outcome="checked_out")  # the screen told too
        qr = kiosk.call("receipt", method="qr")
        items = {i.item_id: i for i in parse_qr_payload(qr["payload"]).items}
        assert items["B0001"].ok and items["B0001"].due is not None
        assert _on_loan(kiosk, "B0001") and _on_loan(kiosk, "B0002")
        states = {t["item_id"]: t["state"] for t in kiosk.call("journal")["transactions"]}
        assert states == {"B0001": "done", "B0002": "done"}
    finally:
        kiosk.close()
