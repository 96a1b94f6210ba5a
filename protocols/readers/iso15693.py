"""ISO/IEC 15693-3 air-interface frames, sans-IO: what a reader's transparent mode carries.

Most readers hide the air interface behind their own commands, but PC/SC readers
(ACS ACR1552U and others) only offer read and update binary; everything else a
library needs (AFI, EAS, system information) goes through a vendor "transparent
exchange" as a raw ISO 15693 frame. This module builds those request frames and
parses the tags' answers, and — for simulators playing the tag — parses requests
and builds answers too.

Frames here carry no CRC: transparent modes append it on the way out and strip
it on the way in (the PC/SC transmission flag default). :func:`add_crc` and
:func:`strip_crc` handle the ISO 15693 frame CRC where a link keeps it; it is
CRC-16/IBM-SDLC (X-25: poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF, least
significant byte first). It is built from :mod:`protocols.crc`'s table
machinery here rather than added there, since only this air interface uses it.

UIDs in the API are in the order people read them (``E0`` first); the air
interface sends them least significant byte first, so every builder and parser
reverses them. Tag errors (the error flag in an answer) and malformed frames
both raise :class:`Iso15693Error`; ``code`` is set for the former.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocols.crc import CRC16_IBM_SDLC

"""The ISO 15693 frame CRC (alias X-25); check value 0x906E."""

UID_LENGTH = 8
NXP = 0x04
"""IC manufacturer code of NXP, carried in the NXP custom commands."""

# Request flags, bits 1-4 (ISO/IEC 15693-3 table 3).
FLAG_SUBCARRIER = 0x01
FLAG_HIGH_RATE = 0x02
FLAG_INVENTORY = 0x04
FLAG_EXTENSION = 0x08
# Bits 5-8 when the inventory flag is clear (table 4).
FLAG_SELECT = 0x10
FLAG_ADDRESS = 0x20
FLAG_OPTION = 0x40
# Bits 5-8 when the inventory flag is set (table 5).
FLAG_AFI = 0x10
FLAG_ONE_SLOT = 0x20
# Response flags.
RESPONSE_ERROR = 0x01


class Command(enum.IntEnum):
    INVENTORY = 0x01
    STAY_QUIET = 0x02
    READ_SINGLE_BLOCK = 0x20
    WRITE_SINGLE_BLOCK = 0x21
    READ_MULTIPLE_BLOCKS = 0x23
    WRITE_AFI = 0x27
    LOCK_AFI = 0x28
    GET_SYSTEM_INFO = 0x2B
    NXP_SET_EAS = 0xA2
    NXP_RESET_EAS = 0xA3
    NXP_LOCK_EAS = 0xA4
    NXP_EAS_ALARM = 0xA5


CUSTOM_FIRST = 0xA0
"""Commands from 0xA0 to 0xDF are custom: the IC manufacturer code follows the command."""
CUSTOM_LAST = 0xDF

ERRORS = {
    0x01: "command not supported",
    0x02: "command not recognised",
    0x03: "option not supported",
    0x0F: "unknown error",
    0x10: "block not available",
    0x11: "block already locked",
    0x12: "block locked",
    0x13: "block not programmed",
    0x14: "block not locked",
}


class Iso15693Error(ValueError):
    """A frame that cannot be built or parsed, or a tag's error answer (``code`` set)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def error_text(code: int) -> str:
    if CUSTOM_FIRST <= code <= CUSTOM_LAST:
        return f"custom error 0x{code:02X}"
    return ERRORS.get(code, f"error 0x{code:02X}")


# --- CRC ---------------------------------------------------------------------------


def add_crc(frame: bytes) -> bytes:
    crc = CRC16_IBM_SDLC(frame)
    return frame + bytes([crc & 0xFF, crc >> 8])


def strip_crc(frame: bytes) -> bytes:
    """``frame`` without its CRC; raises when the CRC does not match."""
    if len(frame) < 3:
        raise Iso15693Error("frame too short to carry a CRC")
    if add_crc(frame[:-2]) != frame:
        raise Iso15693Error("CRC mismatch")
    return frame[:-2]


# --- requests ------------------------------------------------------------------------


