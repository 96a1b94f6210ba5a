"""SIP2 dates are the library's local time, from the engine's one injected clock.

The engine is given a fixed instant (UTC midnight); its site is Asia/Ho_Chi_Minh
(UTC+7). The checkout it sends, the journal and the receipt must say 07:00
that day — c105ed2 sent the machine's own clock, whatever the configured zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.sim.field import uid_for
from engine.circulation.steps import Borrower, Item
from engine.clock import SiteClock
from engine.config import load_config
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.core import Engine
from kiosk.receipts import build
from protocols.sip2 import CheckoutRequest
from tests.engine.harness import write_config

MIDNIGHT_UTC = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)


def test_site_clock_gives_the_zones_wall_time() -> None:
    clock = SiteClock("Asia/Ho_Chi_Minh", lambda: MIDNIGHT_UTC)
    assert clock.local() == datetime(2030, 1, 1, 7, 0)
    assert SiteClock("America/New_York", lambda: MIDNIGHT_UTC).local() == datetime(
        2029, 12, 31, 19, 0
    )


def test_the_checkout_carries_the_sites_local_time(
    tmp_path: Path, ils: tuple[SimServerThread, Store]
) -> None:
    sent: list[str] = []
    real = ils[0].server.handler

    def handler(request: Any, session: Any) -> Any:
        if isinstance(request, CheckoutRequest):
            sent.append(str(request.transaction_date))
        return real(request, session)

    ils[0].server.handler = handler
    engine = Engine(load_config(write_config(tmp_path, ils[0].port)), clock=lambda: MIDNIGHT_UTC)
    engine.start()
    try:
        engine.identify("typed", "P0001")
        engine.pin("1234")
        session = engine.session
        assert session is not None
        borrower = Borrower(session.patron_id, session.ref, session.id, session.pin, False)
        engine.circulation.checkout(borrower, Item("B0001", (uid_for("B0001"),)))
        assert engine.circulation.wait_idle(10)
        assert sent == [str(datetime(2030, 1, 1, 7, 0))]
        (txn,) = engine.journal.all()
        assert txn.transaction_date == datetime(2030, 1, 1, 7, 0)
        receipt = build(engine, engine.done())
        assert receipt.when == datetime(2030, 1, 1, 7, 0)
    finally:
        engine.stop()
