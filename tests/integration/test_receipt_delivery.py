"""Receipts delivered for real: to an aiosmtpd SMTP server on loopback, and to escpos+dummy.

The SMTP server is aiosmtpd's Controller on a free port of 127.0.0.1, in
plain text, with STARTTLS and with TLS from the first byte (the conftest's
self-signed certificate). The printer is the driver's escpos+dummy, whose
bytes are decoded back into the picture a thermal printer would print; the
picture is saved as receipt.png in the test's tmp_path to be looked at.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import socket
import ssl
from collections.abc import Iterator
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from PIL import Image, ImageChops

from drivers.printer import EscposPrinter
from drivers.receipt_image import render_receipt
from drivers.registry import open_device
from engine.receipts import Receipt, ReceiptDeliveryError, ReceiptLine, print_receipt, render_lines
from engine.receipts.email import EmailSettings, send_receipt
from engine.receipts.qr import qr_png
from engine.receipts.templates import EN, VI
from tests.conftest import TlsFiles

RASTER = b"\x1dv0"
"""GS v 0: the ESC/POS raster image command."""
PATRON = "nguyen.van.a@example.com"
SENDER = "thuvien@library.example.vn"


def receipt(language: str = "vi") -> Receipt:
    return Receipt(
        kind="checkout",
        device_id="kiosk-01",
        site="Hà Nội",
        library_name="Thư viện Quốc gia Việt Nam",
        when=datetime(2026, 11, 8, 14, 30),
        patron_display="Nguyễn V. A.",
        lines=(
            ReceiptLine("Truyện Kiều", "39000001234567", date(2026, 12, 8)),
            ReceiptLine("Số đỏ", "39000001234568", date(2026, 12, 8)),
            ReceiptLine("Dế Mèn phiêu lưu ký", "39000001234569", None, "failed", "Đã đặt trước"),
        ),
        language=language,  # type: ignore[arg-type]
        transaction_id="T-20261108-0001",
        footer="Giờ mở cửa: 8:00–17:00",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Inbox:
    """An aiosmtpd handler keeping every envelope; refuses one recipient on request."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.envelopes: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == self.refuse:
            # Real servers repeat the address in their answer; it must not reach our logs.
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def message(self, index: int = 0) -> EmailMessage:
        parsed = email.message_from_bytes(
            self.envelopes[index].original_content, policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        return parsed


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(refuse="nobody@example.com"), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def server_context(tls_files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files.cert, tls_files.key)
    return context


def kiosk_log(caplog: pytest.LogCaptureFixture) -> str:
    ours = ("engine", "kiosk")  # the receipts' logs, wherever the core or the role logs them
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))


