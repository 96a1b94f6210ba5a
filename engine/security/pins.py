"""Wrong PINs at one kiosk: every one counted per card, and the pattern across cards.

The per-card lockout (kiosk.patrons.PinLockout) stops one card being guessed.
Someone holding a stack of cards (or typing made-up ids) tries a few PINs on
each and never trips it; what gives them away is many *different* cards with a
wrong PIN at one kiosk in a short time. So every wrong PIN is reported as
``pin_wrong`` with the card's keyed ``patron_ref`` (central joins these across
kiosks: one card tried at several), and once ``cards`` different cards had a
wrong PIN within ``window`` seconds, ``pin_guessing`` is raised.

Hostile input: a thousand made-up cards must not grow memory. The cards
remembered are capped (:data:`MAX_CARDS`, above any threshold the config
allows) and the wrong-PIN times too (:data:`MAX_WRONG`); the reporter caps its
own subjects.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat

__all__ = ["MAX_CARDS", "MAX_WRONG", "PinWatch"]

MAX_CARDS = 1024
"""Cards remembered at once (the config allows a threshold of 1,000 at most)."""
MAX_WRONG = 4096
"""Wrong-PIN times remembered at once (for the count in ``pin_guessing``)."""


class PinWatch:
    """Counts wrong PINs at one kiosk; not thread-safe (the engine calls it under its lock)."""

    def __init__(
        self,
        reporter: SecurityReporter,
        *,
        cards: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 2 <= cards <= MAX_CARDS:
            raise ValueError(f"cards must be 2-{MAX_CARDS}, got {cards}")
        self.reporter = reporter
        self.cards = cards
        self.window = window
        self.clock = clock
        self._cards: OrderedDict[str, float] = OrderedDict()
        """patron_ref -> the time of its latest wrong PIN, oldest first."""
        self._wrong: deque[float] = deque(maxlen=MAX_WRONG)

    def wrong_pin(self, patron_ref: str) -> None:
        """One wrong PIN for the card known as ``patron_ref`` (never the patron id)."""
        now = self.clock()
        self.reporter.report(
            Threat.PIN_WRONG, Severity.INFO, ("card", patron_ref), patron_ref=patron_ref
        )
        self._cards[patron_ref] = now
        self._cards.move_to_end(patron_ref)
        self._wrong.append(now)
        self._forget(now)
        if len(self._cards) >= self.cards:
            self.reporter.report(
                Threat.PIN_GUESSING,
                Severity.CRITICAL,
                cards=len(self._cards),
                count=len(self._wrong),
            )

    def cards_seen(self) -> int:
        """Different cards with a wrong PIN in the current window (as last counted)."""
        return len(self._cards)

    def _forget(self, now: float) -> None:
        while self._cards and now - next(iter(self._cards.values())) >= self.window:
            self._cards.popitem(last=False)
        while len(self._cards) > MAX_CARDS:
            self._cards.popitem(last=False)
        while self._wrong and now - self._wrong[0] >= self.window:
            self._wrong.popleft()
