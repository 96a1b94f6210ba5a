"""Requests to central off the GUI thread: a thread runs each, a signal brings the answer.

A console at a desk whose central is slow (a province's server over a district line)
must keep its alarms, buttons and sound alive. Every request the window makes goes
through :class:`Requests`: the call runs on a thread of its own, and ``done`` is emitted
with its answer, which Qt queues onto the GUI thread because this object lives there.

A thread per request, daemonic, rather than a QThreadPool: a pool of N threads held by
N unanswered reads would queue an acknowledgement behind them, and Qt waits for a pool's
threads when it is destroyed, so a console closed while central hangs would hang too.
The window hangs up its requests' sockets on closing (``Central.abort``); what is left
cannot keep the process alive.

The answer crosses threads as JSON text (a copied QString), never as a Python dict
that PySide would convert to a QVariantMap on the worker's thread (see window._Relay).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from ui.console.client import CentralError

__all__ = ["BROKEN", "Requests"]

log = logging.getLogger(__name__)

BROKEN = -1
"""The status of an answer that failed in the console itself (a bug), not at central."""


class Requests(QObject):
    """``submit(key, call)`` runs ``call`` on a thread; ``done(key, answer_json)`` follows."""

    done = Signal(str, str)
    """``answer_json`` is ``{"ok": true, "value": …}`` or ``{"ok": false, "status", "error"}``:
    central's HTTP status, 0 when it was not reached, BROKEN when the console failed."""

    def __init__(self) -> None:
        super().__init__()
        self.pending = 0
        self.closed = False
        self._lock = threading.Lock()
        self._running: set[threading.Thread] = set()
        self.done.connect(self._count)

    def submit(self, key: str, call: Callable[[], Any]) -> None:
        if self.closed:
            return
        self.pending += 1
        thread = threading.Thread(
            target=self._run, args=(key, call), name=f"console-{key}", daemon=True
        )
        with self._lock:
            self._running.add(thread)
        thread.start()

    def _run(self, key: str, call: Callable[[], Any]) -> None:
        try:
            value = call()
        except CentralError as error:
            answer = {"ok": False, "status": error.status, "error": error.message}
        except Exception as error:  # a worker must always answer, or the window waits forever
            log.exception("console request %s failed", key.partition("#")[0])
            answer = {"ok": False, "status": BROKEN, "error": type(error).__name__}
        else:
            answer = {"ok": True, "value": value}
        with self._lock:
            self._running.discard(threading.current_thread())
        if self.closed:
            return  # the window is gone or going: nobody to draw it
        try:
            self.done.emit(key, json.dumps(answer, ensure_ascii=False, default=str))
        except RuntimeError:
            log.debug("console request %s answered after its window closed", key)

    def _count(self, _key: str, _answer: str) -> None:
        self.pending -= 1

    def close(self) -> None:
        """Take no more requests and drop the answers still to come (the window closes)."""
        self.closed = True

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Wait up to ``timeout_s`` for the requests out; True if none was left running."""
        with self._lock:
            running = list(self._running)
        deadline = time.monotonic() + timeout_s
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in running)
