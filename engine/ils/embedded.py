"""``sip2+sim://``: the ILS simulator inside the engine, for demos and trials without an ILS.

Its catalogue lives beside the journal (``ils-sim.sqlite`` in the data
directory), seeded once, so loans survive an engine restart like a real ILS's.
It still speaks SIP2 over loopback TCP: the engine's link is the real one.
"""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from pathlib import Path

from engine.ils.schemes import SimulatedIls, starter_for
from engine.ils.url import IlsSettings


class EmbeddedIls:
    def __init__(self, data_dir: Path, scheme: str = "sip2+sim") -> None:
        start = starter_for(scheme)  # before the stack: an unknown scheme leaves nothing open
        self._running = ExitStack()
        self.thread: SimulatedIls
        self.thread, self.store = self._running.enter_context(start(data_dir / "ils-sim.sqlite"))

    def settings(self, settings: IlsSettings) -> IlsSettings:
        return dataclasses.replace(
            settings, scheme="sip2", host="127.0.0.1", port=self.thread.port, tls=False
        )

    def stop(self) -> None:
        self._running.close()
