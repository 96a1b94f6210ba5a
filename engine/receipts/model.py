"""What a receipt says, as frozen values, and the one error every way of delivering it raises.

A receipt is built once per transaction by the circulation code and then
handed to each channel the patron chose (paper, e-mail, QR on screen); the
channels only render it, so they can never disagree about what was lent.

The patron appears only as ``patron_display``, already masked by the caller
("Nguyễn V. A.", "***1234"): a receipt may be left on the kiosk or forwarded,
so it carries no patron id and no PIN, and nothing here could add one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

Kind = Literal["checkout", "return", "renew"]
Language = Literal["vi", "en"]
Outcome = Literal["ok", "failed", "checking"]
"""``checking``: the outcome is not known yet (the device is settling it with the ILS)."""
Channel = Literal["paper", "email"]

KINDS: tuple[Kind, ...] = ("checkout", "return", "renew")
LANGUAGES: tuple[Language, ...] = ("vi", "en")


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One item of the transaction; ``message`` says why it failed (the ILS's words or ours)."""

    title: str
    item_id: str
    due: date | None = None
    outcome: Outcome = "ok"
    message: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in ("ok", "failed", "checking"):
            raise ValueError(f"outcome must be 'ok', 'failed' or 'checking', not {self.outcome!r}")

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def checking(self) -> bool:
        return self.outcome == "checking"


@dataclass(frozen=True, slots=True)
class Receipt:
    """Everything printed, e-mailed or shown for one transaction.

    ``when`` is the local time of the kiosk, printed as given: a patron reads
    the clock on the wall, not UTC.
    """

    kind: Kind
    device_id: str
    site: str
    library_name: str
    when: datetime
    patron_display: str
    lines: tuple[ReceiptLine, ...]
    language: Language
    transaction_id: str
    footer: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {self.language!r}")
        if not isinstance(self.lines, tuple):
            # A list would make the "frozen" receipt changeable behind its back.
            raise TypeError("lines must be a tuple of ReceiptLine")


class ReceiptDeliveryError(Exception):
    """A receipt that did not reach the patron.

    ``str(error)`` is safe to show the patron on screen, in the receipt's
    language, and says what to do next; ``detail`` is for staff and logs and
    never holds the patron's address in full. The underlying exception is
    deliberately not chained where it could carry patron data (an SMTP server's
    answer often repeats the address).
    """

    def __init__(self, message: str, *, channel: Channel, detail: str = "") -> None:
        super().__init__(message)
        self.channel: Channel = channel
        self.detail = detail
