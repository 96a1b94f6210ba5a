"""An item this kiosk already lent or took back, still on the pad after a restart.

The pad reports every tag as new to a restarted engine. A lent book sent to the
ILS again is renewed; a returned one checked in again. The journal knows both
were done (and the ILS confirms nothing happened to the item since).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from drivers.sim.field import uid_for
from ilssim.models import Item, Loan
from ilssim.server import SimServerThread
from ilssim.store import Store
from tests.engine.harness import (
    Kiosk,
    afi_of,
    final_item,
    item_events,
    login,
    wait_for,
    write_config,
)

SECURED, ON_LOAN = 0x07, 0xC2


def test_login_after_restart_does_not_renew_the_book_on_the_pad(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    config = write_config(tmp_path, ils[0].port)
    kiosk = Kiosk(config)
    try:
        login(kiosk)
        kiosk.call("sim_place", item_id="B0001")
        lent = final_item(kiosk, "B0001")
        assert lent["outcome"] == "checked_out"
    finally:
        kiosk.close()
    kiosk = Kiosk(config)  # the same journal; the book still lies on the pad
    try:
        login(kiosk)
        again = final_item(kiosk, "B0001")
        assert again["outcome"] == "already_yours" and again["success"] is True
        assert again["due_date"] == lent["due_date"]
        assert kiosk.call("done")["items"][0]["outcome"] == "already_yours"
        checkouts = [t for t in kiosk.engine.journal.all() if t.kind == "checkout"]
        assert len(checkouts) == 1
        with ils[1].read() as session:
            loan = session.scalars(
                select(Loan).join(Item).where(Item.barcode == "B0001", Loan.returned_at.is_(None))
            ).one()
            assert loan.renewals == 0
    finally:
        kiosk.close()


def test_return_station_does_not_check_in_again_after_restart(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    config = write_config(tmp_path, ils[0].port, role="return")
    kiosk = Kiosk(config)
    try:
        kiosk.call("sim_place", item_id="B0010")
        assert final_item(kiosk, "B0010")["outcome"] == "returned"
    finally:
        kiosk.close()
    kiosk = Kiosk(config)
    try:
        # Published while the engine started, maybe before this client subscribed.
        (again,) = wait_for(
            lambda: [e for e in item_events(kiosk, "B0010") if e["outcome"] != "processing"],
            what="B0010's outcome",
        )
        assert again["outcome"] == "already_returned" and again.get("earlier") is True
        rounds = kiosk.engine.pad.rounds
        wait_for(lambda: kiosk.engine.pad.rounds > rounds + 3, what="more pad rounds")
        assert kiosk.engine.circulation.wait_idle(5)
        checkins = [t for t in kiosk.engine.journal.all() if t.kind == "checkin"]
        assert [t.state for t in checkins] == ["done"]
    finally:
        kiosk.close()


def test_a_book_returned_elsewhere_is_lent_again(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    """The journal alone does not decide: returned at the desk since, it is a new loan."""
    config = write_config(tmp_path, ils[0].port)
    kiosk = Kiosk(config)
    try:
        login(kiosk)
        kiosk.call("sim_place", item_id="B0001")
        assert final_item(kiosk, "B0001")["outcome"] == "checked_out"
        kiosk.call("cancel")
        assert kiosk.engine.ils.checkin("B0001").ok  # at the desk
        login(kiosk)
        assert final_item(kiosk, "B0001")["outcome"] == "checked_out"
        checkouts = [t for t in kiosk.engine.journal.all() if t.kind == "checkout"]
        assert len(checkouts) == 2
    finally:
        kiosk.close()


def lift(kiosk: Kiosk, item_id: str) -> None:
    """Take the item off the pad and wait until the pad has seen it go."""
    kiosk.call("sim_remove", item_id=item_id)
    kiosk.event("tag_removed", uid=uid_for(item_id).hex().upper())


def _loan_open(store: Store, barcode: str) -> bool:
    with store.read() as session:
        loan = session.scalars(
            select(Loan).join(Item).where(Item.barcode == barcode, Loan.returned_at.is_(None))
        ).first()
        return loan is not None


def test_returned_lent_and_returned_again_within_a_minute_is_a_new_return(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    """Issue 17: the recent-returns guard must not outlive a loan made in between.

    Ignored, the second return left the ILS loan open and the tag unsecured, and
    the gate would let the book out without an alarm."""
    kiosk = Kiosk(write_config(tmp_path, ils[0].port, role="both"))
    try:
        kiosk.call("return_mode")
        kiosk.call("sim_place", item_id="B0010")  # on loan to P0001
        assert final_item(kiosk, "B0010")["outcome"] == "returned"
        assert afi_of(kiosk, "B0010") == SECURED
        lift(kiosk, "B0010")
        login(kiosk, "P0005", "5678")
        kiosk.call("sim_place", item_id="B0010")
        assert final_item(kiosk, "B0010")["outcome"] == "checked_out"
        assert afi_of(kiosk, "B0010") == ON_LOAN and _loan_open(ils[1], "B0010")
        lift(kiosk, "B0010")
        kiosk.call("return_mode")
        kiosk.call("sim_place", item_id="B0010")  # well within RETURN_REPEAT
        again = final_item(kiosk, "B0010")
        assert again["outcome"] == "returned" and not again.get("earlier")
        assert not _loan_open(ils[1], "B0010")
        assert afi_of(kiosk, "B0010") == SECURED
        checkins = [t for t in kiosk.engine.journal.all() if t.kind == "checkin"]
        assert [t.state for t in checkins] == ["done", "done"]
    finally:
        kiosk.close()


def test_returned_then_lent_elsewhere_and_returned_again_is_a_new_return(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    """A loan this kiosk never saw (the desk, another kiosk) ends the guard too: once a
    return has come to rest the journal and the ILS decide, not a minute's memory."""
    kiosk = Kiosk(write_config(tmp_path, ils[0].port, role="return"))
    try:
        kiosk.call("sim_place", item_id="B0010")
        assert final_item(kiosk, "B0010")["outcome"] == "returned"
        lift(kiosk, "B0010")
        assert kiosk.engine.ils.checkout("P0005", "B0010", "5678").ok  # at the desk
        kiosk.call("sim_place", item_id="B0010")
        assert final_item(kiosk, "B0010")["outcome"] == "returned"
        assert not _loan_open(ils[1], "B0010")
        checkins = [t for t in kiosk.engine.journal.all() if t.kind == "checkin"]
        assert [t.state for t in checkins] == ["done", "done"]
    finally:
        kiosk.close()


def test_a_return_laid_again_is_told_already_returned_not_sent_again(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    """Lifted and laid again, a finished return says so (never a silent miss) and the
    ILS sees one checkin."""
    kiosk = Kiosk(write_config(tmp_path, ils[0].port, role="return"))
    try:
        kiosk.call("sim_place", item_id="B0010")
        assert final_item(kiosk, "B0010")["outcome"] == "returned"
        lift(kiosk, "B0010")
        kiosk.call("sim_place", item_id="B0010")
        again = final_item(kiosk, "B0010")
        assert again["outcome"] == "already_returned" and again.get("earlier") is True
        checkins = [t for t in kiosk.engine.journal.all() if t.kind == "checkin"]
        assert [t.state for t in checkins] == ["done"]
    finally:
        kiosk.close()
