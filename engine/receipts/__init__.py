"""Receipts for the patron: paper, e-mail and a QR code on screen, in Vietnamese or English.

One :class:`Receipt` per transaction, rendered by :func:`render_lines` for
every channel so they all say the same thing. :mod:`engine.receipts.email`
(SMTP) is imported on its own, not from here: a kiosk without e-mail receipts
never loads it.
"""

from __future__ import annotations

from engine.receipts.model import Receipt, ReceiptDeliveryError, ReceiptLine
from engine.receipts.printing import print_receipt
from engine.receipts.qr import qr_payload, qr_png, qr_svg
from engine.receipts.templates import render_lines

__all__ = [
    "Receipt",
    "ReceiptDeliveryError",
    "ReceiptLine",
    "print_receipt",
    "qr_payload",
    "qr_png",
    "qr_svg",
    "render_lines",
]
