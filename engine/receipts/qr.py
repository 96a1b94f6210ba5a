"""The receipt as a QR code, for the patron's phone: shown on screen, printed, e-mailed.

A phone that scans it shows plain text, so the payload is a short, readable
list of what was lent and until when, and nothing about the patron: a QR on a
kiosk screen can be photographed by the next person in the queue.

It has to stay small: a version 10 code at error correction M holds 213 bytes,
and larger codes need a steadier hand and a better camera. Items are grouped
under their due date (a checkout usually gives every item the same one), so ten
items with 14-digit barcodes fit. The grammar, version 1::

    MUONTRA1 OUT 20261108T1430 kiosk-01      kind (OUT, IN, RENEW), local time, device
    20261208 39000001234567 39000001234568   a due date, then the items due then
    + 39000001234569                         items done without a due date (returns)
    - 39000001234570                         items not done
    ? 39000001234571                         items being checked (outcome not yet known)

Barcodes and the device id are percent-encoded where they hold a space, a
``%`` or anything outside printable ASCII, so the text always splits back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, unquote

import segno

from engine.receipts.model import Kind, Receipt

MAGIC = "MUONTRA1"
ERROR_LEVEL = "m"
"""Medium error correction: survives a glare spot on a screen or a smudge on paper."""
_KIND_CODES: dict[Kind, str] = {"checkout": "OUT", "return": "IN", "renew": "RENEW"}
_KINDS_BY_CODE: dict[str, Kind] = {code: kind for kind, code in _KIND_CODES.items()}
_DONE, _NOT_DONE, _CHECKING = "+", "-", "?"
_SAFE = "-._~/:+#*!$&'()=,;@"
_WHEN_FORMAT = "%Y%m%dT%H%M"


@dataclass(frozen=True, slots=True)
class QrItem:
    item_id: str
    due: date | None
    ok: bool
    checking: bool = False


@dataclass(frozen=True, slots=True)
class QrSummary:
    """What a payload says, read back (by a staff scanner, or a test)."""

    kind: Kind
    when: datetime
    device_id: str
    items: tuple[QrItem, ...]


def qr_payload(receipt: Receipt) -> str:
    """The compact text of the receipt's QR code (see the module's grammar)."""
    header = " ".join(
        (
            MAGIC,
            _KIND_CODES[receipt.kind],
            receipt.when.strftime(_WHEN_FORMAT),
            _encode(receipt.device_id),
        )
    )
    groups: dict[str, list[str]] = {}
    for line in receipt.lines:
        if line.checking:
            key = _CHECKING
        elif not line.ok:
            key = _NOT_DONE
        elif line.due is None:
            key = _DONE
        else:
            key = _due_text(line.due)
        groups.setdefault(key, []).append(_encode(line.item_id))
    body = [" ".join((key, *ids)) for key, ids in groups.items()]
    return "\n".join((header, *body))


def parse_qr_payload(payload: str) -> QrSummary:
    """The summary a payload from :func:`qr_payload` carries; ValueError if it is not one."""
    header, *groups = payload.split("\n")
    parts = header.split(" ")
    if len(parts) != 4 or parts[0] != MAGIC or parts[1] not in _KINDS_BY_CODE:
        raise ValueError("not a muontra receipt QR payload")
    when = datetime.strptime(parts[2], _WHEN_FORMAT)
    items: list[QrItem] = []
    for group in groups:
        key, *ids = group.split(" ")
        if key == _CHECKING:
            items.extend(QrItem(unquote(item_id), None, False, True) for item_id in ids)
            continue
        if key == _NOT_DONE:
            due, ok = None, False
        elif key == _DONE:
            due, ok = None, True
        else:
            if len(key) != 8 or not key.isdigit():
                raise ValueError(f"not a due date: {key!r}")
            due, ok = date(int(key[:4]), int(key[4:6]), int(key[6:])), True
        items.extend(QrItem(unquote(item_id), due, ok) for item_id in ids)
    return QrSummary(_KINDS_BY_CODE[parts[1]], when, unquote(parts[3]), tuple(items))


def qr_code(receipt: Receipt) -> segno.QRCode:
    """The segno QR code of the receipt: a full QR code (phones do not read Micro QR)."""
    return segno.make(qr_payload(receipt), error=ERROR_LEVEL, boost_error=False, micro=False)


def qr_png(receipt: Receipt, scale: int = 4) -> bytes:
    """A PNG of the code, ``scale`` pixels per module, with the standard 4-module quiet zone."""
    out = io.BytesIO()
    qr_code(receipt).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(receipt: Receipt) -> str:
    """An SVG of the code for the touchscreen, which scales it to any size without blur."""
    out = io.BytesIO()
    qr_code(receipt).save(out, kind="svg", xmldecl=False, border=4)
    return out.getvalue().decode("utf-8")


def _due_text(due: date) -> str:
    # Not strftime: it leaves years before 1000 unpadded on glibc, and the text must split back.
    return f"{due.year:04d}{due.month:02d}{due.day:02d}"


def _encode(value: str) -> str:
    return quote(value, safe=_SAFE)
