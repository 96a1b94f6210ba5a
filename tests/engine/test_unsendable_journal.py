"""A journal written by an older version may hold an item id the SIP2 encoder now
refuses (a tag's text with '|' or a CR in it, taken unchecked). Such a transaction
can never be sent: it goes to staff as a conflict, and the ones behind it are
still replayed and reconciled — the maintenance loop never stalls on it."""

from __future__ import annotations

from datetime import datetime

from engine.circulation.reconcile import reconcile
from engine.circulation.replay import replay_offline
from ilssim.server import SimServerThread
from ilssim.store import Store
from tests.engine.harness import Kiosk

FORGED = "B0001|AOX"  # would add a field to the request, were it sent


def offline_loan(kiosk: Kiosk, item_id: str) -> str:
    journal = kiosk.engine.journal
    txn = journal.begin(
        "checkout",
        item_id,
        (bytes(8),),
        patron_id="P0001",
        patron_ref="p-test",
        session_id="s",
        transaction_date=datetime.now(),
        security_target=False,
        offline=True,
    )
    journal.step(txn.id, "ils_ok", offline=True)
    journal.step(txn.id, "offline_done")
    return txn.id


def test_replay_sends_the_others_and_hands_the_unsendable_one_to_staff(
    kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    forged = offline_loan(kiosk, FORGED)
    honest = offline_loan(kiosk, "B0002")
    results = {r["txn"]: r for r in replay_offline(kiosk.engine.journal, kiosk.engine.ils)}
    assert results[forged]["state"] == "conflict"
    assert "AB carries '|'" in results[forged]["ils_message"]
    assert results[honest]["state"] == "replayed"
    assert kiosk.engine.journal.get(forged).state == "conflict"
    assert kiosk.engine.ils.item_information("B0002").circulation_status == "04"  # lent


def test_reconcile_moves_an_unsendable_open_transaction_to_a_conflict(kiosk: Kiosk) -> None:
    journal = kiosk.engine.journal
    txn = journal.begin(
        "checkin",
        "B0010\rX",
        (bytes(8),),
        patron_id=None,
        patron_ref=None,
        session_id=None,
        transaction_date=datetime.now(),
        security_target=True,
    )
    engine = kiosk.engine
    report = reconcile(journal, engine.ils, engine.reader, engine.reader_lock, engine.circulation)
    assert [(r["txn"], r["to"]) for r in report] == [(txn.id, "conflict")]
    assert journal.get(txn.id).state == "conflict"
