"""NfcCardReader against a real nfcpy peer: a second ContactlessFrontend on nfcpy's UDP driver
emulates a FeliCa (NFC Forum Type 3) card carrying an NDEF text record with a patron id.

The emulator binds the UDP port and answers the reader's polling the way a card in the
field would; ending the emulation is the card leaving the field. nfcpy's emulator listens
in windows (0.5 s here) and drops a command that lands on a window's edge, much like a card
at the edge of a real field: NfcCardReader's second NDEF read after a presence check is
what keeps the patron id from being lost then.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

nfc = pytest.importorskip("nfc")
ndef = pytest.importorskip("ndef")

from drivers import nfc_card  # noqa: E402
from drivers.interfaces import CardEvent, DeviceState, DeviceUnavailable  # noqa: E402
from drivers.nfc_card import NfcCardReader  # noqa: E402
from drivers.registry import open_device  # noqa: E402

IDM = bytes.fromhex("03FEFFE011223344")
PMM = bytes.fromhex("01E0000000FFFF00")
SYSTEM_CODE = bytes.fromhex("12FC")  # NDEF on FeliCa
PATRON_ID = "P-000123"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))  # the emulator binds 0.0.0.0:port
        port: int = sock.getsockname()[1]
        return port


def type3_memory(message: bytes) -> bytearray:
    """NFC Forum Type 3 Tag memory: the attribute block, then the NDEF data blocks."""
    area = bytearray(message) + bytearray(-len(message) % 16)
    attributes = bytearray(16)
    attributes[0] = 0x10  # mapping version 1.0
    attributes[1] = 4  # blocks per read
    attributes[2] = 1  # blocks per write
    attributes[3:5] = struct.pack(">H", len(area) // 16)
    attributes[11:14] = len(message).to_bytes(3, "big")
    attributes[10] = 0x00  # read-only
    attributes[14:16] = struct.pack(">H", sum(attributes[:14]))
    return attributes + area


@dataclass
class EmulatedCard:
    """A thread running nfcpy's card-emulation loop until ``leave()``."""

    port: int
    text: str
    stop: threading.Event = field(default_factory=threading.Event)
    reader_seen: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> EmulatedCard:
        message = b"".join(ndef.message_encoder([ndef.TextRecord(self.text)]))
        memory = type3_memory(message)
        frontend = nfc.ContactlessFrontend(f"udp:127.0.0.1:{self.port}")

        def on_startup(target: Any) -> Any:
            target.brty = "212F"
            target.sensf_res = b"\x01" + IDM + PMM + SYSTEM_CODE
            return target

        def read_block(block: int, rb: Any, re: Any) -> bytes | None:
            if block < len(memory) // 16:
                return bytes(memory[block * 16 : (block + 1) * 16])
            return None

        def on_connect(tag: Any) -> bool:
            tag.add_service(0x0009, read_block, lambda *args: False)
            tag.add_service(0x000B, read_block, lambda *args: False)
            self.reader_seen.set()
            return True

        def run() -> None:
            # A card lying on a reader is powered again whenever the reader's field comes
            # back (nfcpy ends an emulation when the reader switches its field off).
            try:
                while not self.stop.is_set():
                    frontend.connect(
                        card={
                            "on-startup": on_startup,
                            "on-connect": on_connect,
                            "on-release": lambda tag: True,
                            "timeout": 0.5,
                        },
                        terminate=self.stop.is_set,
                    )
            finally:
                frontend.close()

        self.thread = threading.Thread(target=run, name="emulated-card", daemon=True)
        self.thread.start()
        return self

    def leave(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(10)
            assert not self.thread.is_alive(), "card emulation did not end"


def next_event(reader: NfcCardReader, within: float) -> CardEvent:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        event = reader.poll(timeout=deadline - time.monotonic())
        if event is not None:
            return event
    pytest.fail(f"no card event within {within} s")


@pytest.fixture
def port() -> int:
    return free_udp_port()


@pytest.fixture
def reader(port: int) -> Iterator[NfcCardReader]:
    device = open_device(f"nfc://udp:127.0.0.1:{port}?targets=212F&interval=0.1")
    assert isinstance(device, NfcCardReader)
    device.open()
    yield device
    device.close()


def test_reader_reports_emulated_card_with_its_patron_id_then_its_removal(
    reader: NfcCardReader, port: int
) -> None:
    assert reader.state is DeviceState.READY
    assert reader.poll(timeout=0.2) is None  # nothing in the field yet

    card = EmulatedCard(port, PATRON_ID).start()
    try:
        arrived = next_event(reader, within=15)
    finally:
        card.leave()
    assert arrived == CardEvent(present=True, uid=IDM, technology="FeliCa", text=PATRON_ID)

    left = next_event(reader, within=15)
    assert left.present is False
    assert left.uid == IDM
    assert reader.state is DeviceState.READY


def test_reader_keeps_sensing_after_a_card_leaves(reader: NfcCardReader, port: int) -> None:
    for patron in ("P-1", "P-2"):
        card = EmulatedCard(port, patron).start()
        try:
            arrived = next_event(reader, within=15)
        finally:
            card.leave()
        assert (arrived.present, arrived.text) == (True, patron)
        assert next_event(reader, within=15).present is False


def test_close_ends_the_reader_thread_while_a_card_is_on_it(port: int) -> None:
    reader = NfcCardReader(f"nfc://udp:127.0.0.1:{port}?targets=212F")
    reader.open()
    card = EmulatedCard(port, PATRON_ID).start()
    try:
        assert next_event(reader, within=15).present is True
        started = time.monotonic()
        reader.close()
        assert time.monotonic() - started < 5
        assert reader.state is DeviceState.CLOSED
    finally:
        card.leave()


def test_missing_reader_is_unavailable_then_recovers(
    monkeypatch: pytest.MonkeyPatch, port: int
) -> None:
    """A reader that is not there at first (open fails) comes up by itself once plugged in."""
    plugged = threading.Event()
    real_open = nfc_card._open_frontend

    def open_when_plugged(path: str) -> Any:
        return real_open(path) if plugged.is_set() else None

    monkeypatch.setattr(nfc_card, "_open_frontend", open_when_plugged)
    reader = NfcCardReader(f"nfc://udp:127.0.0.1:{port}?targets=212F")
    try:
        with pytest.raises(DeviceUnavailable):
            reader.open()
        assert reader.state is DeviceState.UNAVAILABLE
        with pytest.raises(DeviceUnavailable):
            reader.poll(timeout=0.1)

        plugged.set()
        card = EmulatedCard(port, PATRON_ID).start()
        try:
            deadline = time.monotonic() + 20
            event = None
            while event is None and time.monotonic() < deadline:
                try:
                    event = reader.poll(timeout=5)
                except DeviceUnavailable:
                    continue
            assert event is not None and event.text == PATRON_ID
            assert reader.state is DeviceState.READY
        finally:
            card.leave()
    finally:
        reader.close()


class FailingFrontend:
    """A real frontend whose ``connect`` ends the way nfcpy's does on an I/O error, on demand."""

    def __init__(self, real: Any, fail: threading.Event) -> None:
        self.real = real
        self.fail = fail

    def connect(self, **options: Any) -> Any:
        terminate = options["terminate"]
        options["terminate"] = lambda: self.fail.is_set() or terminate()
        result = self.real.connect(**options)
        if self.fail.is_set():
            self.fail.clear()
            return False  # nfcpy catches the IOError of a vanished reader, logs it, returns False
        return result

    def close(self) -> None:
        self.real.close()


def test_reader_that_fails_while_serving_is_reopened(
    monkeypatch: pytest.MonkeyPatch, port: int
) -> None:
    fail = threading.Event()
    opened: list[FailingFrontend] = []
    real_open = nfc_card._open_frontend

    def open_failing(path: str) -> Any:
        frontend = FailingFrontend(real_open(path), fail)
        opened.append(frontend)
        return frontend

    monkeypatch.setattr(nfc_card, "_open_frontend", open_failing)
    reader = NfcCardReader(f"nfc://udp:127.0.0.1:{port}?targets=212F&interval=0.1")
    reader.open()
    card = EmulatedCard(port, PATRON_ID).start()
    try:
        assert next_event(reader, within=15).present is True
        fail.set()
        gone = next_event(reader, within=15)  # the card is not known to be there any more
        assert (gone.present, gone.uid) == (False, IDM)
        back = next_event(reader, within=15)  # the reopened reader finds it again
        assert (back.present, back.text) == (True, PATRON_ID)
        assert len(opened) == 2
        assert reader.state is DeviceState.READY
    finally:
        card.leave()
        reader.close()


def test_path_with_no_device_is_unavailable() -> None:
    reader = NfcCardReader("nfc://tty:MUONTRA_NO_SUCH_PORT:pn532")
    try:
        with pytest.raises(DeviceUnavailable):
            reader.open()
        assert reader.state is DeviceState.UNAVAILABLE
    finally:
        reader.close()
    assert reader.state is DeviceState.CLOSED
