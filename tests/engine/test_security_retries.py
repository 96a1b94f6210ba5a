"""A tag that takes every security write and never keeps it.

Each write is acknowledged and read back unchanged. The engine retries a
bounded number of times (tags.security_retries, 2 by default), silently after
the first message, then undoes the loan so that the ILS and the (still
secured) tag agree. It must not loop: c105ed2 retried about 20 times a second
without end, with a screen message each time.
"""

from __future__ import annotations

from ilssim.server import SimServerThread
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus
from tests.engine.harness import Kiosk, afi_of, item_events, login, wait_for

NEVER = 1_000_000


def test_a_tag_that_never_keeps_its_write_undoes_the_loan_once(
    kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    login(kiosk)
    kiosk.call("sim_fault", name="silent_write_fail", item_id="B0001", value=NEVER)
    kiosk.call("sim_place", item_id="B0001")
    undone = wait_for(
        lambda: [e for e in item_events(kiosk, "B0001") if e["outcome"] == "security_undone"],
        what="the loan undone",
    )
    assert len(undone) == 1
    assert undone[0]["message"]["en"].startswith("Security could not be released")
    # Let the pad go round many more times: nothing more may happen to this item.
    rounds = kiosk.engine.pad.rounds
    wait_for(lambda: kiosk.engine.pad.rounds > rounds + 20, what="20 more pad rounds")
    assert kiosk.engine.circulation.wait_idle(5)
    shown = [e["outcome"] for e in item_events(kiosk, "B0001")]
    assert shown == ["processing", "security_failed", "security_undone"]
    (txn,) = kiosk.engine.journal.all()
    assert txn.state == "reversed"
    assert kiosk.engine.journal.steps(txn.id).count("flagged") == 3  # first try + 2 retries
    assert afi_of(kiosk, "B0001") == 0x07
    info = kiosk.engine.ils.item_information("B0001")
    assert info.circulation_status == CirculationStatus.AVAILABLE
