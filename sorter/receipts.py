"""The receipt of a drop: every item a patron put in, on paper, by e-mail or as a QR code.

The receipt itself is the engine's (:mod:`engine.receipts`: the same model,
layout, QR payload, printing and e-mail as the kiosk's); this module only says
how a drop becomes one. The return machine does not know who the patron is:
the receipt names no patron, and an e-mail goes to the address the patron
typed on the wall screen, which is used for that message only, never kept or
logged (the engine masks it).

An item's line: returned (sorted, or aside for staff's reasons that do not
concern the patron: a security write, a full bin), being checked (the ILS
answered late and the checkin finishes afterwards), or not done with the reason
the wall screen gave and the ILS's own words.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from engine.jsonlines import Refusal
from engine.receipts.model import Language, Receipt, ReceiptDeliveryError, ReceiptLine
from sorter.reasons import ExceptionReason
from sorter.texts import RECEIPT_NOT_OFFERED

if TYPE_CHECKING:
    from drivers.interfaces import ReceiptPrinter
    from engine.receipts.email import EmailSettings

log = logging.getLogger(__name__)

KEPT_DROPS = 32
"""Ended drops whose receipt may still be asked for (the patron chooses after the end)."""

RETURNED_ASIDE = frozenset(
    {ExceptionReason.SECURITY_NOT_VERIFIED.value, ExceptionReason.BIN_FULL.value}
)
"""Exception reasons that are staff's business: the item is returned all the same."""
CHECKING = frozenset({ExceptionReason.LATE_ILS.value})
"""The checkin finishes afterwards: the receipt cannot say yet."""

Method = Literal["print", "email", "qr"]
METHODS: tuple[Method, ...] = ("print", "email", "qr")


@dataclass(frozen=True, slots=True)
class Offered:
    """The ways of a receipt the site offers: the ``[receipts]`` switches (print, email, qr).

    A way switched off is neither shown on the wall screen (``status``'s ``receipts``)
    nor done when asked for: :class:`ReceiptNotOffered`.
    """

    paper: bool = True
    email: bool = False
    qr: bool = True

    def allows(self, method: str) -> bool:
        return {"print": self.paper, "email": self.email, "qr": self.qr}.get(method, False)


class ReceiptNotOffered(Refusal):
    """A receipt asked for in a way the site switched off; the API answers with the reason
    in both languages (code ``receipt_not_offered``)."""

    def __init__(self, method: str) -> None:
        super().__init__(method)
        text = RECEIPT_NOT_OFFERED[method]
        self.message = {
            "code": "receipt_not_offered",
            "method": method,
            "vi": text.vi,
            "en": text.en,
        }


@dataclass(frozen=True, slots=True)
class Where:
    """What a receipt says about the machine (from the device's configuration)."""

    device_id: str
    site: str
    library_name: str
    footer_vi: str = ""
    footer_en: str = ""


@dataclass(frozen=True, slots=True)
class EndedDrop:
    id: str
    items: tuple[dict[str, Any], ...]
    ended_at: datetime


class EndedDrops:
    """The last few ended drops, by id; the oldest is forgotten first."""

    def __init__(self, keep: int = KEPT_DROPS) -> None:
        self._keep = keep
        self._drops: OrderedDict[str, EndedDrop] = OrderedDict()

    def add(self, drop: EndedDrop) -> None:
        self._drops[drop.id] = drop
        while len(self._drops) > self._keep:
            self._drops.popitem(last=False)

    def get(self, drop_id: str) -> EndedDrop | None:
        return self._drops.get(drop_id)

    def last(self) -> EndedDrop | None:
        return next(reversed(self._drops.values()), None)


def _line(event: Mapping[str, Any], language: Language) -> ReceiptLine:
    item_id = str(event.get("item_id") or "")
    title = str(event.get("title") or "") or item_id or "?"
    reason = event.get("reason")
    if event.get("outcome") == "sorted" or reason in RETURNED_ASIDE:
        return ReceiptLine(title=title, item_id=item_id)
    if reason in CHECKING:
        return ReceiptLine(title=title, item_id=item_id, outcome="checking")
    said = event.get("text")
    message = str(said.get(language, "")) if isinstance(said, Mapping) else ""
    ils = str(event.get("ils_message") or "")
    if ils:
        message = f"{message} ({ils})" if message else ils
    return ReceiptLine(title=title, item_id=item_id, outcome="failed", message=message)


def build_receipt(drop: EndedDrop, where: Where, language: Language) -> Receipt:
    """The drop as the engine's receipt (kind ``return``), in ``language``."""
    return Receipt(
        kind="return",
        device_id=where.device_id,
        site=where.site,
        library_name=where.library_name,
        when=drop.ended_at,
        patron_display="",  # the machine does not know who dropped the items
        lines=tuple(_line(event, language) for event in drop.items),
        language=language,
        transaction_id=drop.id,
        footer=where.footer_en if language == "en" else where.footer_vi,
    )


def deliver_receipt(
    receipt: Receipt,
    method: str,
    printer: ReceiptPrinter | None,
    email: EmailSettings | None,
    address: str | None,
    *,
    offered: Offered | None = None,
    printer_lock: threading.Lock | None = None,
) -> dict[str, Any]:
    """Deliver ``receipt`` as the patron chose; the answer is the kiosk's receipt answer.

    A way the site switched off (``offered``) is refused (:class:`ReceiptNotOffered`).
    A channel that is not there or fails answers ``delivered: False`` with a message
    the patron can read (in the receipt's language); nothing else is lost.
    ``printer_lock`` is held for the whole job: two drops' receipts, or a receipt and a
    bin slip, asked for at once come out one after the other, never mixed on the paper.
    """
    if method not in METHODS:
        raise ValueError(f"how must be one of {', '.join(METHODS)}, got {method!r}")
    if offered is not None and not offered.allows(method):
        raise ReceiptNotOffered(method)
    # The delivery's libraries (segno, the mail client) are loaded at the first receipt,
    # not with the machine: most drops end without one (bench/sorter.py's memory goal).
    from engine.receipts.email import send_receipt
    from engine.receipts.printing import print_receipt
    from engine.receipts.qr import qr_payload, qr_svg

    try:
        if method == "qr":
            return {"method": "qr", "payload": qr_payload(receipt), "svg": qr_svg(receipt)}
        if method == "print":
            if printer is None:
                raise ReceiptDeliveryError(_NO_PRINTER[receipt.language], channel="paper")
            with printer_lock or nullcontext():
                print_receipt(printer, receipt)
        else:
            if email is None:
                raise ReceiptDeliveryError(_NO_EMAIL[receipt.language], channel="email")
            send_receipt(email, receipt, address or "")
    except ReceiptDeliveryError as error:
        return {"method": method, "delivered": False, "message": str(error)}
    return {"method": method, "delivered": True}


_NO_PRINTER = {
    "vi": "Máy này không có máy in phiếu: hãy chọn cách khác.",
    "en": "This machine has no receipt printer: please choose another way.",
}
_NO_EMAIL = {
    "vi": "Máy này không gửi được e-mail: hãy chọn cách khác.",
    "en": "This machine cannot send e-mail: please choose another way.",
}
