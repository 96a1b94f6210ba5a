"""SerialBarcodeScanner on a real serial port: the far end of a pseudo-terminal plays the scanner.

The URL names a symlink, as a udev rule's /dev/barcode would: unplugging removes
it and closes the pty, replugging points it at a fresh pty, and the same scanner
object must find its way back.

Also here: the keyboard-wedge (evdev) key decoding, fed synthetic key events, and the
evdev scanner's open/grab/reconnect shell on a stand-in for evdev.InputDevice (no
/dev/uinput is needed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

from drivers.barcode import (
    EV_KEY,
    KEY_CAPSLOCK,
    KEY_ENTER,
    KEY_KPENTER,
    KEY_LEFTSHIFT,
    KEY_RIGHTSHIFT,
    KEY_TAB,
    KEYMAP,
    SHIFT_KEYMAP,
    CodeSplitter,
    EvdevBarcodeScanner,
    KeyDecoder,
    SerialBarcodeScanner,
    decode_keys,
)
from drivers.interfaces import BarcodeScanner, DeviceState, DeviceUnavailable
from drivers.registry import DeviceUrlError, open_device


@dataclass
class FakeScannerPort:
    """The scanner's side of a pty, reached by the scanner through a symlink."""

    link: Path
    master: int = -1
    slave: int = -1

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        # Raw from the start: a cooked pty would turn CR into LF before the scanner opens it.
        tty.setraw(self.slave)
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))

    def unplug(self) -> None:
        self.link.unlink()
        for fd in (self.master, self.slave):
            os.close(fd)
        self.master = self.slave = -1

    def send(self, *chunks: bytes) -> None:
        for chunk in chunks:
            os.write(self.master, chunk)


@pytest.fixture
def far_end(tmp_path: Path) -> Iterator[FakeScannerPort]:
    port = FakeScannerPort(tmp_path / "barcode")
    port.plug()
    yield port
    if port.master >= 0:
        port.unplug()


def scanner_for(far_end: FakeScannerPort, suffix: str = "cr") -> SerialBarcodeScanner:
    device = open_device(f"barcode+serial://{far_end.link}?baud=9600&suffix={suffix}")
    assert isinstance(device, SerialBarcodeScanner)
    assert isinstance(device, BarcodeScanner)
    device.open()
    return device


def read_codes(scanner: SerialBarcodeScanner, count: int, within: float = 5.0) -> list[str]:
    deadline = time.monotonic() + within
    codes: list[str] = []
    while len(codes) < count and time.monotonic() < deadline:
        code = scanner.read(timeout=deadline - time.monotonic())
        if code is not None:
            codes.append(code)
    return codes


@pytest.mark.parametrize(
    ("suffix", "chunks", "expected"),
    [
        ("cr", [b"9780306406157\r"], ["9780306406157"]),
        ("cr", [b"978", b"0306", b"406157\r"], ["9780306406157"]),
        ("cr", [b"A1\rB2\r", b"C", b"3\r"], ["A1", "B2", "C3"]),
        ("lf", [b"31234000123456\n"], ["31234000123456"]),
        ("crlf", [b"P0001\r", b"\nP0002\r\n"], ["P0001", "P0002"]),
        ("cr", [b"\r\r", b"X9\r\n", b"\r"], ["X9"]),  # empty lines dropped
        ("tab", [b"T1\tT2", b"\t"], ["T1", "T2"]),
        ("cr", ["Mượn-7\r".encode()], ["Mượn-7"]),
    ],
)
def test_codes_with_each_terminator_and_chunking(
    far_end: FakeScannerPort, suffix: str, chunks: list[bytes], expected: list[str]
) -> None:
    scanner = scanner_for(far_end, suffix)
    try:
        far_end.send(*chunks)
        assert read_codes(scanner, len(expected)) == expected
        assert scanner.read(timeout=0.1) is None
    finally:
        scanner.close()


def test_read_returns_none_on_timeout_without_spinning(far_end: FakeScannerPort) -> None:
    scanner = scanner_for(far_end)
    try:
        started_wall, started_cpu = time.monotonic(), time.process_time()
        assert scanner.read(timeout=1.0) is None
        assert time.monotonic() - started_wall >= 0.99
        # A spinning read would burn about the whole second; half of it leaves room for
        # the worker's other threads on a loaded machine.
        assert time.process_time() - started_cpu < 0.5
        far_end.send(b"12")  # half a code: still nothing to return
        assert scanner.read(timeout=0.1) is None
        far_end.send(b"34\r")
        assert scanner.read(timeout=2) == "1234"
    finally:
        scanner.close()


