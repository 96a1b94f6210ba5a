"""The staff PIN: read from the environment or a file, never written in the code.

``MUONTRA_STAFF_PIN`` holds it directly (systemd ``Environment=`` or a
credentials file); ``MUONTRA_STAFF_PIN_FILE`` (or ``--staff-pin-file``) names a
file whose first line is the PIN, so it can live in a root-owned 0600 file.
With neither, staff mode is simply unavailable on this screen.

Staff mode opens the kiosk's out-of-service switch and session reset to whoever
knows the PIN, and a staff PIN is short: after ``MAX_WRONG`` wrong PINs in a row
the gate locks, refusing every PIN (even the right one) for ``LOCKOUT_S`` seconds,
doubled at each lockout that follows without a right PIN between, up to
``LOCKOUT_MAX_S``. Five guesses a minute, then fewer and fewer, make guessing a
four-digit PIN a matter of days in front of the library's cameras. The clock is
the monotonic one (injectable), so a changed wall clock neither lifts nor
lengthens a lockout.
"""

from __future__ import annotations

import enum
import hmac
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

MAX_WRONG = 5
LOCKOUT_S = 60.0
LOCKOUT_MAX_S = 1800.0


class Verdict(enum.Enum):
    """What a staff PIN attempt gave; the value is the words the screen says."""

    OK = "ok"
    WRONG = "staff_pin_wrong"
    LOCKED = "staff_locked"


class StaffGate:
    def __init__(self, pin: str | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._pin = pin or None
        self._clock = clock
        self._wrong = 0
        self._lockouts = 0
        self._locked_until = 0.0

    @classmethod
    def from_environment(cls, file: str | Path | None = None) -> StaffGate:
        pin = os.environ.get("MUONTRA_STAFF_PIN")
        path = file or os.environ.get("MUONTRA_STAFF_PIN_FILE")
        if not pin and path:
            try:
                lines = Path(path).read_text().splitlines()
            except OSError:
                lines = []
            pin = lines[0].strip() if lines else None
        return cls(pin)

    @property
    def available(self) -> bool:
        return self._pin is not None

    def locked_for(self) -> int:
        """Whole seconds left of a lockout (0: not locked)."""
        return max(0, math.ceil(self._locked_until - self._clock()))

    def attempt(self, pin: str) -> Verdict:
        """Check a PIN, counting wrong ones; while locked nothing is compared."""
        if self._pin is None:
            return Verdict.WRONG
        if self.locked_for() > 0:
            return Verdict.LOCKED
        # Constant-time comparison, so timing says nothing about the digits.
        if hmac.compare_digest(pin.encode(), self._pin.encode()):
            self._wrong = self._lockouts = 0
            return Verdict.OK
        self._wrong += 1
        if self._wrong < MAX_WRONG:
            return Verdict.WRONG
        seconds = min(LOCKOUT_S * 2**self._lockouts, LOCKOUT_MAX_S)
        self._wrong = 0
        self._lockouts += 1
        self._locked_until = self._clock() + seconds
        log.warning(
            "staff PIN: %d wrong in a row, staff mode locked for %.0f s (lockout %d)",
            MAX_WRONG,
            seconds,
            self._lockouts,
        )
        return Verdict.LOCKED

    def check(self, pin: str) -> bool:
        return self.attempt(pin) is Verdict.OK
