"""Deliberate crashes for the power-cut tests: ``MUONTRA_CRASH_AT=checkout:ils_ok``.

The journal tests kill the engine with SIGKILL right after a named step is on
disk — the harshest moment a power cut can choose — and check that a restarted
engine brings the ILS and the tags back into agreement. Unset, this does nothing.
"""

from __future__ import annotations

import os
import signal

_POINTS = frozenset(filter(None, os.environ.get("MUONTRA_CRASH_AT", "").split(",")))


def crash_point(name: str) -> None:
    if name in _POINTS:
        os.kill(os.getpid(), signal.SIGKILL)
