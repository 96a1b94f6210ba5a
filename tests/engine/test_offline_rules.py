"""Offline lending: limits per patron, replay conflicts named, and the original local time.

The harness's kiosk allows 2 items per patron offline; its site is in
Asia/Ho_Chi_Minh (the default), as is the ILS simulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ilssim.circulation import Circulation
from ilssim.models import Item, Loan
from ilssim.server import SimServerThread
from ilssim.store import Store
from tests.engine.harness import Kiosk, final_item, ils_goes_down, login


def test_offline_limit_is_the_patrons_across_sessions(fast_kiosk: Kiosk) -> None:
    kiosk = fast_kiosk
    ils_goes_down(kiosk)
    login(kiosk)
    kiosk.call("sim_place", item_id="B0001")
    assert final_item(kiosk, "B0001")["outcome"] == "offline_checked_out"
    kiosk.call("cancel")
    kiosk.call("sim_remove", item_id="B0001")  # she takes her book and comes back
    kiosk.event("tag_removed")
    login(kiosk)  # the same patron again: a new session, not a new allowance
    kiosk.call("sim_place", item_id="B0002")
    assert final_item(kiosk, "B0002")["outcome"] == "offline_checked_out"
    kiosk.call("sim_place", item_id="B0003")
    refused = final_item(kiosk, "B0003")
    assert refused["outcome"] == "offline_limit"
    assert refused["message"]["en"] == "Offline: the borrowing limit is reached"
    states = [(t.item_id, t.state) for t in kiosk.engine.journal.all()]
    assert states == [
        ("B0001", "offline_done"),
        ("B0002", "offline_done"),
        ("B0003", "cancelled"),
    ]


def test_replay_reports_another_patrons_newer_loan_as_a_conflict(
    fast_kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    kiosk = fast_kiosk
    ils_goes_down(kiosk)
    login(kiosk)
    kiosk.call("sim_place", item_id="B0001")
    assert final_item(kiosk, "B0001")["outcome"] == "offline_checked_out"
    kiosk.call("cancel")
    # Meanwhile the desk, which can reach the ILS, lends the same copy to P0005 —
    # before the kiosk can: with the link up first, its replay could reach the ILS
    # before the desk's loan and meet the ILS's own conflict answer instead.
    assert Circulation(ils[1]).checkout("P0005", "B0001", "5678").ok
    ils[0].faults.down = False
    replayed = kiosk.event("replayed", item_id="B0001")
    assert replayed["state"] == "conflict"
    assert replayed["ils_message"] == "on loan to another patron in the ILS"
    (txn,) = kiosk.engine.journal.all()
    assert txn.state == "conflict"
    assert kiosk.call("status")["attention"][0]["item_id"] == "B0001"


def test_offline_loan_reaches_the_ils_with_its_original_local_time(
    fast_kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    """SIP2 dates are the ILS's local time: the replayed loan starts when the patron
    took the book, not seven hours earlier (a UTC clock sent as local time)."""
    kiosk = fast_kiosk
    ils_goes_down(kiosk)
    login(kiosk)
    lent_at = datetime.now(UTC)
    kiosk.call("sim_place", item_id="B0002")
    assert final_item(kiosk, "B0002")["outcome"] == "offline_checked_out"
    (txn,) = kiosk.engine.journal.all()
    vietnam = kiosk.engine.clock.zone
    assert abs(txn.transaction_date - lent_at.astimezone(vietnam).replace(tzinfo=None)) < (
        timedelta(seconds=30)
    )
    kiosk.call("sim_ils", down=False)
    assert kiosk.event("replayed", item_id="B0002")["state"] == "replayed"
    with ils[1].read() as session:
        loan = session.scalars(
            select(Loan).join(Item).where(Item.barcode == "B0002", Loan.returned_at.is_(None))
        ).one()
        assert loan.offline is True
        assert abs(loan.checked_out_at - lent_at) < timedelta(seconds=30)
