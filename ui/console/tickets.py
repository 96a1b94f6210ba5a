"""Which answer from central is still wanted: the newest request of each part of the screen.

Each part of the console (the sign-in, the alarms, the fleet, a device's events and
commands, the statistics) asks central again when staff choose another device, site or
period, or refresh. Over a slow line the answer to an older request can come after the
newer one's: it is stale, and drawing it would show device A's events under device B's
name. A ticket names the request (``"events#7"``); only the part's newest one is redeemed.
No Qt here: the window keeps one ``Tickets`` and asks it on every answer.
"""

from __future__ import annotations

__all__ = ["Tickets"]


class Tickets:
    def __init__(self) -> None:
        self._count = 0
        self._newest: dict[str, int] = {}

    def issue(self, part: str) -> str:
        """A ticket for a new request of ``part``; any older one of that part is now stale."""
        self._count += 1
        self._newest[part] = self._count
        return f"{part}#{self._count}"

    def redeem(self, ticket: str) -> str | None:
        """The part ``ticket`` was issued for, if it is that part's newest; None if stale.

        A redeemed ticket is spent: its part waits for nothing until it asks again.
        """
        part, _, number = ticket.partition("#")
        if not number.isdigit() or self._newest.get(part) != int(number):
            return None
        del self._newest[part]
        return part

    def waiting(self) -> frozenset[str]:
        """The parts with a request out whose answer is still wanted."""
        return frozenset(self._newest)

    def forget(self) -> None:
        """Every request out is stale (staff signed out)."""
        self._newest.clear()
