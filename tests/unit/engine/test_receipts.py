"""Receipt wording and layout, the QR payload, the e-mail's shape and the paper channel's errors.

Everything here runs without a network or a printer; the real SMTP server and
the ESC/POS bytes are in tests/integration/test_receipt_delivery.py.
"""

from __future__ import annotations

import dataclasses
import io
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from drivers.interfaces import DeviceState, DeviceUnavailable
from engine.receipts import (
    Receipt,
    ReceiptDeliveryError,
    ReceiptLine,
    print_receipt,
    qr_payload,
    qr_png,
    qr_svg,
    render_lines,
)
from engine.receipts.email import EmailSettings, build_message, mask_address
from engine.receipts.qr import QrItem, parse_qr_payload, qr_code
from engine.receipts.templates import EN, TEMPLATES, VI

WHEN = datetime(2026, 11, 8, 14, 30)
DUE = date(2026, 12, 8)


def checkout(language: str = "vi", failure: str = "Sách đã được bạn đọc khác đặt trước") -> Receipt:
    return Receipt(
        kind="checkout",
        device_id="kiosk-01",
        site="Hà Nội",
        library_name="Thư viện Quốc gia Việt Nam",
        when=WHEN,
        patron_display="Nguyễn V. A.",
        lines=(
            # Decomposed, with the ISBD " /" a MARC title ends with: as ILSs send it.
            ReceiptLine(unicodedata.normalize("NFD", "Truyện Kiều /"), "39000001234567", DUE),
            ReceiptLine(
                "Số đỏ: tiểu thuyết của Vũ Trọng Phụng, bản in lần thứ hai", "39000001234568", DUE
            ),
            ReceiptLine("Dế Mèn phiêu lưu ký", "39000001234569", None, "failed", failure),
        ),
        language=language,  # type: ignore[arg-type]
        transaction_id="T-20261108-0001",
        footer="Giờ mở cửa: 8:00–17:00, từ thứ Hai đến thứ Bảy",
    )


def test_vietnamese_checkout_receipt_exact_lines() -> None:
    assert render_lines(checkout("vi")) == [
        "Thư viện Quốc gia Việt Nam",
        "Chi nhánh: Hà Nội",
        "Thiết bị: kiosk-01",
        "Thời gian: 08/11/2026 14:30",
        "Mã giao dịch: T-20261108-0001",
        "Bạn đọc: Nguyễn V. A.",
        "------------------------------------------",
        "Phiếu mượn sách",
        "------------------------------------------",
        "1. Truyện Kiều",
        "   Mã vạch: 39000001234567",
        "   Hạn trả: 08/12/2026",
        "2. Số đỏ: tiểu thuyết của Vũ Trọng Phụng,",
        "   bản in lần thứ hai",
        "   Mã vạch: 39000001234568",
        "   Hạn trả: 08/12/2026",
        "3. Dế Mèn phiêu lưu ký",
        "   Mã vạch: 39000001234569",
        "   Không thành công: Sách đã được bạn đọc",
        "   khác đặt trước",
        "------------------------------------------",
        "Đã mượn 2 cuốn",
        "Không thành công: 1 cuốn",
        "Vui lòng liên hệ thủ thư để được hỗ trợ.",
        "------------------------------------------",
        "Giờ mở cửa: 8:00–17:00, từ thứ Hai đến thứ",
        "Bảy",
        "Cảm ơn bạn!",
    ]


def test_english_checkout_receipt_exact_lines() -> None:
    assert render_lines(checkout("en", failure="On hold for another patron")) == [
        "Thư viện Quốc gia Việt Nam",
        "Branch: Hà Nội",
        "Device: kiosk-01",
        "Time: 2026-11-08 14:30",
        "Transaction: T-20261108-0001",
        "Patron: Nguyễn V. A.",
        "------------------------------------------",
        "Checkout receipt",
        "------------------------------------------",
        "1. Truyện Kiều",
        "   Barcode: 39000001234567",
        "   Due: 2026-12-08",
        "2. Số đỏ: tiểu thuyết của Vũ Trọng Phụng,",
        "   bản in lần thứ hai",
        "   Barcode: 39000001234568",
        "   Due: 2026-12-08",
        "3. Dế Mèn phiêu lưu ký",
        "   Barcode: 39000001234569",
        "   Not done: On hold for another patron",
        "------------------------------------------",
        "2 items checked out",
        "1 item not done",
        "Please ask library staff for help.",
        "------------------------------------------",
        "Giờ mở cửa: 8:00–17:00, từ thứ Hai đến thứ",
        "Bảy",
        "Thank you!",
    ]


