"""``sip2+sim://``: the ILS simulator inside the engine, for demos and trials without an ILS.

Its catalogue lives beside the journal (``ils-sim.sqlite`` in the data
directory), seeded once, so loans survive an engine restart like a real ILS's.
It still speaks SIP2 over loopback TCP: the engine's link is the real one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kiosk.ils.sim.circulation import Circulation
from kiosk.ils.sim.seed import seed
from kiosk.ils.sim.server import SimServerThread
from kiosk.ils.sim.sip2_mapping import SipMapping
from kiosk.ils.sim.store import Store
from kiosk.ils.url import IlsSettings


class EmbeddedIls:
    def __init__(self, data_dir: Path) -> None:
        path = data_dir / "ils-sim.sqlite"
        new = not path.exists()
        self.store = Store.open(path)
        if new:
            seed(self.store, 40, 1)
        self.thread = SimServerThread(SipMapping(Circulation(self.store))).start()

    def settings(self, settings: IlsSettings) -> IlsSettings:
        return dataclasses.replace(
            settings, scheme="sip2", host="127.0.0.1", port=self.thread.port, tls=False
        )

    def stop(self) -> None:
        self.thread.stop()
        self.store.close()
