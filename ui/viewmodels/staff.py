"""The staff PIN: read from the environment or a file, never written in the code.

``MUONTRA_STAFF_PIN`` holds it directly (systemd ``Environment=`` or a
credentials file); ``MUONTRA_STAFF_PIN_FILE`` (or ``--staff-pin-file``) names a
file whose first line is the PIN, so it can live in a root-owned 0600 file.
With neither, staff mode is simply unavailable on this screen.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path


class StaffGate:
    def __init__(self, pin: str | None) -> None:
        self._pin = pin or None

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

    def check(self, pin: str) -> bool:
        """Constant-time comparison, so timing says nothing about the digits."""
        if self._pin is None:
            return False
        return hmac.compare_digest(pin.encode(), self._pin.encode())