@pytest.mark.parametrize(
    ("kind", "language", "heading", "total"),
    [
        ("return", "vi", "Phiếu trả sách", "Đã trả 1 cuốn"),
        ("return", "en", "Return receipt", "1 item returned"),
        ("renew", "vi", "Phiếu gia hạn", "Đã gia hạn 1 cuốn"),
        ("renew", "en", "Renewal receipt", "1 item renewed"),
    ],
)
def test_return_and_renew_headings_and_totals(
    kind: str, language: str, heading: str, total: str
) -> None:
    receipt = dataclasses.replace(
        checkout(language),
        kind=kind,  # type: ignore[arg-type]
        lines=(ReceiptLine("Lão Hạc", "39000000000001"),),
        footer="",
    )
    lines = render_lines(receipt)
    assert lines[7] == heading
    assert lines[-2:] == [total, VI["thanks"] if language == "vi" else EN["thanks"]]
    assert not any("Hạn trả" in line or "Due:" in line for line in lines)


def test_every_key_and_placeholder_exists_in_both_languages() -> None:
    assert set(TEMPLATES) == {"vi", "en"}
    assert set(VI) - set(EN) == set(), "keys only in Vietnamese"
    assert set(EN) - set(VI) == set(), "keys only in English"
    for key in VI:
        fields_vi = {name for _, name, _, _ in string.Formatter().parse(VI[key]) if name}
        fields_en = {name for _, name, _, _ in string.Formatter().parse(EN[key]) if name}
        assert fields_vi == fields_en, key


def test_templates_are_nfc_and_vietnamese_has_its_diacritics() -> None:
    for language, strings in TEMPLATES.items():
        for key, value in strings.items():
            assert unicodedata.normalize("NFC", value) == value, (language, key)
    assert VI["kind_checkout"] == "Phiếu mượn sách"
    assert VI["thanks"] == "Cảm ơn bạn!"
    assert VI["due"] == "Hạn trả: {due}"


def test_every_line_fits_the_width_and_is_nfc() -> None:
    receipt = dataclasses.replace(
        checkout("vi"),
        lines=(ReceiptLine("X" * 100, "4" * 50, DUE),),
    )
    for width in (16, 32, 42, 48):
        for line in render_lines(receipt, width):
            assert len(line) <= width
            assert unicodedata.normalize("NFC", line) == line


def test_control_characters_in_catalogue_data_never_make_lines_of_their_own() -> None:
    receipt = dataclasses.replace(
        checkout("en"),
        lines=(ReceiptLine("Title\r\nX-Injected: yes\x1b@", "1\n2", None, "failed", "a\x00b"),),
    )
    lines = render_lines(receipt)
    assert "1. Title X-Injected: yes @" in lines
    assert "   Barcode: 1 2" in lines
    assert "   Not done: a b" in lines
    assert all(c.isprintable() for line in lines for c in line)


