"""A seeded ILS simulator in a thread, and the bare SIP2 client tests drive it with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from kiosk.ils.raw import RawSipClient
from kiosk.ils.sim.circulation import Circulation
from kiosk.ils.sim.seed import seed
from kiosk.ils.sim.server import SimServerThread
from kiosk.ils.sim.sip2_mapping import SipMapping
from kiosk.ils.sim.store import Store

FIXED_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


@contextmanager
def running_sim(
    path: str = ":memory:", accounts: dict[str, str] | None = None, **options: object
) -> Iterator[SimServerThread]:
    store = Store.open(path)
    seed(store, 20, 7, now=FIXED_NOW)
    mapping = SipMapping(Circulation(store), accounts=accounts)
    try:
        with SimServerThread(mapping, **options) as sim:
            yield sim
    finally:
        store.close()


RawClient = RawSipClient
