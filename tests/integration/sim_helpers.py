"""A seeded ILS simulator in a thread, and the bare SIP2 client tests drive it with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kiosk.ils.raw import RawSipClient
from kiosk.ils.sim.circulation import Circulation, Clock, system_clock
from kiosk.ils.sim.seed import seed
from kiosk.ils.sim.server import SimServerThread
from kiosk.ils.sim.sip2_mapping import SipMapping
from kiosk.ils.sim.store import Store


@contextmanager
def running_sim(
    path: str = ":memory:",
    accounts: dict[str, str] | None = None,
    clock: Clock = system_clock,
    **options: object,
) -> Iterator[SimServerThread]:
    """The simulator seeded and served on one clock (the real one unless a test gives
    its own), so what the fixtures promise holds on any date."""
    store = Store.open(path)
    seed(store, 20, 7, now=clock())
    mapping = SipMapping(Circulation(store, clock), accounts=accounts)
    try:
        with SimServerThread(mapping, **options) as sim:
            yield sim
    finally:
        store.close()


RawClient = RawSipClient