def test_scanner_recovers_after_unplug_and_replug(far_end: FakeScannerPort) -> None:
    scanner = scanner_for(far_end)
    try:
        far_end.send(b"BEFORE\r")
        assert read_codes(scanner, 1) == ["BEFORE"]

        far_end.send(b"HALF")  # a code cut off by the unplug must not reappear
        far_end.unplug()
        with pytest.raises(DeviceUnavailable):
            scanner.read(timeout=0.5)
        assert scanner.state is DeviceState.UNAVAILABLE

        far_end.plug()
        deadline = time.monotonic() + 15
        while scanner.state is not DeviceState.READY and time.monotonic() < deadline:
            try:
                scanner.read(timeout=0.3)
            except DeviceUnavailable:
                continue
        assert scanner.state is DeviceState.READY

        far_end.send(b"AFTER\r")
        assert read_codes(scanner, 1) == ["AFTER"]
    finally:
        scanner.close()
    assert scanner.state is DeviceState.CLOSED


def test_port_missing_at_open_is_unavailable(tmp_path: Path) -> None:
    scanner = SerialBarcodeScanner(f"barcode+serial://{tmp_path}/nothing-here")
    with pytest.raises(DeviceUnavailable):
        scanner.open()
    assert scanner.state is DeviceState.UNAVAILABLE
    with pytest.raises(DeviceUnavailable):
        scanner.read(timeout=0.2)


def test_unknown_suffix_is_a_url_error() -> None:
    with pytest.raises(DeviceUrlError, match="suffix"):
        SerialBarcodeScanner("barcode+serial:///dev/ttyACM0?suffix=semicolon")


def test_code_splitter_keeps_a_code_across_chunks() -> None:
    splitter = CodeSplitter(b"\r\n")
    assert splitter.feed(b"12") == []
    assert splitter.feed(b"3\r\n45") == ["123"]
    assert splitter.feed(b"\n") == ["45"]


# --- keyboard wedge: key decoding (no device) -------------------------------------------

KEY_CODES = {
    **{str(d): 2 + (d - 1) % 10 for d in range(10)},
    **{c: i for i, c in enumerate("qwertyuiop", start=16)},
    **{c: i for i, c in enumerate("asdfghjkl", start=30)},
    **{c: i for i, c in enumerate("zxcvbnm", start=44)},
    "-": 12,
}


def press(code: int) -> list[tuple[int, int, int]]:
    return [(EV_KEY, code, 1), (0, 0, 0), (EV_KEY, code, 0), (0, 0, 0)]  # with EV_SYN


def typed(text: str, shift_key: int = KEY_LEFTSHIFT) -> list[tuple[int, int, int]]:
    """The events a scanner sends to type ``text`` (Shift held for capitals)."""
    events: list[tuple[int, int, int]] = []
    for char in text:
        code = KEY_CODES[char.lower()]
        if char.isupper():
            events += [(EV_KEY, shift_key, 1), *press(code), (EV_KEY, shift_key, 0)]
        else:
            events += press(code)
    return events


def test_keymap_matches_the_kernel_key_codes() -> None:
    ecodes = pytest.importorskip("evdev.ecodes")
    for char in "abcdefghijklmnopqrstuvwxyz0123456789":
        assert KEYMAP[getattr(ecodes, f"KEY_{char.upper()}")] == char
    assert KEYMAP[ecodes.KEY_KP7] == "7" and KEYMAP[ecodes.KEY_SLASH] == "/"
    assert SHIFT_KEYMAP[ecodes.KEY_2] == "@" and SHIFT_KEYMAP[ecodes.KEY_Z] == "Z"
    assert (KEY_ENTER, KEY_KPENTER, KEY_TAB) == (
        ecodes.KEY_ENTER,
        ecodes.KEY_KPENTER,
        ecodes.KEY_TAB,
    )
    assert (KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK) == (
        ecodes.KEY_LEFTSHIFT,
        ecodes.KEY_RIGHTSHIFT,
        ecodes.KEY_CAPSLOCK,
    )
    assert ecodes.EV_KEY == EV_KEY


def test_digits_then_enter_make_one_code() -> None:
    assert decode_keys([*typed("9780306406157"), *press(KEY_ENTER)]) == ["9780306406157"]


def test_shift_types_capitals_with_either_shift_key() -> None:
    events = [*typed("Pa-7"), *press(KEY_KPENTER), *typed("Xy", KEY_RIGHTSHIFT), *press(KEY_ENTER)]
    assert decode_keys(events) == ["Pa-7", "Xy"]


def test_caps_lock_toggles_letters_not_digits() -> None:
    events = [*press(KEY_CAPSLOCK), *typed("ab1"), *press(KEY_CAPSLOCK), *typed("c"), *press(28)]
    assert decode_keys(events) == ["AB1c"]


def test_shifted_digits_are_symbols() -> None:
    shift_2 = [(EV_KEY, KEY_LEFTSHIFT, 1), *press(3), (EV_KEY, KEY_LEFTSHIFT, 0)]
    assert decode_keys([*shift_2, *press(KEY_ENTER)]) == ["@"]


