"""The engine's event stream: what happened, in order, to every subscriber.

Events are small JSON-able dicts with a sequence number; the local API streams
them to the touchscreen and to scripts, the scenario runner asserts on them.
They never carry a patron id, PIN or full name (only ``patron_ref`` and the
masked display name).

A subscriber may be given a limit: a client of the local API that stops
reading would otherwise make its queue grow without end (24 MB per 100,000
events was measured), so once ``limit`` events wait for it, it is dropped —
taken off the bus, its queue emptied — and its ``on_overflow`` callback runs
(the API closes that connection). In-process subscribers (the MQTT bridge)
take no limit: they are ours and keep up.

The history (the last ``history`` events, for a client that connects late and
for tests) keeps each event as its compact JSON text rather than as a dict: a
dict of a dozen keys costs about 1 kB resident, its JSON a few hundred bytes,
and 2,000 of them were a daemon's largest growth after its first hour
(issue 15). An event whose JSON would not read back equal (a tuple, a value
JSON does not know) is kept as it is, so :meth:`EventBus.history` always gives
back what was published.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]

log = logging.getLogger(__name__)


class EventBus:
    def __init__(self, history: int = 2000) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[queue.Queue[Event], Callable[[], None] | None] = {}
        self._sequence = itertools.count(1)
        self._history: deque[str | Event] = deque(maxlen=history)

    def publish(self, name: str, /, **data: Any) -> Event:
        overflowed: list[tuple[queue.Queue[Event], Callable[[], None] | None]] = []
        with self._lock:
            event: Event = {"event": name, "seq": next(self._sequence), "time": time.time(), **data}
            self._history.append(_compact(event))
            for subscriber, on_overflow in self._subscribers.items():
                try:
                    subscriber.put_nowait(event)
                except queue.Full:
                    overflowed.append((subscriber, on_overflow))
            for subscriber, _ in overflowed:
                del self._subscribers[subscriber]
                _empty(subscriber)
        # Outside the lock: the callback may close a socket or publish.
        for subscriber, on_overflow in overflowed:
            if on_overflow is not None:
                on_overflow()  # says why, in its owner's words
            else:
                log.warning(
                    "an event subscriber fell %d events behind; dropped", subscriber.maxsize
                )
        return event

    def subscribe(
        self, limit: int | None = None, on_overflow: Callable[[], None] | None = None
    ) -> queue.Queue[Event]:
        """A queue that receives every event from now on.

        With ``limit``, at most that many events wait in it: one more and the
        subscriber is dropped (emptied, no longer fed) and ``on_overflow`` runs.
        """
        with self._lock:
            subscriber: queue.Queue[Event] = queue.Queue(maxsize=limit or 0)
            self._subscribers[subscriber] = on_overflow
            return subscriber

    def unsubscribe(self, subscriber: queue.Queue[Event]) -> None:
        with self._lock:
            self._subscribers.pop(subscriber, None)

    def backlogs(self) -> list[int]:
        """How many events wait for each current subscriber (for tests and health)."""
        with self._lock:
            return [subscriber.qsize() for subscriber in self._subscribers]

    def history(self) -> list[Event]:
        """The last events published, oldest first, each a new dict equal to the one published."""
        with self._lock:
            kept = list(self._history)
        return [json.loads(e) if isinstance(e, str) else e for e in kept]


def _compact(event: Event) -> str | Event:
    """``event`` as compact JSON when that reads back equal to it, else ``event`` itself."""
    try:
        encoded = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return event
    return encoded if json.loads(encoded) == event else event


def _empty(subscriber: queue.Queue[Event]) -> None:
    """Free what a dropped subscriber will never read."""
    while True:
        try:
            subscriber.get_nowait()
        except queue.Empty:
            return
