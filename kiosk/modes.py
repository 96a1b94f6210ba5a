"""What the kiosk is doing between patrons and with one: its mode, as the status reports it."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """The kiosk's mode; the value is what the local API's status and events carry."""

    IDLE = "idle"
    """Waiting for a patron (a self-checkout or combined kiosk)."""
    SESSION = "session"
    """A patron is identified: items on the pad are lent to them."""
    RETURN = "return"
    """Items on the pad are returned (a return station, or a patron chose return)."""
