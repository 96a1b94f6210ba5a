"""Receipt wording in Vietnamese and English, and the receipt laid out as lines of text.

The wording lives in one plain dict per language, side by side, so a
translator sees every string at once and a unit test fails the moment a key
(or a ``{placeholder}``) exists in one language and not the other. Every
channel starts from :func:`render_lines`: the printer, the e-mail body and
anything else show the same lines.

Vietnamese has no plural forms, so its ``*_one`` and ``*_other`` strings are
the same; English needs both.
"""

from __future__ import annotations

import textwrap
import unicodedata
from datetime import date, datetime

from engine.receipts.model import Language, Receipt, ReceiptLine

DEFAULT_WIDTH = 42
"""Characters per line: 80 mm paper in the printer's font A leaves room for 42 plus margins."""

VI: dict[str, str] = {
    "datetime_format": "%d/%m/%Y %H:%M",
    "date_format": "%d/%m/%Y",
    "site": "Chi nhánh: {site}",
    "device": "Thiết bị: {device}",
    "when": "Thời gian: {when}",
    "transaction": "Mã giao dịch: {transaction}",
    "patron": "Bạn đọc: {patron}",
    "kind_checkout": "Phiếu mượn sách",
    "kind_return": "Phiếu trả sách",
    "kind_renew": "Phiếu gia hạn",
    "barcode": "Mã vạch: {barcode}",
    "due": "Hạn trả: {due}",
    "failed": "Không thành công: {message}",
    "failed_plain": "Không thành công",
    "checking": "Đang kiểm tra với hệ thống thư viện",
    "total_checking_one": "Đang kiểm tra: {count} cuốn",
    "total_checking_other": "Đang kiểm tra: {count} cuốn",
    "total_checkout_one": "Đã mượn {count} cuốn",
    "total_checkout_other": "Đã mượn {count} cuốn",
    "total_return_one": "Đã trả {count} cuốn",
    "total_return_other": "Đã trả {count} cuốn",
    "total_renew_one": "Đã gia hạn {count} cuốn",
    "total_renew_other": "Đã gia hạn {count} cuốn",
    "total_failed_one": "Không thành công: {count} cuốn",
    "total_failed_other": "Không thành công: {count} cuốn",
    "ask_staff": "Vui lòng liên hệ thủ thư để được hỗ trợ.",
    "thanks": "Cảm ơn bạn!",
    "subject": "{kind} – {library}",
    "qr_alt": "Mã QR của phiếu",
    "error_paper": "Không in được phiếu. Vui lòng liên hệ thủ thư.",
    "error_email": "Không gửi được phiếu qua e-mail. Vui lòng thử lại hoặc liên hệ thủ thư.",
    "error_address": "Địa chỉ e-mail không hợp lệ. Vui lòng kiểm tra lại.",
}

EN: dict[str, str] = {
    "datetime_format": "%Y-%m-%d %H:%M",
    "date_format": "%Y-%m-%d",
    "site": "Branch: {site}",
    "device": "Device: {device}",
    "when": "Time: {when}",
    "transaction": "Transaction: {transaction}",
    "patron": "Patron: {patron}",
    "kind_checkout": "Checkout receipt",
    "kind_return": "Return receipt",
    "kind_renew": "Renewal receipt",
    "barcode": "Barcode: {barcode}",
    "due": "Due: {due}",
    "failed": "Not done: {message}",
    "failed_plain": "Not done",
    "checking": "Being checked with the library system",
    "total_checking_one": "{count} item being checked",
    "total_checking_other": "{count} items being checked",
    "total_checkout_one": "{count} item checked out",
    "total_checkout_other": "{count} items checked out",
    "total_return_one": "{count} item returned",
    "total_return_other": "{count} items returned",
    "total_renew_one": "{count} item renewed",
    "total_renew_other": "{count} items renewed",
    "total_failed_one": "{count} item not done",
    "total_failed_other": "{count} items not done",
    "ask_staff": "Please ask library staff for help.",
    "thanks": "Thank you!",
    "subject": "{kind} – {library}",
    "qr_alt": "QR code of this receipt",
    "error_paper": "The receipt could not be printed. Please ask library staff.",
    "error_email": "The receipt could not be e-mailed. Please try again or ask library staff.",
    "error_address": "That e-mail address does not look right. Please check it.",
}

