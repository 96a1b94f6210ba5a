"""3M / Bibliotheca 210 and 810 readers' serial protocol: frames, commands, answers.

Layout, from 3M's "RFID Reader Model 210 Protocol Specification" (June 2009,
firmware 5.0.2+), which the 810 shares: ``0xD6, LENGTH (2 bytes, MSB first:
every byte after the length), COMMAND, fields…, CRC (2 bytes, MSB first)``.
The CRC is CRC-16/GENIBUS (CCITT polynomial, preset 0xFFFF, inverted) over
every byte but the start byte; the specification's example ``D6 00 09 03 00 02
00 00 00 03`` carries ``12 E6``. An answer repeats the command code and puts
an error code (0x00 = none) before its fields. UIDs travel MSB first (``E0 …``),
integers big-endian. Some firmware also answers frames started with 0xD5
(the hardware-version probe); the parser accepts both start bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocols.crc import CRC16_GENIBUS
from protocols.readers.resync import BadFrame, FrameStream

START = 0xD6
STARTS = (0xD5, 0xD6)
MIN_FRAME = 6  # start, 2 length, command, 2 CRC
MAX_LENGTH = 1024

INVENTORY = 0xFE
VERSION = 0x11
ISO_PASS_THRU = 0x14
QUIET = 0x01
READ_BLOCKS = 0x02
CHECK_EAS = 0x03
WRITE_BLOCKS = 0x04
WRITE_BLOCK = 0x05
LOCK_AFI = 0x06
WRITE_LOCK_BLOCK = 0x07
LOCK_BLOCK = 0x08
WRITE_AFI = 0x09
GET_AFI = 0x0A
WRITE_DSFID = 0x0B
EAS_CONTROL = 0x0C
TAG_INFO = 0x0D
LOCK_DSFID = 0x0E
GET_DSFID = 0x0F

COMMANDS = {
    INVENTORY: "inventory (read block UID)",
    VERSION: "reader version",
    ISO_PASS_THRU: "ISO pass-thru",
    QUIET: "quiet",
    READ_BLOCKS: "read multiblock",
    CHECK_EAS: "check EAS",
    WRITE_BLOCKS: "write multiblock",
    WRITE_BLOCK: "write block",
    LOCK_AFI: "lock AFI",
    WRITE_LOCK_BLOCK: "write and lock block",
    LOCK_BLOCK: "lock block",
    WRITE_AFI: "write AFI",
    GET_AFI: "get AFI",
    WRITE_DSFID: "write DSFID",
    EAS_CONTROL: "EAS control",
    TAG_INFO: "tag info",
    LOCK_DSFID: "lock DSFID",
    GET_DSFID: "get DSFID",
}

ERRORS = {
    0x00: "no error",
    0x02: "command not implemented",
    0x06: "no transponder",
    0x11: "memory not available",
    0x12: "memory locked",
    0x15: "memory not read",
    0x16: "memory not written (not enough power?)",
    0x30: "not supported",
    0x31: "option not supported",
}
NO_TRANSPONDER = 0x06

# Inventory response options (bits): 0 the 8-byte address, 1 the DSFID (sent before the address).
OPTION_ADDRESS = 0x01
OPTION_DSFID = 0x02

# Tag info request / answer bits.
INFO_DSFID = 0x01
INFO_AFI = 0x02
INFO_MEMORY = 0x04
INFO_IC_REF = 0x08

# Request layouts: command -> fixed length of the fields after the command (None = variable).
_ADDRESSED = {QUIET, CHECK_EAS, LOCK_AFI, GET_AFI, LOCK_DSFID, GET_DSFID}
_REQUEST_LENGTH: dict[int, int | None] = {
    INVENTORY: 2,
    VERSION: 0,
    READ_BLOCKS: 10,
    WRITE_BLOCKS: None,
    WRITE_BLOCK: 13,
    WRITE_LOCK_BLOCK: 13,
    LOCK_BLOCK: 9,
    WRITE_AFI: 9,
    WRITE_DSFID: 9,
    EAS_CONTROL: 9,
    TAG_INFO: 9,
    **dict.fromkeys(_ADDRESSED, 8),
}


class ThreeMError(ValueError):
    """A 3M frame or answer that cannot be built or understood."""


@dataclass(frozen=True, slots=True)
class ThreeMFrame:
    command: int
    body: bytes = b""
    """Every byte after the command code and before the CRC."""
    start: int = START
    crc_ok: bool = True

    @property
    def command_name(self) -> str:
        return COMMANDS.get(self.command, f"command 0x{self.command:02X}")

    def encode(self) -> bytes:
        length = len(self.body) + 3  # command + CRC
        if length > MAX_LENGTH:
            raise ThreeMError("frame too long")
        covered = bytes([length >> 8, length & 0xFF, self.command]) + self.body
        crc = CRC16_GENIBUS(covered)
        return bytes([self.start]) + covered + bytes([crc >> 8, crc & 0xFF])


def _crc_matches(frame: bytes) -> bool:
    crc = CRC16_GENIBUS(frame[1:-2])
    return frame[-2] == crc >> 8 and frame[-1] == crc & 0xFF


def _frame_length(buffer: bytes | bytearray, offset: int) -> int | None:
    if offset + 3 > len(buffer):
        return None
    length = buffer[offset + 1] << 8 | buffer[offset + 2]
    return length + 3 if 3 <= length <= MAX_LENGTH else None


class ThreeMParser(FrameStream[ThreeMFrame]):
    """Frames from a byte stream in any chunking; noise skipped, bad CRCs reported, resync."""

    starts = STARTS

    def frame_length(self, buffer: bytes | bytearray, offset: int) -> int | None:
        return _frame_length(buffer, offset)

    def crc_ok(self, frame: bytes) -> bool:
        return _crc_matches(frame)

    def build(self, frame: bytes) -> ThreeMFrame:
        return ThreeMFrame(frame[3], frame[4:-2], start=frame[0])


def decode_frames(data: bytes) -> list[ThreeMFrame | BadFrame]:
    return ThreeMParser().feed(data)


# --- requests ----------------------------------------------------------------------------


def _uid(uid: bytes) -> bytes:
    if len(uid) != 8:
        raise ThreeMError(f"a UID has 8 bytes, not {len(uid)}")
    return bytes(uid)


def inventory(afi: int = 0, options: int = OPTION_ADDRESS | OPTION_DSFID) -> ThreeMFrame:
    return ThreeMFrame(INVENTORY, bytes([afi, options]))


def read_blocks(uid: bytes, first: int, count: int) -> ThreeMFrame:
    return ThreeMFrame(READ_BLOCKS, _uid(uid) + bytes([first, count]))


def write_blocks(uid: bytes, first: int, data: bytes, block_size: int = 4) -> ThreeMFrame:
    if not data or len(data) % block_size:
        raise ThreeMError(f"write data must be whole {block_size}-byte blocks")
    count = len(data) // block_size
    return ThreeMFrame(WRITE_BLOCKS, _uid(uid) + bytes([first, count, 0]) + data)


def get_afi(uid: bytes) -> ThreeMFrame:
    return ThreeMFrame(GET_AFI, _uid(uid))


def write_afi(uid: bytes, afi: int) -> ThreeMFrame:
    return ThreeMFrame(WRITE_AFI, _uid(uid) + bytes([afi]))


def lock_afi(uid: bytes) -> ThreeMFrame:
    return ThreeMFrame(LOCK_AFI, _uid(uid))


def check_eas(uid: bytes) -> ThreeMFrame:
    return ThreeMFrame(CHECK_EAS, _uid(uid))


def eas_control(uid: bytes, on: bool) -> ThreeMFrame:
    return ThreeMFrame(EAS_CONTROL, _uid(uid) + bytes([int(on)]))


def tag_info(
    uid: bytes, wanted: int = INFO_DSFID | INFO_AFI | INFO_MEMORY | INFO_IC_REF
) -> ThreeMFrame:
    return ThreeMFrame(TAG_INFO, _uid(uid) + bytes([wanted]))


def version() -> ThreeMFrame:
    return ThreeMFrame(VERSION)


# --- answers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """A reader's answer: the command it answers, its error code and what followed."""

    command: int
    error: int
    uid: bytes | None = None
    fields: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error == 0

    def number(self, key: str, default: int | None = None) -> int:
        """An integer field; ``default`` when absent (else the answer is malformed)."""
        value = self.fields.get(key, default)
        if not isinstance(value, int):
            raise ThreeMError(f"answer lacks its integer field {key!r}")
        return value

    @property
    def error_text(self) -> str:
        return ERRORS.get(self.error, f"error 0x{self.error:02X}")