def test_a_failure_without_a_message_still_says_not_done() -> None:
    receipt = dataclasses.replace(
        checkout("vi"), lines=(ReceiptLine("Lão Hạc", "1", None, "failed"),)
    )
    assert "   Không thành công" in render_lines(receipt)


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="outcome"):
        ReceiptLine("t", "1", outcome="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="language"):
        dataclasses.replace(checkout(), language="fr")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tuple"):
        dataclasses.replace(checkout(), lines=[])  # type: ignore[arg-type]


def ten_items() -> Receipt:
    lines = [ReceiptLine(f"Sách {n}", f"390000012345{n:02}", DUE) for n in range(7)]
    lines.append(ReceiptLine("Sách 7", "39000001234507", date(2026, 11, 22)))
    lines.append(ReceiptLine("Sách 8", "39000001234508"))
    lines.append(ReceiptLine("Sách 9", "39000001234509", None, "failed", "Thẻ hết hạn"))
    return dataclasses.replace(checkout(), lines=tuple(lines))


def test_qr_payload_text() -> None:
    assert qr_payload(checkout()) == (
        "MUONTRA1 OUT 20261108T1430 kiosk-01\n"
        "20261208 39000001234567 39000001234568\n"
        "- 39000001234569"
    )
    assert qr_payload(ten_items()) == (
        "MUONTRA1 OUT 20261108T1430 kiosk-01\n"
        "20261208 39000001234500 39000001234501 39000001234502 39000001234503"
        " 39000001234504 39000001234505 39000001234506\n"
        "20261122 39000001234507\n"
        "+ 39000001234508\n"
        "- 39000001234509"
    )


def test_qr_payload_carries_no_patron_data_or_titles() -> None:
    payload = qr_payload(ten_items())
    for secret in ("Nguyễn", "V. A.", "Sách", "Thẻ", "T-20261108"):
        assert secret not in payload


def test_ten_items_fit_a_version_10_code_at_level_m() -> None:
    code = qr_code(ten_items())
    assert isinstance(code.version, int)
    assert code.version <= 10
    assert code.error == "M"
    assert not code.is_micro


def test_qr_payload_reads_back() -> None:
    summary = parse_qr_payload(qr_payload(ten_items()))
    assert summary.kind == "checkout"
    assert summary.when == WHEN
    assert summary.device_id == "kiosk-01"
    assert summary.items[7:] == (
        QrItem("39000001234507", date(2026, 11, 22), True),
        QrItem("39000001234508", None, True),
        QrItem("39000001234509", None, False),
    )
    with pytest.raises(ValueError):
        parse_qr_payload("https://example.com/")


_ids = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(
    device=_ids,
    items=st.lists(st.tuples(_ids, st.one_of(st.none(), st.dates()), st.booleans()), max_size=12),
    kind=st.sampled_from(["checkout", "return", "renew"]),
)
def test_qr_payload_round_trips_any_barcode(
    device: str, items: list[tuple[str, date | None, bool]], kind: str
) -> None:
    lines = tuple(
        ReceiptLine("t", item_id, due, "ok" if ok else "failed") for item_id, due, ok in items
    )
    receipt = dataclasses.replace(checkout(), kind=kind, device_id=device, lines=lines)  # type: ignore[arg-type]
    summary = parse_qr_payload(qr_payload(receipt))
    assert summary.device_id == device
    assert summary.kind == kind
    # Items come back grouped by due date: compare as multisets.
    expected = Counter((item_id, due if ok else None, ok) for item_id, due, ok in items)
    assert Counter((i.item_id, i.due, i.ok) for i in summary.items) == expected


def test_qr_png_and_svg() -> None:
    receipt = checkout()
    png = qr_png(receipt, scale=3)
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    assert picture.size == qr_code(receipt).symbol_size(scale=3)
    svg = qr_svg(receipt)
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg


def test_mask_address() -> None:
    assert mask_address("nguyen.van.a@example.com") == "n***@example.com"
    assert mask_address("  a@b.vn ") == "a***@b.vn"
    assert mask_address("not-an-address") == "***"


def test_email_message_shape() -> None:
    message = build_message(checkout("vi"), "nguyen.van.a@example.com")
    assert message["Subject"] == "Phiếu mượn sách – Thư viện Quốc gia Việt Nam"
    assert message["To"] == "nguyen.van.a@example.com"
    assert message["Content-Language"] == "vi"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content() == "\n".join(render_lines(checkout("vi"))) + "\n"
    html_text = html.get_content()
    assert "Hạn trả: 08/12/2026" in html_text and 'lang="vi"' in html_text
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    assert images[0].get_content_disposition() == "inline"
    assert f'src="cid:{images[0]["Content-ID"][1:-1]}"' in html_text
    assert images[0].get_content() == qr_png(checkout("vi"))


@pytest.mark.parametrize(
    "address",
    [
        "",
        "nguyen",
        "a@b",
        "a b@example.com",
        "a@example.com, b@example.com",
        "a@example.com,b@example.com",
        "a@example.com\r\nBcc: x@example.com",
        "<a@example.com>",
        "@example.com",
    ],
)
def test_email_refuses_anything_but_one_plausible_address(address: str) -> None:
    with pytest.raises(ReceiptDeliveryError) as caught:
        build_message(checkout("vi"), address)
    assert str(caught.value) == VI["error_address"]
    assert caught.value.channel == "email"


def test_email_settings_refuse_credentials_smtplib_cannot_send() -> None:
    with pytest.raises(ValueError, match="password must be ASCII"):
        EmailSettings("smtp.example.vn", 587, "a@example.vn", "kiosk", "bí mật")
    settings = EmailSettings("smtp.example.vn", 587, "a@example.vn", "kiosk", "secret")
    assert "secret" not in repr(settings)


class RecordingPrinter:
    url = "test://recording"
    state = DeviceState.READY

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.jobs: list[tuple[list[str], str | None]] = []

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def print_receipt(self, lines: Sequence[str], qr: str | None = None) -> None:
        if self.error:
            raise self.error
        self.jobs.append((list(lines), qr))


def test_print_receipt_sends_lines_and_qr_payload() -> None:
    printer = RecordingPrinter()
    print_receipt(printer, checkout("vi"))
    assert printer.jobs == [(render_lines(checkout("vi")), qr_payload(checkout("vi")))]


def test_print_receipt_turns_a_device_error_into_a_delivery_error() -> None:
    printer = RecordingPrinter(DeviceUnavailable("receipt printer test://: unplugged"))
    with pytest.raises(ReceiptDeliveryError) as caught:
        print_receipt(printer, checkout("en"))
    assert str(caught.value) == EN["error_paper"]
    assert caught.value.channel == "paper"
    assert "unplugged" in caught.value.detail


def test_print_receipt_lets_programming_errors_through() -> None:
    with pytest.raises(ZeroDivisionError):
        print_receipt(RecordingPrinter(ZeroDivisionError()), checkout("en"))
