"""The end of a session: the receipt the patron chose (paper, e-mail, QR code, none)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from drivers.registry import open_device
from engine.receipts.email import EmailSettings, send_receipt
from engine.receipts.model import Receipt, ReceiptDeliveryError, ReceiptLine
from engine.receipts.printing import print_receipt
from engine.receipts.qr import qr_payload, qr_svg
from kiosk.patrons import PatronSession

if TYPE_CHECKING:
    from kiosk.core import Engine


def _due(value: object) -> date | None:
    text = str(value or "").strip()
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _line_outcome(item: dict[str, Any]) -> Literal["ok", "failed", "checking"]:
    """A line is "being checked" while the device has not learnt what the ILS did."""
    if item.get("success"):
        return "ok"
    return "checking" if item.get("outcome") == "being_checked" else "failed"


def build(engine: Engine, summary: dict[str, Any]) -> Receipt:
    language = summary.get("language", engine.language)
    lines = []
    for item in summary["items"]:
        message = item.get("message", {})
        reason = message.get(language, "") if isinstance(message, dict) else ""
        if item.get("ils_message") and not item.get("success"):
            reason = f"{reason} ({item['ils_message']})" if reason else item["ils_message"]
        lines.append(
            ReceiptLine(
                title=item.get("title") or item["item_id"],
                item_id=item["item_id"],
                due=_due(item.get("due_date")) if item.get("success") else None,
                outcome=_line_outcome(item),
                message="" if item.get("success") else reason,
            )
        )
    device = engine.config.device
    receipts = engine.config.receipts
    return Receipt(
        kind="checkout",
        device_id=device.id,
        site=device.site,
        library_name=device.site,
        when=engine.clock.local(),  # the library's wall time, as printed
        patron_display=summary.get("name", ""),
        lines=tuple(lines),
        language="en" if language == "en" else "vi",
        transaction_id=summary["session"],
        footer=receipts.footer_en if language == "en" else receipts.footer_vi,
    )


def deliver(
    engine: Engine, summary: dict[str, Any], session: PatronSession | None, method: str
) -> dict[str, Any]:
    receipt = build(engine, summary)
    try:
        if method == "print":
            if not engine.config.devices.printer:
                raise ReceiptDeliveryError("no printer here", channel="paper", detail="")
            printer = open_device(engine.config.devices.printer)
            try:
                print_receipt(printer, receipt)
            finally:
                printer.close()
        elif method == "email":
            smtp = engine.config.receipts.smtp
            address = session.email if session else None
            if smtp is None or not address:
                raise ReceiptDeliveryError("no e-mail address", channel="email", detail="")
            send_receipt(
                EmailSettings(
                    host=smtp.host,
                    port=smtp.port,
                    sender=smtp.sender,
                    username=smtp.username,
                    password=smtp.password(),
                    starttls=smtp.starttls,
                    tls=smtp.tls,
                ),
                receipt,
                address,
            )
        elif method == "qr":
            return {"method": "qr", "payload": qr_payload(receipt), "svg": qr_svg(receipt)}
    except ReceiptDeliveryError as error:
        engine.bus.publish("receipt_failed", method=method, message=str(error))
        return {"method": method, "delivered": False, "message": str(error)}
    engine.bus.publish("receipt", method=method)
    return {"method": method, "delivered": method != "none"}
