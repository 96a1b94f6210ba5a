"""The scenario mailbox keeps what an SMTP client hands it, and no more than its bounds."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from scenario import mailbox as mailbox_module
from scenario.mailbox import Mailbox


@pytest.fixture
def box() -> Iterator[Mailbox]:
    created = Mailbox()
    yield created
    created.close()


def test_a_message_arrives_whole_with_its_vietnamese_text(box: Mailbox) -> None:
    message = EmailMessage()
    message["Subject"] = "Biên nhận"
    message.set_content("Truyện Kiều\n.leading dot kept\nB0001")
    with smtplib.SMTP("127.0.0.1", box.port, timeout=5) as client:
        client.send_message(message, from_addr="k@example.org", to_addrs=["p@example.vn"])
    assert box.texts() == ["Truyện Kiều\n.leading dot kept\nB0001\n"]


def test_a_message_past_the_bound_is_refused_and_not_kept(
    box: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbox_module, "MAX_MESSAGE", 100)
    with (
        smtplib.SMTP("127.0.0.1", box.port, timeout=5) as client,
        pytest.raises(smtplib.SMTPDataError),
    ):
        client.sendmail("k@example.org", ["p@example.vn"], "x" * 500)
    assert box.texts() == []


def test_unknown_commands_and_a_dropped_client_leave_it_serving(box: Mailbox) -> None:
    with socket.create_connection(("127.0.0.1", box.port), timeout=5) as raw:
        raw.recv(100)
        raw.sendall(b"VRFY root\r\n")
        assert raw.recv(100).startswith(b"502")
    with smtplib.SMTP("127.0.0.1", box.port, timeout=5) as client:
        assert client.noop()[0] == 250
