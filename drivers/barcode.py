"""Barcode scanners: serial (USB CDC / RS-232), keyboard wedge (evdev), and a simulator.

``barcode+serial:///dev/ttyACM0?baud=9600&suffix=cr``
    A scanner in serial mode sends each code followed by its suffix. ``suffix`` is
    ``cr``, ``lf``, ``crlf`` (any of CR and LF ends a code, so a scanner set to
    another of the three still works) or ``tab``. Empty codes are dropped.
``barcode+evdev:///dev/input/by-id/usb-…-event-kbd``
    A scanner in its factory "USB keyboard" mode. The device is grabbed so its
    keystrokes reach only us, not the desktop or the touchscreen's text field;
    key presses are decoded with a US layout and Enter ends a code.
``barcode+sim://NAME``
    In-process: ``scan(code)`` on any scanner of NAME queues a code for them.

Scanners get unplugged and kiosks run for months, so the serial and evdev
scanners reopen their device by themselves (with backoff) instead of failing
for good; ``read`` raises DeviceUnavailable only after waiting out its timeout.
pyserial and evdev are imported only when such a scanner is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import select
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from drivers.backoff import Backoff
from drivers.interfaces import DeviceState, DeviceUnavailable
from drivers.registry import DeviceUrl, DeviceUrlError, parse_url
from drivers.sim.named import Named

log = logging.getLogger(__name__)

SUFFIXES: dict[str, bytes] = {"cr": b"\r\n", "lf": b"\r\n", "crlf": b"\r\n", "tab": b"\t"}
"""The bytes that end a code, by ``suffix`` parameter."""


def code_ref(code: str) -> str:
    """A short reference to a scanned code for logs: it may be a patron's card number."""
    return hashlib.sha256(code.encode()).hexdigest()[:8]


class _Unavailable(Exception):
    """The scanner's device went away while reading; internal to the read loops."""


@dataclass
class CodeSplitter:
    """Sans-IO: bytes as they come off the wire in, whole codes out.

    Scanners send a code in as many USB or serial chunks as they like, and a
    fast double scan puts two codes in one chunk.
    """

    terminators: bytes = b"\r\n"
    encoding: str = "utf-8"
    _pending: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[str]:
        codes = []
        for byte in data:
            if byte in self.terminators:
                if self._pending:
                    codes.append(self._pending.decode(self.encoding, errors="replace"))
                    self._pending.clear()
            else:
                self._pending.append(byte)
        return codes


def _deadline(timeout: float) -> float:
    return time.monotonic() + max(0.0, timeout)


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


class _ReopeningScanner:
    """What both real scanners share: a read loop that survives the device leaving.

    Codes come from :meth:`_read_codes`; a device gone (``_Unavailable``) is
    dropped and reopened by path after a backoff, all within the caller's timeout.
    """

    url: str

    def __init__(self) -> None:
        self._codes: list[str] = []
        self._state = DeviceState.CLOSED
        self._backoff = Backoff()

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        raise NotImplementedError

    def _connected(self) -> bool:
        raise NotImplementedError

    def _read_codes(self, timeout: float) -> list[str]:
        raise NotImplementedError

    def _drop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._drop()
        self._state = DeviceState.CLOSED

    def read(self, timeout: float) -> str | None:
        deadline = _deadline(timeout)
        while True:
            if self._codes:
                return self._codes.pop(0)
            if not self._connected() and not self._reopen(deadline):
                if _left(deadline) <= 0:
                    raise DeviceUnavailable(f"{self.url}: scanner unavailable")
                continue
            try:
                self._codes.extend(self._read_codes(_left(deadline)))
            except _Unavailable as error:
                self._lost(str(error))
                continue
            if not self._codes and _left(deadline) <= 0:
                return None

    def _reopen(self, deadline: float) -> bool:
        """Try the device again when the backoff allows, sleeping until then within the deadline."""
        wait = self._backoff.remaining()
        if wait > _left(deadline):
            time.sleep(_left(deadline))
            return False
        time.sleep(wait)
        try:
            self.open()
        except DeviceUnavailable:
            return False
        return True

    def _lost(self, why: str) -> None:
        self._drop()
        if self._state is not DeviceState.UNAVAILABLE:
            log.warning("%s: unavailable (%s); retrying", self.url, why)
        self._state = DeviceState.UNAVAILABLE
        self._backoff.failed()


