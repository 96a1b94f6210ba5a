"""Who is at the kiosk: identifying a patron, checking the PIN, the offline fallback.

A patron id never leaves this module except towards the ILS and the journal:
events and logs get ``patron_ref`` (a short hash) and the display name masked
as the site configured ("first": "Hương", "initials": "N. T. H.").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from engine.identifiers import lock_key
from engine.patron_ref import PatronRefs


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


@dataclass
class PatronSession:
    id: str
    patron_id: str
    language: str
    method: str
    started: datetime
    refs: PatronRefs = field(repr=False)
    """The site's keyed reference maker (engine.patron_ref)."""
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
    closing: bool = False
    ils_patron_id: str | None = None
    """The patron id as the ILS answered it (AA), when it answered one."""

    @property
    def ref(self) -> str:
        return self.refs(self.patron_id)

    @property
    def lock_refs(self) -> tuple[str, ...]:
        """What wrong PINs are counted under: the id as read and as the ILS knows it."""
        ids = (self.patron_id, self.ils_patron_id or self.patron_id)
        return pin_lock_refs(self.refs, *ids)

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


def pin_lock_refs(refs: PatronRefs, *patron_ids: str) -> tuple[str, ...]:
    """The PIN-lock references of ``patron_ids``, one per patron however it was spelt
    (keyed with the site's key, like every other reference)."""
    return tuple(dict.fromkeys(refs("pin:" + lock_key(pid)) for pid in patron_ids))


class PinLocks(Protocol):
    """Where wrong PINs are counted (the journal's patron cache)."""

    def locked_until(self, patron_ref: str) -> datetime | None: ...
    def failed_pin(self, patron_ref: str, limit: int, lock_for: timedelta) -> int: ...
    def good_pin(self, patron_ref: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PinLockout:
    """Wrong PINs counted per patron, not per string a card or a keyboard handed in.

    A lock on any spelling of the patron (case, width) or on the id the ILS
    answered locks them all, so that "P0001", "p0001" or a card carrying
    another text for the same account cannot each get their own attempts.
    """

    locks: PinLocks
    attempts: int
    lock_for: timedelta

    def locked(self, refs: tuple[str, ...]) -> bool:
        return any(self.locks.locked_until(ref) is not None for ref in refs)

    def failed(self, refs: tuple[str, ...]) -> int:
        """Count one wrong PIN; the attempts left (0: now locked)."""
        return min(self.locks.failed_pin(ref, self.attempts, self.lock_for) for ref in refs)

    def succeeded(self, refs: tuple[str, ...]) -> None:
        for ref in refs:
            self.locks.good_pin(ref)