def _uid_wire(uid: bytes) -> bytes:
    if len(uid) != UID_LENGTH:
        raise Iso15693Error(f"a UID has {UID_LENGTH} bytes, not {len(uid)}")
    return uid[::-1]


def _byte(value: int, what: str) -> int:
    if not 0 <= value <= 0xFF:
        raise Iso15693Error(f"{what} {value} does not fit in a byte")
    return value


@dataclass(frozen=True, slots=True)
class Request:
    """One request frame; ``uid`` set makes it addressed, ``option`` sets the option flag."""

    command: int
    uid: bytes | None = None
    body: bytes = b""
    option: bool = False
    high_rate: bool = True
    manufacturer: int | None = None
    """The IC manufacturer code of a custom command (0xA0-0xDF); None for standard ones."""

    @property
    def flags(self) -> int:
        flags = FLAG_HIGH_RATE if self.high_rate else 0
        if self.uid is not None:
            flags |= FLAG_ADDRESS
        if self.option:
            flags |= FLAG_OPTION
        return flags

    def encode(self) -> bytes:
        custom = CUSTOM_FIRST <= self.command <= CUSTOM_LAST
        if custom != (self.manufacturer is not None):
            raise Iso15693Error("custom commands, and only they, carry a manufacturer code")
        frame = bytes([self.flags, _byte(self.command, "command")])
        if self.manufacturer is not None:
            frame += bytes([_byte(self.manufacturer, "manufacturer code")])
        if self.uid is not None:
            frame += _uid_wire(self.uid)
        return frame + self.body