class SerialBarcodeScanner(_ReopeningScanner):
    """A BarcodeScanner on a serial port, reopened by path whenever it comes back."""

    def __init__(self, url: DeviceUrl | str) -> None:
        self.url_parts = parse_url(url) if isinstance(url, str) else url
        self.url = self.url_parts.raw
        self.port_path = self.url_parts.target
        self.baud = self.url_parts.integer("baud", 9600)
        suffix = self.url_parts.params.get("suffix", "cr").lower()
        if suffix not in SUFFIXES:
            known = "|".join(SUFFIXES)
            raise DeviceUrlError(f"{self.url}: suffix={suffix!r}, expected one of {known}")
        super().__init__()
        self._splitter = CodeSplitter(SUFFIXES[suffix])
        self._port: Any = None

    def open(self) -> None:
        if self._port is not None:
            return
        import serial

        self._state = DeviceState.CONNECTING
        try:
            self._port = serial.Serial(self.port_path, self.baud, timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as error:
            self._lost(str(error))
            raise DeviceUnavailable(f"{self.url}: {error}") from None
        self._backoff.succeeded()
        self._splitter = CodeSplitter(self._splitter.terminators)  # a half code died with the port
        self._state = DeviceState.READY
        log.info("%s: ready", self.url)

    def _connected(self) -> bool:
        return self._port is not None

    def _read_codes(self, timeout: float) -> list[str]:
        return self._splitter.feed(self._read_chunk(timeout))

    def _read_chunk(self, timeout: float) -> bytes:
        """What the port has within ``timeout``: select on its descriptor, then read it all."""
        import serial

        port = self._port
        try:
            ready, _, _ = select.select([port.fileno()], [], [], timeout)
            if not ready:
                return b""
            data: bytes = port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError) as error:
            raise _Unavailable(str(error)) from None
        if not data:  # readable yet empty: the device hung up
            raise _Unavailable("device reports readiness to read but returned no data")
        return data

    def _drop(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()


# --- keyboard wedge ---------------------------------------------------------------------

EV_KEY = 1
KEY_DOWN = 1
# Linux input key codes (linux/input-event-codes.h, a stable kernel ABI), so decoding
# needs no evdev import and can be tested anywhere.
KEY_ENTER, KEY_KPENTER, KEY_TAB = 28, 96, 15
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58

_ROWS = {
    2: "1234567890-=",
    16: "qwertyuiop[]",
    30: "asdfghjkl;'`",
    43: "\\zxcvbnm,./",
}
_SHIFTED_ROWS = {
    2: "!@#$%^&*()_+",
    16: "QWERTYUIOP{}",
    30: 'ASDFGHJKL:"~',
    43: "|ZXCVBNM<>?",
}
_KEYPAD = {
    71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+",
    79: "1", 80: "2", 81: "3", 82: "0", 83: ".", 55: "*", 98: "/",
}  # fmt: skip


def _table(rows: dict[int, str]) -> dict[int, str]:
    return {first + i: char for first, chars in rows.items() for i, char in enumerate(chars)}


KEYMAP: dict[int, str] = {**_table(_ROWS), 57: " ", **_KEYPAD}
"""Key code -> character, US layout, no modifier."""
SHIFT_KEYMAP: dict[int, str] = {**_table(_SHIFTED_ROWS), 57: " ", **_KEYPAD}
"""Key code -> character with Shift held."""


@dataclass
class KeyDecoder:
    """Sans-IO: (type, code, value) input events in, scanned codes out.

    Scanners type upper case with Shift (some toggle Caps Lock), so both are
    tracked; only key-down events type, autorepeat and key-up do not.
    """

    end_keys: frozenset[int] = frozenset({KEY_ENTER, KEY_KPENTER})
    _shift: set[int] = field(default_factory=set)
    _caps: bool = False
    _typed: list[str] = field(default_factory=list)

    def feed(self, event_type: int, code: int, value: int) -> str | None:
        """One input event; the finished code when this event was the terminating key."""
        if event_type != EV_KEY:
            return None
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if value:
                self._shift.add(code)
            else:
                self._shift.discard(code)
            return None
        if value != KEY_DOWN:
            return None
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in self.end_keys:
            typed, self._typed = "".join(self._typed), []
            return typed or None
        char = (SHIFT_KEYMAP if self._shift else KEYMAP).get(code)
        if char is None:
            log.debug("unmapped key code %d ignored", code)
            return None
        if self._caps and char.isalpha():
            char = char.swapcase()
        self._typed.append(char)
        return None

    def reset(self) -> None:
        self._shift.clear()
        self._caps = False
        self._typed.clear()


def decode_keys(
    events: Iterable[tuple[int, int, int]], decoder: KeyDecoder | None = None
) -> list[str]:
    """Every code typed by a sequence of (type, code, value) input events."""
    decoder = decoder or KeyDecoder()
    return [code for code in (decoder.feed(*event) for event in events) if code is not None]


class EvdevBarcodeScanner(_ReopeningScanner):
    """A BarcodeScanner on a keyboard-wedge scanner's input device, grabbed for itself."""

    def __init__(self, url: DeviceUrl | str) -> None:
        self.url_parts = parse_url(url) if isinstance(url, str) else url
        self.url = self.url_parts.raw
        self.device_path = self.url_parts.target
        end_keys = {KEY_ENTER, KEY_KPENTER}
        if self.url_parts.params.get("suffix", "enter").lower() == "tab":
            end_keys.add(KEY_TAB)
        super().__init__()
        self._decoder = KeyDecoder(frozenset(end_keys))
        self._device: Any = None

    def open(self) -> None:
        if self._device is not None:
            return
        import evdev

        self._state = DeviceState.CONNECTING
        device = None
        try:
            device = evdev.InputDevice(self.device_path)
            device.grab()  # keystrokes go to us only, never to a focused text field
        except OSError as error:
            if device is not None:
                device.close()
            self._lost(str(error))
            raise DeviceUnavailable(f"{self.url}: {error}") from None
        self._device = device
        self._decoder.reset()
        self._backoff.succeeded()
        self._state = DeviceState.READY
        log.info("%s: ready (grabbed)", self.url)

    def _connected(self) -> bool:
        return self._device is not None

    def _read_codes(self, timeout: float) -> list[str]:
        return decode_keys(self._read_events(timeout), self._decoder)

    def _read_events(self, timeout: float) -> list[tuple[int, int, int]]:
        device = self._device
        try:
            ready, _, _ = select.select([device.fd], [], [], timeout)
            if not ready:
                return []
            return [(event.type, event.code, event.value) for event in device.read()]
        except BlockingIOError:
            return []
        except OSError as error:  # ENODEV: unplugged
            raise _Unavailable(str(error)) from None

    def _drop(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception):
                device.ungrab()
            with contextlib.suppress(Exception):
                device.close()


# --- simulator --------------------------------------------------------------------------


class SimScanner(Named):
    """The codes waiting for ``barcode+sim://NAME``, shared by its scanners in this process.

    One queue, not one per scanner: a scan is typed once, into whichever
    scanner reads it (the engine), as a real scanner's keystrokes are.
    """

    def __init__(self) -> None:
        self.codes: queue.Queue[str] = queue.Queue()
        self.unplugged = False
        """Fault switch: scans are lost and reads raise DeviceUnavailable after their timeout."""

    def scan(self, code: str) -> None:
        if self.unplugged:
            log.debug("scan %s lost: scanner unplugged", code_ref(code))
            return
        if code:
            self.codes.put(code)


class SimBarcodeScanner:
    """``barcode+sim://NAME``: a BarcodeScanner fed by ``scan(code)`` from tests and the demo."""

    def __init__(self, url: DeviceUrl | str) -> None:
        self.url_parts = parse_url(url) if isinstance(url, str) else url
        self.url = self.url_parts.raw
        self.sim = SimScanner.named(self.url_parts.target or "scanner")
        self._state = DeviceState.CLOSED

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        if self.sim.unplugged:
            self._state = DeviceState.UNAVAILABLE
            raise DeviceUnavailable(f"{self.url}: scanner unplugged")
        self._state = DeviceState.READY

    def close(self) -> None:
        self._state = DeviceState.CLOSED

    def read(self, timeout: float) -> str | None:
        try:
            code = self.sim.codes.get(timeout=max(0.0, timeout))
        except queue.Empty:
            code = None
        if self.sim.unplugged:
            self._state = DeviceState.UNAVAILABLE
            if code is None:
                raise DeviceUnavailable(f"{self.url}: scanner unplugged")
        else:
            self._state = DeviceState.READY
        return code

    def scan(self, code: str) -> None:
        """Scan ``code`` as if a person held it under the scanner (empty codes are dropped)."""
        self.sim.scan(code)