def parse_answer(frame: ThreeMFrame) -> Answer:
    """The typed content of an answer; :class:`ThreeMError` when it does not fit its command."""
    body = frame.body
    if not body:
        raise ThreeMError(f"{frame.command_name} answer without an error code")
    error, rest = body[0], body[1:]
    command = frame.command
    if command == INVENTORY:
        return _inventory_answer(error, rest)
    if command == VERSION:
        if error or len(rest) < 4:
            return Answer(command, error)
        return Answer(command, error, fields={"version": ".".join(str(b) for b in rest[:4])})
    if command not in _REQUEST_LENGTH or command == VERSION:
        return Answer(command, error, fields={"data": rest.hex()})
    if len(rest) < 8:
        if error:
            return Answer(command, error)
        raise ThreeMError(f"{frame.command_name} answer too short for an address")
    uid, rest = rest[:8], rest[8:]
    if error:
        fields: dict[str, object] = {}
        if command == CHECK_EAS and error == NO_TRANSPONDER:
            fields["eas"] = False  # only tags with EAS set answer the air command
        return Answer(command, error, uid, fields)
    if command == READ_BLOCKS:
        return Answer(command, error, uid, _blocks(rest))
    if command == GET_AFI:
        return Answer(command, error, uid, {"afi": _byte(rest, "AFI")})
    if command == GET_DSFID:
        return Answer(command, error, uid, {"dsfid": _byte(rest, "DSFID")})
    if command == CHECK_EAS:
        return Answer(command, error, uid, {"eas": bool(_byte(rest, "EAS"))})
    if command == TAG_INFO:
        return Answer(command, error, uid, _tag_info(rest))
    if command == WRITE_BLOCKS and rest:
        return Answer(command, error, uid, {"next_block": rest[0]})
    return Answer(command, error, uid)


