"""When to try a vanished device again: exponential backoff, never a busy loop.

A driver whose device disappeared asks ``ready()`` before each reconnect
attempt; between attempts calls fail fast with DeviceUnavailable instead of
hammering a missing USB port. ``wait()`` sleeps until the next attempt for
loops that have nothing else to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    first: float = 0.2
    limit: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _delay: float = field(default=0.0, init=False)
    _next: float = field(default=0.0, init=False)

    def ready(self) -> bool:
        return self.clock() >= self._next

    def failed(self) -> None:
        self._delay = self.first if self._delay == 0 else min(self._delay * 2, self.limit)
        self._next = self.clock() + self._delay

    def succeeded(self) -> None:
        self._delay = 0.0
        self._next = 0.0

    def remaining(self) -> float:
        return max(0.0, self._next - self.clock())

    def wait(self) -> None:
        time.sleep(self.remaining())