TEMPLATES: dict[Language, dict[str, str]] = {"vi": VI, "en": EN}


def text(language: Language, key: str, **values: object) -> str:
    """One string of ``language`` with its placeholders filled in."""
    return TEMPLATES[language][key].format(**values)


def clean(value: str) -> str:
    """``value`` in NFC on one line, with control characters gone.

    NFC because catalogue records often arrive decomposed (a letter followed
    by combining marks), which wraps at the wrong width and prints badly on
    fonts without a shaping engine; one line because a title or an ILS message
    must never add lines, headers or printer commands of its own.
    """
    normal = unicodedata.normalize("NFC", value)
    visible = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in normal)
    return " ".join(visible.split())


def clean_title(title: str) -> str:
    """A title without the ISBD punctuation ("Truyện Kiều /") MARC records end it with."""
    return clean(title).rstrip(" /:;=,").strip() or clean(title)


def format_when(language: Language, when: datetime) -> str:
    return when.strftime(TEMPLATES[language]["datetime_format"])


def format_due(language: Language, due: date) -> str:
    return due.strftime(TEMPLATES[language]["date_format"])


def kind_title(receipt: Receipt) -> str:
    """The receipt's heading and e-mail subject: "Phiếu mượn sách", "Return receipt", …"""
    return text(receipt.language, f"kind_{receipt.kind}")


def render_lines(receipt: Receipt, width_chars: int = DEFAULT_WIDTH) -> list[str]:
    """The receipt as lines of at most ``width_chars`` characters, in the receipt's language."""
    if width_chars < 16:
        raise ValueError(f"{width_chars} characters is too narrow for a receipt")
    lang = receipt.language
    page = _Page(width_chars)
    page.add(clean(receipt.library_name))
    page.add(text(lang, "site", site=clean(receipt.site)))
    page.add(text(lang, "device", device=clean(receipt.device_id)))
    page.add(text(lang, "when", when=format_when(lang, receipt.when)))
    page.add(text(lang, "transaction", transaction=clean(receipt.transaction_id)))
    page.add(text(lang, "patron", patron=clean(receipt.patron_display)))
    page.rule()
    page.add(kind_title(receipt))
    page.rule()
    for number, line in enumerate(receipt.lines, start=1):
        _add_item(page, lang, number, line)
    page.rule()
    done = sum(1 for line in receipt.lines if line.ok)
    checking = sum(1 for line in receipt.lines if line.checking)
    failed = len(receipt.lines) - done - checking
    page.add(_count(lang, f"total_{receipt.kind}", done))
    if checking:
        page.add(_count(lang, "total_checking", checking))
    if failed:
        page.add(_count(lang, "total_failed", failed))
    if failed or checking:
        page.add(text(lang, "ask_staff"))
    footer = [clean(part) for part in receipt.footer.splitlines()]
    if any(footer):
        page.rule()
        for part in footer:
            page.add(part)
    page.add(text(lang, "thanks"))
    return page.lines


class _Page:
    """Lines being laid out: wrapped at word boundaries, continuation lines indented."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []

    def rule(self) -> None:
        self.lines.append("-" * self.width)

    def add(self, line: str, indent: str = "", first: str | None = None) -> None:
        lead = indent if first is None else first
        self.lines.extend(
            textwrap.wrap(
                line,
                self.width,
                initial_indent=lead,
                subsequent_indent=indent,
                break_long_words=True,
                break_on_hyphens=False,
            )
            or [lead.rstrip()]
        )


def _add_item(page: _Page, lang: Language, number: int, line: ReceiptLine) -> None:
    first = f"{number}. "
    indent = " " * len(first)
    page.add(clean_title(line.title), indent=indent, first=first)
    page.add(text(lang, "barcode", barcode=clean(line.item_id)), indent=indent)
    if line.checking:
        page.add(text(lang, "checking"), indent=indent)
    elif not line.ok:
        message = clean(line.message)
        failure = text(lang, "failed", message=message) if message else text(lang, "failed_plain")
        page.add(failure, indent=indent)
    elif line.due is not None:
        page.add(text(lang, "due", due=format_due(lang, line.due)), indent=indent)


def _count(lang: Language, key: str, count: int) -> str:
    return text(lang, f"{key}_{'one' if count == 1 else 'other'}", count=count)