def test_receipt_arrives_with_vietnamese_body_and_inline_qr(
    smtp_server: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server
    settings = EmailSettings("127.0.0.1", port, SENDER, starttls=False)
    send_receipt(settings, receipt("vi"), PATRON)

    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [PATRON]
    message = inbox.message()
    assert message["Subject"] == "Phiếu mượn sách – Thư viện Quốc gia Việt Nam"
    assert message["From"] == SENDER and message["To"] == PATRON
    assert message["Message-ID"].endswith("@library.example.vn>")
    plain = message.get_body(("plain",))
    assert plain is not None
    assert plain.get_content_charset() == "utf-8"
    body = plain.get_content().replace("\r\n", "\n")  # SMTP's line ends
    assert body == "\n".join(render_lines(receipt("vi"))) + "\n"
    assert "Hạn trả: 08/12/2026" in body and "Không thành công: Đã đặt trước" in body
    html = message.get_body(("html",))
    assert html is not None
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    image = images[0]
    assert image.get_content_disposition() == "inline"
    assert f'src="cid:{image["Content-ID"][1:-1]}"' in html.get_content()
    assert image.get_content() == qr_png(receipt("vi"))
    assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")

    log_text = kiosk_log(caplog)
    assert "n***@example.com" in log_text and PATRON not in log_text


def test_closed_port_is_a_delivery_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = EmailSettings("127.0.0.1", free_port(), SENDER, starttls=False, timeout=2)
    with pytest.raises(ReceiptDeliveryError) as caught:
        send_receipt(settings, receipt("en"), PATRON)
    assert str(caught.value) == EN["error_email"]
    assert caught.value.channel == "email"
    assert "ConnectionRefusedError" in caught.value.detail
    assert PATRON not in kiosk_log(caplog)


def test_refused_recipient_is_masked_everywhere(
    smtp_server: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server
    settings = EmailSettings("127.0.0.1", port, SENDER, starttls=False)
    with pytest.raises(ReceiptDeliveryError) as caught:
        send_receipt(settings, receipt("vi"), "nobody@example.com")
    assert str(caught.value) == VI["error_email"]
    assert "550" in caught.value.detail and "n***@example.com" in caught.value.detail
    assert "nobody@example.com" not in caught.value.detail
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "nobody@example.com" not in kiosk_log(caplog)
    assert inbox.envelopes == []


def test_starttls_asked_but_not_offered_sends_nothing(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = EmailSettings("127.0.0.1", port, SENDER, starttls=True)
    with pytest.raises(ReceiptDeliveryError) as caught:
        send_receipt(settings, receipt("vi"), PATRON)
    assert "SMTPNotSupportedError" in caught.value.detail
    assert inbox.envelopes == []


def test_starttls_and_login(tls_files: TlsFiles) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        # handled=False: aiosmtpd then answers 535 itself instead of staying silent.
        return AuthResult(success=data.password == b"bi-mat-2026", handled=False)

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ready_timeout=5,
        tls_context=server_context(tls_files),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        good = EmailSettings(
            "127.0.0.1", port, SENDER, "kiosk", "bi-mat-2026", cafile=str(tls_files.cert)
        )
        send_receipt(good, receipt("en"), PATRON)
        assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [[PATRON]]
        assert logins == [(b"kiosk", b"bi-mat-2026")]

        wrong = dataclasses.replace(good, password="sai")
        with pytest.raises(ReceiptDeliveryError) as caught:
            send_receipt(wrong, receipt("en"), PATRON)
        assert "SMTPAuthenticationError" in caught.value.detail

        untrusted = dataclasses.replace(good, cafile=None)
        with pytest.raises(ReceiptDeliveryError) as caught:
            send_receipt(untrusted, receipt("en"), PATRON)
        assert "CERTIFICATE_VERIFY_FAILED" in caught.value.detail
        assert len(inbox.envelopes) == 1
    finally:
        controller.stop()


def test_implicit_tls(tls_files: TlsFiles) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ready_timeout=5,
        ssl_context=server_context(tls_files),
    )
    controller.start()
    try:
        settings = EmailSettings(
            "127.0.0.1", port, SENDER, tls=True, starttls=False, cafile=str(tls_files.cert)
        )
        send_receipt(settings, receipt("vi"), PATRON)
        assert inbox.message()["Subject"] == "Phiếu mượn sách – Thư viện Quốc gia Việt Nam"
    finally:
        controller.stop()


def rasters(job: bytes) -> list[Image.Image]:
    """The GS v 0 images of an ESC/POS job, as black-on-white pictures."""
    pictures, at = [], 0
    while (at := job.find(RASTER, at)) >= 0:
        row_bytes = int.from_bytes(job[at + 4 : at + 6], "little")
        rows = int.from_bytes(job[at + 6 : at + 8], "little")
        data = job[at + 8 : at + 8 + row_bytes * rows]
        # A set bit prints black; in Pillow's mode "1" a set bit is white.
        pictures.append(ImageChops.invert(Image.frombytes("1", (row_bytes * 8, rows), data)))
        at += 8 + len(data)
    return pictures


def dummy_printer() -> EscposPrinter:
    printer = open_device("escpos+dummy://?width=576")
    assert isinstance(printer, EscposPrinter)
    return printer


def test_vietnamese_receipt_prints_as_a_raster_image(tmp_path: Path) -> None:
    printer = dummy_printer()
    print_receipt(printer, receipt("vi"))
    job = printer.output
    assert RASTER in job
    assert "Hạn trả".encode() not in job and b"39000001234567" not in job
    text_image, qr_image = rasters(job)
    # Twenty-odd lines of text, then the QR code: a square of ink centred on the paper.
    assert text_image.height > 20 * 24
    ink = ImageChops.invert(qr_image.convert("L")).getbbox()
    assert ink is not None
    left, top, right, bottom = ink
    assert abs((right - left) - (bottom - top)) <= 1
    assert abs((left + right) / 2 - 576 / 2) <= 8
    expected = render_receipt(render_lines(receipt("vi")), 576)
    assert ImageChops.difference(text_image.convert("L"), expected.convert("L")).getbbox() is None
    text_image.save(tmp_path / "receipt.png")
    Image.open(tmp_path / "receipt.png").verify()


def test_ascii_english_receipt_prints_as_text_with_only_the_qr_as_an_image() -> None:
    printer = dummy_printer()
    english = dataclasses.replace(
        receipt("en"),
        library_name="National Library of Vietnam",
        site="Hanoi",
        patron_display="***1234",
        lines=(ReceiptLine("The Tale of Kieu", "39000001234567", date(2026, 12, 8)),),
        footer="",
    )
    print_receipt(printer, english)
    job = printer.output
    assert b"Checkout receipt\n" in job and b"   Due: 2026-12-08\n" in job
    assert len(rasters(job)) == 1


def test_unplugged_printer_is_a_delivery_error() -> None:
    printer = dummy_printer()
    printer.unplugged = True
    with pytest.raises(ReceiptDeliveryError) as caught:
        print_receipt(printer, receipt("vi"))
    assert str(caught.value) == VI["error_paper"]
    assert "unplugged" in caught.value.detail
