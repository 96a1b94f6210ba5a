"""Identifiers at the engine's edge: what a card, a barcode, the keyboard, QR or a tag hands in.

Everything a device reads goes to the ILS inside a SIP2 field. A CR in an NFC
card's text would end the message there (the rest read by the ILS as a second
message), a '|' would add a field: so every identifier is checked here, before
it reaches a session, the journal or the ILS. Drivers stay dumb and pass on
what they read; the SIP2 encoder refuses such values too, as a last line.

Two checks, in this order: a fixed one no setting can widen (no control
characters, no '|', bounded length), then the site's own pattern
(``patron.id_pattern``, ``tags.item_id_pattern``), matched in full.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from engine.config.model import DEFAULT_ID_PATTERN

MAX_LENGTH = 256
"""Longer than any identifier a library prints; bounds what a hostile device can hand in."""

MAX_PIN_LENGTH = 32

# C0 and C1 controls, DEL, and the SIP2 field separator: never part of an identifier.
_NEVER = re.compile("[\\x00-\\x1f\\x7f-\\x9f|]")


class InvalidIdentifier(ValueError):
    """An identifier refused at the edge; the message never repeats the value."""


def _checked(raw: object, pattern: re.Pattern[str], kind: str) -> str:
    if not isinstance(raw, str):
        raise InvalidIdentifier(f"{kind} is not text")
    # A scanner's suffix (CR, LF, Tab) or a card's padding around the id is no
    # part of it; anything inside the id is.
    value = raw.strip()
    if not value:
        raise InvalidIdentifier(f"{kind} is empty")
    if len(value) > MAX_LENGTH:
        raise InvalidIdentifier(f"{kind} is longer than {MAX_LENGTH} characters")
    if _NEVER.search(value):
        raise InvalidIdentifier(f"{kind} carries a control character or '|'")
    if pattern.fullmatch(value) is None:
        raise InvalidIdentifier(f"{kind} does not match the site's pattern")
    return value


@dataclass(frozen=True, slots=True)
class IdentifierRules:
    """The site's patterns, compiled once (from ``patron.id_pattern``, ``tags.item_id_pattern``)."""

    patron: re.Pattern[str]
    item: re.Pattern[str]

    @classmethod
    def from_patterns(
        cls, patron: str = DEFAULT_ID_PATTERN, item: str = DEFAULT_ID_PATTERN
    ) -> IdentifierRules:
        return cls(re.compile(patron), re.compile(item))

    def patron_id(self, raw: object) -> str:
        """The patron id in ``raw`` (surrounding spaces removed), or InvalidIdentifier."""
        return _checked(raw, self.patron, "patron id")

    def item_id(self, raw: object) -> str:
        """The item id in ``raw`` (surrounding spaces removed), or InvalidIdentifier."""
        return _checked(raw, self.item, "item id")


def check_pin(raw: object) -> str:
    """A PIN as typed: it goes into SIP2's AD field, so the same characters are refused."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_PIN_LENGTH:
        raise InvalidIdentifier("PIN is empty, too long or not text")
    if _NEVER.search(raw):
        raise InvalidIdentifier("PIN carries a control character or '|'")
    return raw


def lock_key(patron_id: str) -> str:
    """The form of a patron id that PIN attempts are counted under.

    Case and Unicode compatibility forms folded, so that "p0001", "P0001" and
    "Ｐ0001" are one patron to the lockout even where the ILS tells them apart
    (merging can only make the lockout stricter).
    """
    return unicodedata.normalize("NFKC", patron_id.strip()).casefold()
