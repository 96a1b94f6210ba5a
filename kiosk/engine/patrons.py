"""Who is at the kiosk: identifying a patron, checking the PIN, the offline fallback.

A patron id never leaves this module except towards the ILS and the journal:
events and logs get ``patron_ref`` (a short hash) and the display name masked
as the site configured ("first": "Hương", "initials": "N. T. H.").
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.patron_ref import PatronRefs

PBKDF2_ROUNDS = 120_000


def mask_name(name: str, style: str) -> str:
    words = name.split()
    if not words or style == "none":
        return ""
    if style == "full":
        return name
    if style == "initials":
        return " ".join(word[0] + "." for word in words)
    # Vietnamese names put the given name last; Western ones first. The ILS sends
    # "Family Given" for Vietnamese patrons, so the last word is what they are called.
    return words[-1]


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, PBKDF2_ROUNDS)
    return f"{salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str | None) -> bool:
    if not stored or "$" not in stored:
        return False
    salt, _, expected = stored.partition("$")
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), PBKDF2_ROUNDS)
    return hmac.compare_digest(digest.hex(), expected)


@dataclass
class PatronSession:
    id: str
    patron_id: str
    language: str
    method: str
    started: datetime
    refs: PatronRefs = field(repr=False)
    """The site's keyed reference maker (kiosk.patron_ref)."""
    pin: str | None = None
    verified: bool = False
    offline: bool = False
    display_name: str = ""
    patron_type: str | None = None
    email: str | None = None
    loans: list[str] = field(default_factory=list)
    loan_details: list[dict[str, object]] = field(default_factory=list)
    """Title and due date of each loan (asked per item for the account screen)."""
    holds: list[str] = field(default_factory=list)
    fines: str = ""
    screen_messages: list[str] = field(default_factory=list)
    items: dict[str, dict[str, object]] = field(default_factory=dict)
    """Item id -> what the patron sees for it (outcome, due date, message)."""
    card_uid: bytes | None = None
    offline_items: int = 0
    closing: bool = False

    @property
    def ref(self) -> str:
        return self.refs(self.patron_id)

    def public(self) -> dict[str, object]:
        """What the screen may show: no patron id, no PIN."""
        return {
            "session": self.id,
            "patron_ref": self.ref,
            "name": self.display_name,
            "language": self.language,
            "offline": self.offline,
            "verified": self.verified,
            "loans": self.loans,
            "loan_details": self.loan_details,
            "holds_ready": self.holds,
            "fines": self.fines,
            "screen_messages": self.screen_messages,
            "items": list(self.items.values()),
        }
