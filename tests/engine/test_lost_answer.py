"""A checkout whose answer is lost when the link drops: unknown, not offline.

The ILS simulator handles the checkout, then closes the connection instead of
answering (the link dropping at the worst moment). The engine must ask the
ILS what it did: a refusal (here, B0005 waits on the hold shelf for P0005)
stays a refusal — never an offline loan forced through later over the hold —
and an accepted loan is the patron's loan.
"""

from __future__ import annotations

from typing import Any

from engine.circulation.replay import replay_offline
from ilssim.server import CloseConnection, SimServerThread
from ilssim.store import Store
from protocols.sip2 import CheckoutRequest
from protocols.sip2.codes import CirculationStatus
from tests.engine.harness import Kiosk, afi_of, final_item, ils_goes_down, login


def drop_first_checkout_answer(sim: SimServerThread) -> list[str]:
    """Let the ILS do the first checkout, then break the link instead of answering."""
    real = sim.server.handler
    dropped: list[str] = []

    def handler(request: Any, session: Any) -> Any:
        answer = real(request, session)
        if isinstance(request, CheckoutRequest) and not dropped:
            dropped.append(request.item_id or "")
            raise CloseConnection("answer lost")
        return answer

    sim.server.handler = handler
    return dropped


def test_refused_checkout_with_lost_answer_stays_refused(
    kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    dropped = drop_first_checkout_answer(ils[0])
    login(kiosk)
    kiosk.call("sim_place", item_id="B0005")
    result = final_item(kiosk, "B0005")
    assert dropped == ["B0005"]
    assert result["outcome"] == "ils_refused" and result["offline"] is False
    assert "P0005" not in str(result)
    assert afi_of(kiosk, "B0005") == 0x07
    (txn,) = kiosk.engine.journal.all()
    assert txn.state == "refused"
    # Nothing waits to be forced through once the ILS is "back".
    assert replay_offline(kiosk.engine.journal, kiosk.engine.ils) == []
    info = kiosk.engine.ils.item_information("B0005")
    assert info.circulation_status == CirculationStatus.WAITING_ON_HOLD_SHELF


def test_accepted_checkout_with_lost_answer_is_the_patrons_loan(
    kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    drop_first_checkout_answer(ils[0])
    login(kiosk)
    kiosk.call("sim_place", item_id="B0001")
    result = final_item(kiosk, "B0001")
    assert result["outcome"] == "checked_out" and result["offline"] is False
    assert result["due_date"]
    assert afi_of(kiosk, "B0001") == 0xC2
    (txn,) = kiosk.engine.journal.all()
    assert txn.state == "done"
    charged = kiosk.engine.ils.patron_information("P0001", "1234", summary="charged")
    assert "B0001" in charged.charged_items


def test_replay_never_forces_over_a_hold(fast_kiosk: Kiosk) -> None:
    """An offline loan of an item another patron's hold waits for: on replay the ILS
    is asked (no no-block), refuses, and it is a conflict; the hold stays."""
    kiosk = fast_kiosk
    ils_goes_down(kiosk)
    login(kiosk)
    kiosk.call("sim_place", item_id="B0005")
    assert final_item(kiosk, "B0005")["outcome"] == "offline_checked_out"
    kiosk.call("sim_ils", down=False)
    replayed = kiosk.event("replayed", item_id="B0005")
    assert replayed["state"] == "conflict"
    info = kiosk.engine.ils.item_information("B0005")
    assert info.circulation_status == CirculationStatus.WAITING_ON_HOLD_SHELF
