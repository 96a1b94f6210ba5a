"""What the engine needs from each kind of device, as small typing.Protocol interfaces.

Every implementation (simulator or real device) is opened by URL through
:mod:`drivers.registry` and is used the same way, so contract tests run one set
of cases against all of them. Methods block for at most their own timeout;
none of them busy-loops. A device that disappears raises
:class:`DeviceUnavailable` and its ``state`` says so until it comes back; the
next call reconnects.

UIDs are the 8-byte ISO 15693 UID in the order people read it (``E0`` first),
whatever order the reader uses on its wire.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class DeviceState(enum.Enum):
    CLOSED = "closed"
    CONNECTING = "connecting"
    READY = "ready"
    UNAVAILABLE = "unavailable"
    """Unplugged, powered off or not answering; the driver keeps trying to reconnect."""


class DeviceError(Exception):
    """A device operation that did not succeed."""


class DeviceUnavailable(DeviceError):
    """The device is not there (unplugged, no such port, not answering)."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class TagNotFound(DeviceError):
    """The addressed tag did not answer: it has left the field, or was misread."""


class TagError(DeviceError):
    """The tag answered with an ISO 15693 error code (block locked, not supported, …)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class TagSeen:
    """One tag in an inventory answer."""

    uid: bytes
    dsfid: int = 0
    afi: int | None = None
    """Only where the reader reports it in its inventory (else use ``system_info``)."""
    antenna: int = 1

    @property
    def uid_hex(self) -> str:
        return self.uid.hex().upper()


@dataclass(frozen=True, slots=True)
class TagInfo:
    """ISO 15693 Get System Information."""

    uid: bytes
    dsfid: int
    afi: int
    block_size: int
    block_count: int
    ic_reference: int = 0


@runtime_checkable
class TagReader(Protocol):
    """An HF RFID reader for ISO 15693 library tags."""

    url: str

    @property
    def state(self) -> DeviceState: ...

    def open(self) -> None:
        """Connect; raises :class:`DeviceUnavailable` if the device is not there."""

    def close(self) -> None: ...

    def inventory(self) -> list[TagSeen]:
        """Every tag in the field, after one inventory round (anti-collision included).

        A reader whose ``filters_afi`` is True also takes ``afi=VALUE``: an
        ISO 15693 inventory with the AFI flag, answered only by tags of that family
        (:func:`protocols.readers.iso15693.afi_answers`). Gates ask for the secured
        value, so lent books in the field cost no air time.
        """

    def system_info(self, uid: bytes) -> TagInfo: ...

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes: ...

    def write_blocks(self, uid: bytes, first: int, data: bytes) -> None:
        """Write whole blocks (``len(data)`` a multiple of the block size)."""

    def write_afi(self, uid: bytes, afi: int) -> None: ...

    def lock_afi(self, uid: bytes) -> None: ...

    def set_eas(self, uid: bytes) -> None: ...

    def reset_eas(self, uid: bytes) -> None: ...

    def eas_alarm(self, uid: bytes | None = None) -> bool:
        """NXP EAS alarm: True when the tag (or, unaddressed, any tag in the field) has EAS set."""


@dataclass(frozen=True, slots=True)
class CardEvent:
    """A patron card placed on or taken off a card reader."""

    present: bool
    uid: bytes
    technology: str = ""
    """e.g. "ISO 14443-A", "FeliCa"."""
    text: str | None = None
    """The card's NDEF text or URI record, where it carries one (a patron id)."""


@runtime_checkable
class PatronCardReader(Protocol):
    url: str

    @property
    def state(self) -> DeviceState: ...

    def open(self) -> None: ...

    def close(self) -> None: ...

    def poll(self, timeout: float) -> CardEvent | None:
        """The next card event, or None when ``timeout`` seconds pass without one."""


@runtime_checkable
class BarcodeScanner(Protocol):
    url: str

    @property
    def state(self) -> DeviceState: ...

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self, timeout: float) -> str | None:
        """The next scanned code (without its terminator), or None on timeout."""


@runtime_checkable
class ReceiptPrinter(Protocol):
    url: str

    @property
    def state(self) -> DeviceState: ...

    def open(self) -> None: ...

    def close(self) -> None: ...

    def print_receipt(self, lines: Sequence[str], qr: str | None = None) -> None:
        """Print text lines (any Unicode; Vietnamese included), an optional QR code, and cut."""


@runtime_checkable
class Outputs(Protocol):
    """Lights, buzzer, relays and bin diverters, by name."""

    url: str
    names: tuple[str, ...]

    def set(self, name: str, on: bool) -> None: ...

    def pulse(self, name: str, seconds: float) -> None:
        """On for ``seconds``, then off, without blocking the caller."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class InputEvent:
    name: str
    active: bool
    timestamp: float
    """time.monotonic() when the change was seen."""


@runtime_checkable
class Inputs(Protocol):
    """Light beams and bin-full sensors, by name."""

    url: str
    names: tuple[str, ...]

    def is_active(self, name: str) -> bool: ...

    def poll(self, timeout: float) -> InputEvent | None:
        """The next change of any input, or None on timeout."""

    def close(self) -> None: ...