def inventory(afi: int | None = None, mask_bits: int = 0, mask: int = 0) -> bytes:
    """A one-slot inventory: the tag answers if exactly one matches (else a collision).

    Tags match when the low ``mask_bits`` bits of their UID (read as a number,
    ``E0`` the top byte) equal ``mask``; walking the mask bit by bit after each
    collision finds every tag, which is how a reader's transparent mode sees a
    whole stack of books.
    """
    if not 0 <= mask_bits <= 64 or not 0 <= mask < 1 << mask_bits:
        raise Iso15693Error(f"mask 0x{mask:X} does not fit in {mask_bits} bits")
    flags = FLAG_HIGH_RATE | FLAG_INVENTORY | FLAG_ONE_SLOT
    frame = bytearray([flags, Command.INVENTORY])
    if afi is not None:
        frame[0] |= FLAG_AFI
        frame.append(_byte(afi, "AFI"))
    frame.append(mask_bits)
    return bytes(frame) + mask.to_bytes((mask_bits + 7) // 8, "little")


def read_single_block(uid: bytes | None, block: int, *, security: bool = False) -> bytes:
    body = bytes([_byte(block, "block number")])
    return Request(Command.READ_SINGLE_BLOCK, uid, body, option=security).encode()


def write_single_block(uid: bytes | None, block: int, data: bytes) -> bytes:
    if not data:
        raise Iso15693Error("nothing to write")
    body = bytes([_byte(block, "block number")]) + data
    return Request(Command.WRITE_SINGLE_BLOCK, uid, body).encode()


def read_multiple_blocks(uid: bytes | None, first: int, count: int) -> bytes:
    if not 1 <= count <= 256:
        raise Iso15693Error(f"cannot read {count} blocks in one command")
    body = bytes([_byte(first, "block number"), count - 1])
    return Request(Command.READ_MULTIPLE_BLOCKS, uid, body).encode()


def write_afi(uid: bytes | None, afi: int) -> bytes:
    return Request(Command.WRITE_AFI, uid, bytes([_byte(afi, "AFI")])).encode()


def lock_afi(uid: bytes | None) -> bytes:
    return Request(Command.LOCK_AFI, uid).encode()


def get_system_info(uid: bytes | None) -> bytes:
    return Request(Command.GET_SYSTEM_INFO, uid).encode()


def _nxp(command: Command, uid: bytes | None) -> bytes:
    return Request(command, uid, manufacturer=NXP).encode()


def set_eas(uid: bytes | None) -> bytes:
    return _nxp(Command.NXP_SET_EAS, uid)


def reset_eas(uid: bytes | None) -> bytes:
    return _nxp(Command.NXP_RESET_EAS, uid)


def lock_eas(uid: bytes | None) -> bytes:
    return _nxp(Command.NXP_LOCK_EAS, uid)


def eas_alarm(uid: bytes | None = None) -> bytes:
    """A tag answers only while its EAS bit is set: silence means "not secured"."""
    return _nxp(Command.NXP_EAS_ALARM, uid)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A request as a tag sees it; inventory requests keep AFI and mask in ``body``."""

    flags: int
    command: int
    manufacturer: int | None
    uid: bytes | None
    body: bytes

    @property
    def option(self) -> bool:
        return bool(self.flags & FLAG_OPTION)

    @property
    def inventory(self) -> bool:
        return bool(self.flags & FLAG_INVENTORY)


def parse_request(frame: bytes) -> ParsedRequest:
    """A request frame (without CRC), for simulators that play the tag."""
    if len(frame) < 2:
        raise Iso15693Error("a request has at least a flags byte and a command")
    flags, command = frame[0], frame[1]
    rest = frame[2:]
    manufacturer = None
    if CUSTOM_FIRST <= command <= CUSTOM_LAST:
        if not rest:
            raise Iso15693Error("custom command without a manufacturer code")
        manufacturer, rest = rest[0], rest[1:]
    uid = None
    if not flags & FLAG_INVENTORY and flags & FLAG_ADDRESS:
        if len(rest) < UID_LENGTH:
            raise Iso15693Error("addressed request too short for its UID")
        uid, rest = rest[:UID_LENGTH][::-1], rest[UID_LENGTH:]
    return ParsedRequest(flags, command, manufacturer, uid, rest)


def afi_answers(requested: int, afi: int) -> bool:
    """Whether a tag holding ``afi`` answers an inventory with the AFI flag and ``requested``.

    ISO/IEC 15693-3's AFI coding: the high nibble is the family, the low one the
    subfamily. A request of 0x00 selects every tag, ``X0`` every subfamily of
    family X, anything else that exact value (``0Y`` is the proprietary subfamily
    Y, not "Y in any family"). So a gate asking for 0x07 hears 0x07 tags only,
    never the 0xC2 of a lent book.
    """
    if requested == 0:
        return True
    if requested & 0x0F == 0:
        return afi >> 4 == requested >> 4
    return afi == requested


@dataclass(frozen=True, slots=True)
class InventoryMask:
    """What an inventory request selects: an AFI (None: any) and the low bits of the UID."""

    afi: int | None
    mask_bits: int
    mask: int

    def matches(self, uid: bytes, afi: int) -> bool:
        if self.afi is not None and not afi_answers(self.afi, afi):
            return False
        low = int.from_bytes(uid, "big") & ((1 << self.mask_bits) - 1)
        return low == self.mask


def parse_inventory_request(request: ParsedRequest) -> InventoryMask:
    """The selection of an inventory request (for simulators that play the tags)."""
    body = request.body
    afi = None
    if request.flags & FLAG_AFI:
        if not body:
            raise Iso15693Error("inventory with the AFI flag but no AFI")
        afi, body = body[0], body[1:]
    if not body or body[0] > 64:
        raise Iso15693Error("inventory without a valid mask length")
    bits = body[0]
    size = (bits + 7) // 8
    if len(body) != 1 + size:
        raise Iso15693Error(f"a {bits}-bit mask takes {size} bytes, not {len(body) - 1}")
    mask = int.from_bytes(body[1:], "little") & ((1 << bits) - 1)
    return InventoryMask(afi, bits, mask)


# --- responses -----------------------------------------------------------------------


def ok_response(payload: bytes = b"") -> bytes:
    return b"\x00" + payload


def error_response(code: int) -> bytes:
    return bytes([RESPONSE_ERROR, _byte(code, "error code")])


def inventory_response(uid: bytes, dsfid: int = 0) -> bytes:
    return ok_response(bytes([_byte(dsfid, "DSFID")]) + _uid_wire(uid))


def parse_response(frame: bytes) -> bytes:
    """The payload after the flags byte; a tag's error answer raises with its code."""
    if not frame:
        raise Iso15693Error("empty response")
    if frame[0] & RESPONSE_ERROR:
        if len(frame) < 2:
            raise Iso15693Error("error response without an error code")
        code = frame[1]
        raise Iso15693Error(f"tag answered {error_text(code)}", code=code)
    return frame[1:]


def parse_status(frame: bytes) -> None:
    """A write, lock or EAS answer: just flags, or an error."""
    payload = parse_response(frame)
    if payload:
        raise Iso15693Error(f"{len(payload)} unexpected bytes in a status answer")


@dataclass(frozen=True, slots=True)
class InventoryReply:
    uid: bytes
    dsfid: int


def parse_inventory(frame: bytes) -> InventoryReply:
    payload = parse_response(frame)
    if len(payload) != 1 + UID_LENGTH:
        raise Iso15693Error(f"an inventory answer has 9 bytes after the flags, not {len(payload)}")
    return InventoryReply(uid=payload[1:][::-1], dsfid=payload[0])


def parse_blocks(frame: bytes, count: int, block_size: int | None = None) -> bytes:
    """Block data of a read single / read multiple answer (without security status)."""
    payload = parse_response(frame)
    if count < 1 or not payload or len(payload) % count:
        raise Iso15693Error(f"{len(payload)} bytes do not split into {count} blocks")
    if block_size is not None and len(payload) != count * block_size:
        raise Iso15693Error(f"expected {count * block_size} bytes of blocks, got {len(payload)}")
    return payload


# Info flags of Get System Information.
INFO_DSFID = 0x01
INFO_AFI = 0x02
INFO_MEMORY = 0x04
INFO_IC_REFERENCE = 0x08


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """Get System Information; fields the tag does not report are None."""

    uid: bytes
    dsfid: int | None = None
    afi: int | None = None
    block_count: int | None = None
    block_size: int | None = None
    ic_reference: int | None = None

    def encode(self) -> bytes:
        """The tag's answer frame (for simulators)."""
        info = 0
        tail = bytearray()
        if self.dsfid is not None:
            info |= INFO_DSFID
            tail.append(_byte(self.dsfid, "DSFID"))
        if self.afi is not None:
            info |= INFO_AFI
            tail.append(_byte(self.afi, "AFI"))
        if (self.block_count is None) != (self.block_size is None):
            raise Iso15693Error("memory size needs both block count and block size")
        if self.block_count is not None and self.block_size is not None:
            if not 1 <= self.block_count <= 256 or not 1 <= self.block_size <= 32:
                raise Iso15693Error("memory size out of range (1-256 blocks of 1-32 bytes)")
            info |= INFO_MEMORY
            tail += bytes([self.block_count - 1, self.block_size - 1])
        if self.ic_reference is not None:
            info |= INFO_IC_REFERENCE
            tail.append(_byte(self.ic_reference, "IC reference"))
        return ok_response(bytes([info]) + _uid_wire(self.uid) + bytes(tail))


def parse_system_info(frame: bytes) -> SystemInfo:
    payload = parse_response(frame)
    if len(payload) < 1 + UID_LENGTH:
        raise Iso15693Error("system information too short for its UID")
    info = payload[0]
    uid = payload[1 : 1 + UID_LENGTH][::-1]
    rest = payload[1 + UID_LENGTH :]
    wanted = (
        bool(info & INFO_DSFID)
        + bool(info & INFO_AFI)
        + 2 * bool(info & INFO_MEMORY)
        + bool(info & INFO_IC_REFERENCE)
    )
    if len(rest) != wanted:
        raise Iso15693Error(f"info flags 0x{info:02X} announce {wanted} bytes, got {len(rest)}")
    pos = 0

    def take() -> int:
        nonlocal pos
        pos += 1
        return rest[pos - 1]

    dsfid = take() if info & INFO_DSFID else None
    afi = take() if info & INFO_AFI else None
    block_count = block_size = None
    if info & INFO_MEMORY:
        block_count = take() + 1
        block_size = (take() & 0x1F) + 1
    ic_reference = take() if info & INFO_IC_REFERENCE else None
    return SystemInfo(uid, dsfid, afi, block_count, block_size, ic_reference)
