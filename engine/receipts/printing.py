"""Receipts on paper: the rendered lines and the QR payload, handed to the kiosk's printer.

The printer driver decides how to get Vietnamese onto the paper (text in a
code page, or a raster image); this module only decides what is printed, and
turns a printer that failed into the same ReceiptDeliveryError the e-mail
channel raises, so the kiosk screen handles both alike.
"""

from __future__ import annotations

import logging

from drivers.interfaces import DeviceError, ReceiptPrinter
from engine.receipts.model import Receipt, ReceiptDeliveryError
from engine.receipts.qr import qr_payload
from engine.receipts.templates import DEFAULT_WIDTH, render_lines, text

log = logging.getLogger(__name__)


def print_receipt(
    printer: ReceiptPrinter, receipt: Receipt, width_chars: int = DEFAULT_WIDTH
) -> None:
    """Print the receipt with its QR code; ReceiptDeliveryError when the printer fails.

    ``width_chars`` is for 58 mm printers that print text in a code page (32
    characters); image receipts are wrapped again by the driver to the paper's dots.
    """
    lines = render_lines(receipt, width_chars)
    try:
        printer.print_receipt(lines, qr=qr_payload(receipt))
    except DeviceError as error:
        detail = f"{type(error).__name__}: {error}"
        log.warning("receipt %s not printed on %s: %s", receipt.transaction_id, printer.url, detail)
        raise ReceiptDeliveryError(
            text(receipt.language, "error_paper"), channel="paper", detail=detail
        ) from error
    log.info("receipt %s printed on %s", receipt.transaction_id, printer.url)
