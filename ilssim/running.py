"""The ILS simulator as one piece: its store (seeded the first time), serving SIP2 on loopback.

The demo, the embedded ``sip2+sim://`` ILS, the scenario runner, the tests'
harness and the kiosk bench all need exactly this; they differ only in where
the store lives and how large the generated catalogue is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ilssim.circulation import Circulation, Clock, system_clock
from ilssim.seed import seed
from ilssim.server import SimServerThread
from ilssim.sip2_mapping import SipMapping
from ilssim.store import Store


@contextmanager
def running_simulator(
    path: Path, items: int = 40, rng_seed: int = 1, clock: Clock = system_clock
) -> Iterator[tuple[SimServerThread, Store]]:
    """Serve the store at ``path`` (created and seeded with ``items`` generated items when
    it does not exist yet); stopped and closed on leaving.

    ``clock`` is the simulator's one clock: the seed anchors its loans, due dates and
    hold shelves at ``clock()`` and the service judges them by the same clock, so a
    fresh simulator tells the same story on any date.
    """
    new = not path.exists()
    store = Store.open(path)
    try:
        if new:
            seed(store, items, rng_seed, now=clock())
        with SimServerThread(SipMapping(Circulation(store, clock))) as sim:
            yield sim, store
    finally:
        store.close()