def _byte(rest: bytes, what: str) -> int:
    if not rest:
        raise ThreeMError(f"answer lacks its {what} byte")
    return rest[0]


def _inventory_answer(error: int, rest: bytes) -> Answer:
    if error:
        return Answer(INVENTORY, error)
    if len(rest) < 3:
        raise ThreeMError("inventory answer too short")
    afi, options, count = rest[0], rest[1], rest[2]
    with_dsfid = bool(options & OPTION_DSFID)
    size = 8 + with_dsfid
    tags = rest[3:]
    if len(tags) != count * size:
        raise ThreeMError(f"inventory answer has {len(tags)} bytes for {count} tags of {size}")
    found = []
    for index in range(count):
        entry = tags[index * size : (index + 1) * size]
        dsfid = entry[0] if with_dsfid else 0
        found.append((dsfid, bytes(entry[-8:])))
    return Answer(INVENTORY, error, fields={"afi": afi, "options": options, "tags": found})


def _blocks(rest: bytes) -> dict[str, object]:
    """Old-style read answer: count, then per block its number, lock/error byte and 4 bytes."""
    if not rest:
        raise ThreeMError("read answer lacks the number of blocks")
    count = rest[0]
    entries = rest[1:]
    if len(entries) != count * 6:
        raise ThreeMError(f"read answer has {len(entries)} bytes for {count} blocks of 6")
    numbers, locks, data = [], [], bytearray()
    for index in range(count):
        entry = entries[index * 6 : (index + 1) * 6]
        numbers.append(entry[0])
        locks.append(entry[1])
        data += entry[2:]
    return {
        "first_block": numbers[0] if numbers else 0,
        "blocks": numbers,
        "locks": locks,
        "data": bytes(data),
    }


