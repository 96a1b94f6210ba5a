"""Opening hours, per weekday, in the site's time zone.

An unplugged reader at 22:00 is the caretaker cleaning; at 10:00 it may be
someone taking the gate's antenna off the wall. So device tampering is only
reported while the library is open. The hours are read on the site's wall clock
(:class:`engine.clock.SiteClock`), because a Raspberry Pi's system clock runs on
UTC and "08:00" in Hanoi is 01:00 there.

A configuration without hours means "always open": a device that was never told
when the library closes reports every unplug rather than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

__all__ = ["WEEKDAYS", "OpeningHours", "parse_span"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Keys of ``tamper.opening_hours``, in :meth:`datetime.weekday` order."""

_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def parse_span(text: str) -> tuple[time, time | None]:
    """``"08:00-20:00"`` as (start, end); ``end`` None means midnight (``24:00``).

    ValueError names what is wrong: a span must be ``HH:MM-HH:MM`` and end after it starts.
    """
    match = _SPAN.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM (e.g. 08:00-20:00)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start = time(h1, m1)
    if h2 == 24:
        if m2 != 0:
            raise ValueError(f"{text!r}: 24:00 is the latest end")
        return start, None
    end = time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts (a span past midnight is two spans)")
    return start, end


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """When the library is open: per weekday (0 = Monday), spans of local time."""

    spans: tuple[tuple[tuple[time, time | None], ...], ...] | None
    """Seven tuples of spans; None: always open."""

    @classmethod
    def parse(cls, table: Mapping[str, Sequence[str]] | None) -> OpeningHours:
        """From ``{"mon": ["08:00-12:00", "13:30-20:00"], ...}``; a day left out is closed.

        An empty or missing table is "always open" (see the module's docstring).
        """
        if not table:
            return cls(None)
        unknown = sorted(set(table) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"not a weekday: {', '.join(unknown)} (use {', '.join(WEEKDAYS)})")
        days = tuple(tuple(parse_span(s) for s in table.get(day, ())) for day in WEEKDAYS)
        return cls(days)

    def is_open(self, local: datetime) -> bool:
        """Whether the library is open at ``local`` (the site's wall time, naive)."""
        if self.spans is None:
            return True
        now = local.time()
        for start, end in self.spans[local.weekday()]:
            if start <= now and (end is None or now < end):
                return True
        return False