def test_autorepeat_unknown_keys_and_empty_codes_are_ignored() -> None:
    events = [
        *press(KEY_ENTER),  # nothing typed yet: no empty code
        (EV_KEY, KEY_CODES["5"], 1),
        (EV_KEY, KEY_CODES["5"], 2),  # autorepeat
        (EV_KEY, KEY_CODES["5"], 0),
        *press(183),  # KEY_F13: not part of a code
        (2, 0, 5),  # EV_REL: not a key
        *press(KEY_ENTER),
    ]
    assert decode_keys(events) == ["5"]


def test_decoder_keeps_a_code_across_event_batches() -> None:
    decoder = KeyDecoder()
    assert decode_keys(typed("12"), decoder) == []
    assert decode_keys([*typed("3"), *press(KEY_ENTER)], decoder) == ["123"]


def test_tab_ends_a_code_only_when_asked() -> None:
    events = [*typed("7"), *press(KEY_TAB), *typed("8"), *press(KEY_ENTER)]
    assert decode_keys(events) == ["78"]
    assert decode_keys(events, KeyDecoder(frozenset({KEY_ENTER, KEY_TAB}))) == ["7", "8"]


def test_evdev_scanner_missing_device_is_unavailable(tmp_path: Path) -> None:
    pytest.importorskip("evdev")
    scanner = EvdevBarcodeScanner(f"barcode+evdev://{tmp_path}/event-kbd")
    with pytest.raises(DeviceUnavailable):
        scanner.open()
    assert scanner.state is DeviceState.UNAVAILABLE
    with pytest.raises(DeviceUnavailable):
        scanner.read(timeout=0.2)
    scanner.close()
    assert scanner.state is DeviceState.CLOSED


class FakeInputDevice:
    """Stands in for evdev.InputDevice: a pipe makes its fd selectable when events wait."""

    instances: ClassVar[list[FakeInputDevice]] = []
    present: ClassVar[bool] = True

    def __init__(self, path: str) -> None:
        if not FakeInputDevice.present:
            raise FileNotFoundError(2, "No such file or directory", path)
        self.path = path
        self.read_end, self.write_end = os.pipe()
        self.fd = self.read_end
        self.grabbed = False
        self.gone = False
        self.pending: list[SimpleNamespace] = []
        FakeInputDevice.instances.append(self)

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def type(self, events: list[tuple[int, int, int]]) -> None:
        self.pending += [SimpleNamespace(type=t, code=c, value=v) for t, c, v in events]
        os.write(self.write_end, b"!")

    def unplug(self) -> None:
        self.gone = True
        os.write(self.write_end, b"!")

    def read(self) -> Iterator[SimpleNamespace]:
        if self.gone:
            raise OSError(errno.ENODEV, "No such device")
        if not self.pending:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        os.read(self.read_end, 4096)
        events, self.pending = self.pending, []
        return iter(events)

    def close(self) -> None:
        for fd in (self.read_end, self.write_end):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def fake_evdev(monkeypatch: pytest.MonkeyPatch) -> type[FakeInputDevice]:
    monkeypatch.setitem(sys.modules, "evdev", SimpleNamespace(InputDevice=FakeInputDevice))
    FakeInputDevice.instances = []
    FakeInputDevice.present = True
    return FakeInputDevice


def test_evdev_scanner_grabs_decodes_and_recovers(fake_evdev: type[FakeInputDevice]) -> None:
    scanner = open_device("barcode+evdev:///dev/input/by-id/usb-scanner-event-kbd")
    assert isinstance(scanner, EvdevBarcodeScanner)
    assert isinstance(scanner, BarcodeScanner)
    scanner.open()
    device = fake_evdev.instances[-1]
    assert device.grabbed and device.path == "/dev/input/by-id/usb-scanner-event-kbd"
    assert scanner.read(timeout=0.1) is None

    device.type([*typed("P0001"), *press(KEY_ENTER), *typed("97")])
    assert scanner.read(timeout=5) == "P0001"
    device.type([*typed("8"), *press(KEY_ENTER)])
    assert scanner.read(timeout=5) == "978"

    fake_evdev.present = False
    device.type(typed("12"))  # half a code, then the cable is pulled
    device.unplug()
    with pytest.raises(DeviceUnavailable):
        scanner.read(timeout=0.3)
    assert scanner.state is DeviceState.UNAVAILABLE

    fake_evdev.present = True
    deadline = time.monotonic() + 15
    while scanner.state is not DeviceState.READY and time.monotonic() < deadline:
        with contextlib.suppress(DeviceUnavailable):
            scanner.read(timeout=0.3)
    replugged = fake_evdev.instances[-1]
    assert replugged is not device and replugged.grabbed
    replugged.type([*typed("34"), *press(KEY_ENTER)])
    assert scanner.read(timeout=5) == "34"

    scanner.close()
    assert not replugged.grabbed
    assert scanner.state is DeviceState.CLOSED
