"""The engine's one clock, and the library's local time that SIP2 dates are written in.

SIP2 dates carry no usable zone: they are the ILS's local time. A kiosk whose
machine clock runs on UTC (the usual Raspberry Pi image) must therefore turn
"now" into the site's zone (``device.timezone``) before it writes a transaction
date, or an offline loan replayed in Vietnam is dated seven hours early. Every
part of the engine reads time here, so a test can fix it in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def system_now() -> datetime:
    return datetime.now(UTC)


class SiteClock:
    """``now`` gives an aware instant; :meth:`local` the site's wall time (naive, as SIP2)."""

    def __init__(self, zone: str, now: Callable[[], datetime] = system_now) -> None:
        self.zone = ZoneInfo(zone)
        self._now = now

    def utc(self) -> datetime:
        moment = self._now()
        if moment.tzinfo is None:
            raise ValueError("the engine's clock must give aware datetimes")
        return moment.astimezone(UTC)

    def local(self) -> datetime:
        """The library's wall-clock time now, naive: what SIP2 and the journal record."""
        return self.utc().astimezone(self.zone).replace(tzinfo=None)
