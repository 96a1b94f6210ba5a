"""The ILS simulator over TCP refuses what only a field injection could send.

Replays the bytes a kiosk sent for hostile NFC card text: a CR inside the
patron id split one request into pieces, and a later piece was a whole forged
checkin (or fee payment) with a valid checksum, which the simulator acted on.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from ilssim.circulation import Circulation
from ilssim.models import Loan
from ilssim.server import SimServerThread
from ilssim.sip2_mapping import SipMapping
from protocols.sip2 import Message, SCStatusRequest, checksum, decode, encode
from protocols.sip2.framing import Framer

DATE = "20261202    101500"


def forge(body: str, sequence: int) -> str:
    """A message with a valid checksum, built by hand (encode refuses what it carries)."""
    data = f"{body}AY{sequence}AZ"
    return data + checksum(data.encode())


def patron_information(patron_id: str, pin: str) -> bytes:
    """What a kiosk of today sent for card text ``patron_id``: the id spliced in as it is."""
    body = f"63001{DATE}          AOMUONTRA|AA{patron_id}|AD{pin}|"
    return forge(body, 2).encode() + b"\r"


class Wire:
    """A bare TCP connection to the simulator that sends bytes and reads answers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.framer = Framer()
        self.pending: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self) -> Message:
        while not self.pending:
            chunk = self.sock.recv(65536)
            assert chunk, "the simulator closed the connection"
            self.pending.extend(self.framer.feed(chunk))
        return decode(self.pending.pop(0))

    def ask(self, request: Message) -> Message:
        self.send(encode(request, sequence=1))
        return self.answer()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire(circ: Circulation) -> Iterator[Wire]:
    with SimServerThread(SipMapping(circ)) as sim:
        link = Wire(sim.port)
        yield link
        link.close()


def after_the_answers(wire: Wire, count: int) -> list[str]:
    """The commands of the next ``count`` answers, then proof that nothing else came:
    a status request answered at once is the next thing on the wire."""
    commands = [wire.answer().command for _ in range(count)]
    assert wire.ask(SCStatusRequest.create()).command == "98"
    return commands


def test_a_cr_in_card_text_does_not_log_in_with_a_wrong_pin(wire: Wire) -> None:
    assert wire.ask(SCStatusRequest.create()).command == "98"
    wire.send(patron_information("P0001\rX", "0000"))
    answer = wire.answer()
    assert answer.command == "96", answer  # "send it again", never a 64 for P0001
    assert after_the_answers(wire, 0) == []


def test_a_whole_checkin_inside_card_text_checks_nothing_in(
    wire: Wire, open_loans: Callable[[str], list[Loan]]
) -> None:
    assert len(open_loans("B0010")) == 1  # on loan to P0001
    checkin = forge(f"09N{DATE}{DATE}APTT|AOMUONTRA|ABB0010|AC|", 5)
    wire.send(patron_information(f"P0001\r{checkin}\rX", "0000"))
    assert after_the_answers(wire, 1) == ["96"]
    assert len(open_loans("B0010")) == 1  # still on loan: the checkin was never acted on


def test_a_forged_fee_payment_inside_card_text_pays_nothing(wire: Wire, circ: Circulation) -> None:
    owed = circ.patron_status("P0003").fee_amount
    assert owed > 0
    payment = forge(f"37{DATE}0100VNDBV{owed}|AOMUONTRA|AAP0003|", 6)
    wire.send(patron_information(f"P0003\r{payment}\rX", "0000"))
    assert after_the_answers(wire, 1) == ["96"]
    assert circ.patron_status("P0003").fee_amount == owed


def test_a_control_character_in_a_field_is_refused_and_not_acted_on(
    wire: Wire, open_loans: Callable[[str], list[Loan]]
) -> None:
    checkout = forge(f"11NN{DATE}{DATE}AOMUONTRA|AAP0001\x1b|ABB0001|AC|", 3)
    wire.send(checkout.encode() + b"\r")
    answer = wire.answer()
    assert answer.command == "12" and answer.fixed["ok"] == "0"
    assert open_loans("B0001") == []
    assert after_the_answers(wire, 0) == []
