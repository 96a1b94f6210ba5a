"""The receipt of a drop at the return machine, delivered for real: printed through
python-escpos into a file, e-mailed to an aiosmtpd server on loopback, shown as a segno QR
code; the same receipt as the kiosk's (engine.receipts), of kind ``return``."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from drivers.interfaces import DeviceState
from drivers.sim.reader import item_tag
from engine.receipts.qr import parse_qr_payload
from engine.receipts.templates import render_lines
from kiosk.api import ApiClient, CommandFailed
from sorter.api import COMMANDS, SorterApiServer
from sorter.receipts import ReceiptNotOffered
from tests.integration.sorter_rig import Rig, sorter_rig

RASTER = b"\x1dv0"
"""GS v 0: the ESC/POS raster image command (Vietnamese is printed as an image)."""
PATRON = "nguyen.van.a@example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def receipts_config(port: int) -> str:
    return f"""
[receipts]
email = true
footer_vi = "Cảm ơn bạn đọc"
footer_en = "Thank you for reading"

[receipts.smtp]
host = "127.0.0.1"
port = {port}
sender = "thu-vien@example.org"
starttls = false
"""


def a_drop(rig: Rig) -> str:
    """B0001 sorted, then a card-less blank item to the exception bin: one drop."""
    drop = rig.sorter.drop_begin()
    items = rig.feed([item_tag("B0001"), None], every=3.0)
    rig.wait_event("item", item_id="B0001")
    rig.wait_event("item", outcome="exception")
    rig.settle(items)
    ended = rig.sorter.drop_end()
    assert ended["drop"] == drop and len(ended["items"]) == 2
    return drop


def call(rig: Rig, cmd: str, **args: Any) -> Any:
    return COMMANDS[cmd](rig.sorter, args)


def test_the_drop_receipt_prints_mails_and_shows_as_a_qr_code(
    tmp_path: Path, smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp
    paper = tmp_path / "printer.bin"
    paper.write_bytes(b"")
    with sorter_rig(tmp_path, printer=f"escpos+file://{paper}", more=receipts_config(port)) as rig:
        assert rig.sorter.status()["receipts"] == ["print", "email", "qr"]
        drop = a_drop(rig)
        receipt = rig.sorter.drop_receipt(drop, "vi")
        assert receipt.kind == "return" and receipt.transaction_id == drop
        assert receipt.patron_display == ""  # the machine does not know the patron
        assert [(line.item_id, line.outcome) for line in receipt.lines] == [
            ("B0001", "ok"),
            ("", "failed"),
        ]
        assert receipt.lines[1].message  # why, as the wall screen said it
        assert receipt.footer == "Cảm ơn bạn đọc"

        printed = call(rig, "receipt", drop=drop, how="print")
        assert printed == {"method": "print", "delivered": True}
        job = paper.read_bytes()
        assert RASTER in job  # Vietnamese reaches the paper as an image, as at the kiosk

        mailed = call(rig, "receipt", drop=drop, how="email", email=PATRON)
        assert mailed == {"method": "email", "delivered": True}
        [envelope] = inbox.envelopes
        assert envelope.rcpt_tos == [PATRON]
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Phiếu trả sách" in text and "B0001" in text
        assert "Đã trả 1 cuốn" in text and "Không thành công: 1 cuốn" in text
        assert render_lines(receipt)[-1] in text

        shown = call(rig, "receipt", drop=drop, how="qr")
        assert shown["method"] == "qr" and shown["svg"].startswith("<svg")
        assert 'class="segno"' in shown["svg"]
        summary = parse_qr_payload(shown["payload"])
        assert summary.kind == "return" and summary.device_id == "sorter-test"
        assert [(i.item_id, i.ok) for i in summary.items if i.item_id] == [("B0001", True)]

        events = [e for e in rig.sorter.bus.history() if e["event"] == "receipt"]
        assert [e["method"] for e in events] == ["print", "email", "qr"]
    # The patron's address reached the mail server and nowhere else: none of our logs
    # (the test's mail server logs its own traffic), no event.
    ours = ("engine", "sorter", "drivers")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
    assert PATRON not in logged
    assert PATRON not in repr(rig.sorter.bus.history())


def test_a_receipt_that_cannot_be_delivered_says_so_and_the_drop_stays(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:  # no printer, no mail server
        # Paper is switched on but there is no printer: the screen does not offer it, and
        # asked for all the same it is not delivered, with the patron's reason.
        assert rig.sorter.status()["receipts"] == ["qr"]
        drop = a_drop(rig)
        printed = call(rig, "receipt", drop=drop, how="print")
        assert printed["delivered"] is False and "máy in" in printed["message"]
        # E-mail is switched off ([receipts] email = false, the default): refused.
        with pytest.raises(ReceiptNotOffered):
            call(rig, "receipt", drop=drop, how="email", email=PATRON)
        # Still there: the patron chooses another way.
        assert call(rig, "receipt", drop=drop, how="qr")["method"] == "qr"
        # No drop given: the last one ended.
        assert (
            call(rig, "receipt", how="qr")["payload"]
            == call(rig, "receipt", drop=drop, how="qr")["payload"]
        )
        failed = [e for e in rig.sorter.bus.history() if e["event"] == "receipt_failed"]
        assert [e["method"] for e in failed] == ["print"]
        assert PATRON not in repr(rig.sorter.bus.history())


def test_paper_switched_off_is_not_offered_and_refused_in_both_languages(tmp_path: Path) -> None:
    paper = tmp_path / "printer.bin"
    paper.write_bytes(b"")
    switched_off = "[receipts]\nprint = false\n"
    with sorter_rig(tmp_path, printer=f"escpos+file://{paper}", more=switched_off) as rig:
        server = SorterApiServer(tmp_path / "api.sock", rig.sorter)
        server.serve_in_thread()
        client = ApiClient(tmp_path / "api.sock", timeout=10)
        try:
            # The wall screen is not offered paper, though the machine has a printer.
            assert client.result("status")["receipts"] == ["qr"]
            drop = a_drop(rig)
            with pytest.raises(CommandFailed) as refused:
                client.result("receipt", drop=drop, how="print")
            error = refused.value.error
            assert error["code"] == "receipt_not_offered" and error["method"] == "print"
            assert "giấy" in error["vi"] and "paper" in error["en"]
            assert paper.read_bytes() == b""  # nothing went to the printer
            assert client.result("receipt", drop=drop, how="qr")["method"] == "qr"
            # The switch is the patron's receipt: staff's bin slips still print.
            emptied = client.result("empty_bin", bin="x")
            assert emptied["items"] == 1 and emptied["printed"] is True
            assert paper.read_bytes() != b""
        finally:
            client.close()
            server.close()


class SlowPaper:
    """A printer with no lock of its own that puts a job on paper line by line. The first
    job waits after its first line until a second job starts (2 s at most), so two jobs
    that the sorter did not keep apart would mix on the paper."""

    url = "test://slow-paper"
    state = DeviceState.READY

    def __init__(self) -> None:
        self.paper: list[tuple[int, str]] = []
        self.jobs = 0
        self.second_started = threading.Event()
        self._count = threading.Lock()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def print_receipt(self, lines: Sequence[str], qr: str | None = None) -> None:
        with self._count:
            self.jobs += 1
            job = self.jobs
        if job == 2:
            self.second_started.set()
        for index, line in enumerate(lines):
            self.paper.append((job, line))
            if job == 1 and index == 0:
                self.second_started.wait(2.0)


def test_two_drops_printed_at_once_come_out_one_after_the_other(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        printer = SlowPaper()
        rig.sorter.printer = printer
        drops = [a_drop(rig), a_drop(rig)]
        answers: list[Any] = []
        threads = [
            threading.Thread(
                target=lambda d=drop: answers.append(call(rig, "receipt", drop=d, how="print"))
            )
            for drop in drops
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert answers == [{"method": "print", "delivered": True}] * 2
        order = [job for job, _ in printer.paper]
        assert sorted(set(order)) == [1, 2]
        # Each job's lines in one block: 1…1 2…2, never 1 2 1.
        assert order == sorted(order), order


def test_bad_receipt_requests_get_a_clear_error(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        with pytest.raises(ValueError, match="no ended drop"):
            COMMANDS["receipt"](rig.sorter, {"how": "qr"})  # none has ended yet
        a_drop(rig)
        for args, wrong in [
            ({"drop": "no-such-drop", "how": "qr"}, "no ended drop"),
            ({"how": "fax"}, "how must be one of"),
            ({"how": 3}, "how"),
            ({"drop": ["x"], "how": "qr"}, "drop"),
            ({"how": "email", "email": 7}, "email"),
        ]:
            with pytest.raises((ValueError, TypeError), match=wrong):
                COMMANDS["receipt"](rig.sorter, args)
