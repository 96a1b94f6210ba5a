"""A seeded ILS simulator in a thread, and the bare SIP2 client tests drive it with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.ils.raw import RawSipClient
from ilssim.circulation import Circulation, Clock, system_clock
from ilssim.seed import seed
from ilssim.server import SimServerThread
from ilssim.sip2_mapping import SipMapping
from ilssim.store import Store


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
