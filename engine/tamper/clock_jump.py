"""A clock jump: the wall clock moved against the monotonic one. ``clock_jump``.

Loans are dated, the journal's replay is dated, TLS certificates and signed
commands expire by the wall clock: setting a device's clock back (or forward) is
a way to make an expired command valid again or a loan look older. The
monotonic clock cannot be set, so the difference between the two is constant
while nobody touches the time; NTP slews it by milliseconds. A change of that
difference beyond ``threshold`` seconds between two checks is a jump, reported
with its size (``jump_s``) and ``direction`` (forward, backward).

Each check takes a fresh baseline, so a slow drift never adds up to an event and
one jump is reported once. A Pi without a real-time clock jumps forward when it
first reaches an NTP server after boot: a forward jump soon after the daemon
started is that, most likely (docs/security.md tells staff how to tell).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat

__all__ = ["BACKWARD", "FORWARD", "ClockJumpWatch"]

FORWARD, BACKWARD = "forward", "backward"


class ClockJumpWatch:
    def __init__(
        self,
        reporter: SecurityReporter,
        *,
        threshold: float = 5.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold <= 0:
            raise ValueError(f"the clock jump threshold must be more than 0 s, not {threshold}")
        self.reporter = reporter
        self.threshold = threshold
        self.wall = wall
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._offset = self._now_offset()

    def _now_offset(self) -> float:
        return self.wall() - self.monotonic()

    def check(self) -> float | None:
        """The jump since the last check when it is beyond the threshold (reported), else None."""
        offset = self._now_offset()
        with self._lock:
            jump = offset - self._offset
            self._offset = offset
        if abs(jump) <= self.threshold:
            return None
        direction = FORWARD if jump > 0 else BACKWARD
        self.reporter.report(
            Threat.CLOCK_JUMP,
            Severity.WARNING,
            direction,
            jump_s=round(abs(jump), 3),
            direction=direction,
        )
        return jump
