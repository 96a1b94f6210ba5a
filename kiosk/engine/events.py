"""The engine's event stream: what happened, in order, to every subscriber.

Events are small JSON-able dicts with a sequence number; the local API streams
them to the touchscreen and to scripts, the scenario runner asserts on them.
They never carry a patron id, PIN or full name (only ``patron_ref`` and the
masked display name).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from typing import Any

Event = dict[str, Any]


class EventBus:
    def __init__(self, history: int = 2000) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[queue.Queue[Event]] = []
        self._sequence = itertools.count(1)
        self._history: list[Event] = []
        self._limit = history

    def publish(self, name: str, /, **data: Any) -> Event:
        with self._lock:
            event: Event = {"event": name, "seq": next(self._sequence), "time": time.time(), **data}
            self._history.append(event)
            del self._history[: -self._limit]
            for subscriber in self._subscribers:
                subscriber.put(event)
        return event

    def subscribe(self) -> queue.Queue[Event]:
        with self._lock:
            subscriber: queue.Queue[Event] = queue.Queue()
            self._subscribers.append(subscriber)
            return subscriber

    def unsubscribe(self, subscriber: queue.Queue[Event]) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def history(self) -> list[Event]:
        with self._lock:
            return list(self._history)
