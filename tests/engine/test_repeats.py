"""An item this kiosk already lent or took back, still on the pad after a restart.

The pad reports every tag as new to a restarted engine. A lent book sent to the
ILS again is renewed; a returned one checked in again. The journal knows both
were done (and the ILS confirms nothing happened to the item since).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kiosk.ils.sim.models import Item, Loan
from kiosk.ils.sim.server import SimServerThread
from kiosk.ils.sim.store import Store
from tests.engine.harness import Kiosk, final_item, item_events, login, wait_for, write_config


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
