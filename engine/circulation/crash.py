"""Deliberate crashes for the power-cut tests: ``MUONTRA_CRASH_AT=checkout:ils_ok``.

The journal tests kill the engine with SIGKILL right after a named step is on
disk — the harshest moment a power cut can choose — and check that a restarted
engine brings the ILS and the tags back into agreement. ``POINT#N`` crashes the
N-th time the point is reached (the third item of a stack, not the first);
points are comma-separated. Unset, this does nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter


def _parse(text: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, nth = entry.partition("#")
        points[name] = int(nth) if nth.isdigit() and int(nth) > 0 else 1
    return points


_POINTS = _parse(os.environ.get("MUONTRA_CRASH_AT", ""))
_reached: Counter[str] = Counter()
_lock = threading.Lock()


def crash_point(name: str) -> None:
    wanted = _POINTS.get(name)
    if wanted is None:
        return
    with _lock:
        _reached[name] += 1
        due = _reached[name] == wanted
    if due:
        os.kill(os.getpid(), signal.SIGKILL)
