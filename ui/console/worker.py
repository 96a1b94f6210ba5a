"""Requests to central off the GUI thread: a QThreadPool runs them, a signal brings the answer.

A console at a desk whose central is slow (a province's server over a district line)
must keep its alarms, buttons and sound alive. Every request the window makes goes
through :class:`Requests`: the call runs on a pool thread, and ``done`` is emitted
with its answer, which Qt queues onto the GUI thread because this object lives there.

The answer crosses threads as JSON text (a copied QString), never as a Python dict
that PySide would convert to a QVariantMap on the worker's thread (see window._Relay).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ui.console.client import CentralError

__all__ = ["Requests"]

log = logging.getLogger(__name__)


class _Job(QRunnable):
    def __init__(self, owner: Requests, key: str, call: Callable[[], Any]) -> None:
        super().__init__()
        self.owner = owner
        self.key = key
        self.call = call

    def run(self) -> None:
        try:
            value = self.call()
        except CentralError as error:
            answer = {"ok": False, "status": error.status, "error": error.message}
        except Exception as error:  # a worker must always answer, or the window waits forever
            log.exception("console request %s failed", self.key)
            answer = {"ok": False, "status": 0, "error": type(error).__name__}
        else:
            answer = {"ok": True, "value": value}
        try:
            self.owner.done.emit(self.key, json.dumps(answer, ensure_ascii=False, default=str))
        except RuntimeError:
            log.debug("console request %s answered after its window closed", self.key)


class Requests(QObject):
    """``submit(key, call)`` runs ``call`` on a pool thread; ``done(key, answer_json)`` follows."""

    done = Signal(str, str)
    """``answer_json`` is ``{"ok": true, "value": …}`` or ``{"ok": false, "status", "error"}``."""

    def __init__(self, threads: int = 4) -> None:
        super().__init__()
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(threads)
        self.pending = 0
        self.done.connect(self._count)

    def submit(self, key: str, call: Callable[[], Any]) -> None:
        self.pending += 1
        self.pool.start(_Job(self, key, call))

    def _count(self, _key: str, _answer: str) -> None:
        self.pending -= 1

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Wait for every request (on closing); True if none was left running."""
        return bool(self.pool.waitForDone(timeout_ms))
