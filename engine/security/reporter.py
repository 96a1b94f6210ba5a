"""The security events a device publishes, rate-limited per threat and subject.

A detector calls :meth:`SecurityReporter.report` every time it sees something
(each wrong PIN, each foreign tag in the field); the reporter publishes the
first sighting at once and then at most one event per ``window`` seconds for
the same threat and subject, each with the count seen so far. A hostile card
waved in front of a reader 50 times a second therefore costs the fleet one
message a minute, and the count still tells staff how hard someone tried.

The subject is whatever makes two sightings "the same thing" for that threat
(an item id, a patron_ref, a part): it is only a key here and never published,
so a detector may key on a value that must not travel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from engine.events import EventBus
from protocols.mqtt.security_schema import SECURITY_EVENT, Severity, Threat

__all__ = ["DEFAULT_WINDOW", "SecurityReporter"]

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 60.0
"""Seconds between two events about the same threat and subject."""

MAX_SUBJECTS = 4096
"""Subjects remembered at once; a flood of distinct subjects cannot grow memory past this."""

Evidence = str | int | float | bool


@dataclass(slots=True)
class _Seen:
    first: float
    last_published: float
    count: int
    published_count: int


class SecurityReporter:
    """Publishes ``security`` events on the device's bus (the MQTT bridge carries them on)."""

    def __init__(
        self,
        bus: EventBus,
        *,
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.window = window
        self.clock = clock
        self._seen: OrderedDict[tuple[Threat, Hashable], _Seen] = OrderedDict()
        # Detectors report from the engine's threads, the ILS links', paho's and the local
        # API's accept loop; one reporter serves them all.
        self._lock = threading.Lock()
        self._logged: dict[Threat, tuple[float, int]] = {}  # when last logged, events since

    def report(
        self,
        threat: Threat,
        severity: Severity,
        subject: Hashable = None,
        **evidence: Evidence,
    ) -> bool:
        """Count one sighting; publish it when it is the first in its window. True if published.

        ``evidence`` holds fields of the security schema only; ``window_s`` is
        filled here, and ``count`` too (the sightings in this window) unless the
        detector counts something else itself (PIN guessing counts wrong PINs
        across cards; a second ``count`` made this call fail with a TypeError).
        A field the schema does not know makes the fleet drop the event, so a
        detector's test sees the mistake at once.
        """
        with self._lock:
            now = self.clock()
            key = (threat, subject)
            seen = self._seen.get(key)
            if seen is None or now - seen.first >= self.window:
                self._seen.pop(key, None)
                self._forget_old(now)
                seen = _Seen(first=now, last_published=-float("inf"), count=0, published_count=0)
                self._seen[key] = seen
            else:
                # Least recently reported first: a flood of new subjects (made-up cards)
                # pushes out the quiet ones, never the one being reported all along
                # (evicting it reset its window and published it again on every report).
                self._seen.move_to_end(key)
            seen.count += 1
            if now - seen.last_published < self.window:
                return False
            seen.last_published = now
            seen.published_count = count = seen.count
            self._log(threat, severity, count, now)
        self.bus.publish(
            SECURITY_EVENT,
            threat=threat.value,
            severity=severity.value,
            window_s=self.window,
            **({"count": count} | evidence),
        )
        return True

    def _log(self, threat: Threat, severity: Severity, count: int, now: float) -> None:
        """One log line per threat per window, however many subjects: a flood of distinct
        cards or tags must not flood the journal either. The line names the threat and
        counts only: the evidence may hold a patron_ref or an item id, which the fleet
        may see but the log need not."""
        last = self._logged.get(threat)
        if last is not None and now - last[0] < self.window:
            self._logged[threat] = (last[0], last[1] + 1)
            return
        more = 0 if last is None else last[1]
        self._logged[threat] = (now, 0)
        log.warning(
            "security: %s (%s), seen %d time(s)%s",
            threat.value,
            severity.value,
            count,
            f"; {more} more event(s) of this kind not logged" if more else "",
        )

    def seen(self, threat: Threat, subject: Hashable = None) -> int:
        """How many times ``threat`` about ``subject`` was reported in its current window."""
        with self._lock:
            entry = self._seen.get((threat, subject))
            return 0 if entry is None else entry.count

    def _forget_old(self, now: float) -> None:
        # From the front, the least recently reported: O(1) per new subject, not a scan of
        # all MAX_SUBJECTS (10,000 made-up cards took seconds of CPU that way).
        while self._seen:
            oldest, entry = next(iter(self._seen.items()))
            if len(self._seen) < MAX_SUBJECTS and now - entry.first < self.window:
                return
            del self._seen[oldest]