def _tag_info(rest: bytes) -> dict[str, object]:
    if not rest:
        raise ThreeMError("tag info answer lacks its 'info available' byte")
    available, pos = rest[0], 1
    fields: dict[str, object] = {"available": available}
    try:
        if available & INFO_DSFID:
            fields["dsfid"] = rest[pos]
            pos += 1
        if available & INFO_AFI:
            fields["afi"] = rest[pos]
            pos += 1
        if available & INFO_MEMORY:
            fields["block_size"] = rest[pos] + 1
            fields["block_count"] = rest[pos + 1] + 1
            pos += 2
        if available & INFO_IC_REF:
            fields["ic_reference"] = rest[pos] << 8 | rest[pos + 1]
            pos += 2
    except IndexError:
        raise ThreeMError("tag info answer shorter than its 'info available' byte says") from None
    return fields


# --- building answers (the simulated reader on the far end of a serial line) -------------


def answer(
    command: int, error: int = 0, uid: bytes | None = None, fields: bytes = b""
) -> ThreeMFrame:
    return ThreeMFrame(command, bytes([error]) + (uid or b"") + fields)


def inventory_answer(tags: list[tuple[int, bytes]], afi: int, options: int) -> ThreeMFrame:
    body = bytearray([afi, options, len(tags)])
    for dsfid, uid in tags:
        if options & OPTION_DSFID:
            body.append(dsfid)
        body += uid
    return answer(INVENTORY, 0, None, bytes(body))


def read_answer(uid: bytes, first: int, data: bytes, block_size: int = 4) -> ThreeMFrame:
    count = len(data) // block_size
    body = bytearray([count])
    for index in range(count):
        body += bytes([first + index, 0]) + data[index * block_size : (index + 1) * block_size]
    return answer(READ_BLOCKS, 0, uid, bytes(body))


def looks_like_request(frame: ThreeMFrame) -> bool:
    """Whether a sniffed frame is more likely the host's request than the reader's answer.

    Both directions share the layout, and an answer's error byte plus UID can be as long
    as a request's UID plus one field. ISO UIDs start with 0xE0: a request carries it
    first, an answer after its error code.
    """
    body = frame.body
    if frame.command in (INVENTORY, VERSION):
        return len(body) == _REQUEST_LENGTH[frame.command]
    if len(body) >= 2 and body[0] != 0xE0 and body[1] == 0xE0 and body[0] in ERRORS:
        return False
    return request_fields(frame) is not None


def request_fields(frame: ThreeMFrame) -> dict[str, object] | None:
    """The fields of ``frame`` read as a host request, or None when it is not shaped like one."""
    body, command = frame.body, frame.command
    if command not in _REQUEST_LENGTH:
        return None
    expected = _REQUEST_LENGTH[command]
    if command == WRITE_BLOCKS:
        if len(body) < 11 or (len(body) - 11) % 4 or (len(body) - 11) // 4 != body[9]:
            return None
        return {
            "uid": body[:8].hex().upper(),
            "first_block": body[8],
            "blocks": body[9],
            "data": body[11:].hex().upper(),
        }
    if len(body) != expected:
        return None
    if command == INVENTORY:
        return {"afi": body[0], "options": body[1]}
    if command == VERSION:
        return {}
    fields: dict[str, object] = {"uid": body[:8].hex().upper()}
    extra = body[8:]
    if command == READ_BLOCKS:
        fields.update(first_block=extra[0], blocks=extra[1])
    elif command in (WRITE_AFI,):
        fields["afi"] = extra[0]
    elif command == WRITE_DSFID:
        fields["dsfid"] = extra[0]
    elif command == EAS_CONTROL:
        fields["eas"] = bool(extra[0])
    elif command == TAG_INFO:
        fields["wanted"] = extra[0]
    elif command in (WRITE_BLOCK, WRITE_LOCK_BLOCK):
        fields.update(block=extra[0], data=extra[1:].hex().upper())
    elif command == LOCK_BLOCK:
        fields["block"] = extra[0]
    return fields
