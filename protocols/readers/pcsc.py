"""PC/SC pseudo-APDUs for ISO 15693 tags on contactless readers, sans-IO.

A PC/SC contactless reader presents the tag in its field as a "card" and
answers pseudo-APDUs of class 0xFF (PC/SC Part 3, storage cards):
``FF CA 00 00 00`` get the UID (least significant byte first, as on the air),
``FF B0 P1 P2 Le`` read binary and ``FF D6 P1 P2 Lc data`` update binary, where
for ISO 15693 tags P1-P2 is the block number and Le/Lc count bytes.

The storage-card commands are all that many contactless readers offer for ISO
15693 tags (the ubisys 7047 and many HID Omnikey and Identiv models): such a
reader shows one tag, its data blocks, and nothing of AFI, EAS or system
information, and answers the transparent session below with a bare status word
(6A81 "function not supported"). The manuals agree on the addressing (ubisys
7047 reference section 7.5.3 for ISO 15693 memory tags, Identiv SCL3711 V1.3
section 6.2 for storage cards): P1 the high byte and P2 the low byte of the
first block, Le (Lc) the byte count in whole blocks; some readers take one block
per read binary and answer 6C XX (XX the bytes they will give) to anything
longer. For a range past the end of the memory they answer 62 82 (with the
blocks that exist), 6A 82 (the first block does not exist) or 6B 00 (the range
runs past it); for a block that cannot be changed 69 81 or 69 82.
:func:`parse_read_binary` and :func:`parse_update_binary` read them in that sense.

Everything else (AFI, EAS, system information) needs the raw air interface.
The layout of that "transparent exchange" follows the ACS reference manuals of
the ACR1552U series (V1.03) and ACM1252U-Y3 (V1.03, section 5.2.3, "Transparent
Session"), which implement the PC/SC Part 3 supplement that Microsoft's NFC
design guide also lists (``FF C2 00 01`` with transceive tag 0x95, timer
0x5F46). All three commands are ``FF C2 00 P2 Lc <data objects> 00``:

- P2 = 00 manage session: 81 00 start a transparent session, 82 00 end it,
  5F 46 04 <timer, 32 bits, 1 µs units> a timer;
- P2 = 01 exchange: 95 <len> <frame> transceive (the reader adds and strips
  the CRC unless a 90 02 flags object says otherwise), with an optional timer;
- P2 = 02 switch protocol: 8F 02 <standard> <layer>; 02 03 is ISO 15693 layer 3.

The answer is a list of BER-TLV data objects then SW1 SW2. It always starts
with C0 03 <number of the failing data object> <SW1> <SW2> (all zero but 90 00
on success); an exchange adds 92 01 (valid bits of the last byte), 96 02
(response status: CRC, collision, parity, framing errors) and 97 <len> <the
tag's answer>. A tag that stays silent gives C0 with 64 01 ("no response from
ICC"), which callers of EAS alarm need to tell apart from an error. The timer's
byte order is not printed in the manuals; it is sent most significant byte
first, as BER-TLV values are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

CLA = 0xFF
INS_GET_DATA = 0xCA
INS_READ_BINARY = 0xB0
INS_UPDATE_BINARY = 0xD6
INS_TRANSPARENT = 0xC2
P2_MANAGE_SESSION = 0x00
P2_EXCHANGE = 0x01
P2_SWITCH_PROTOCOL = 0x02

# Data object tags of the transparent session.
DO_START_SESSION = 0x81
DO_END_SESSION = 0x82
DO_RF_OFF = 0x83
DO_RF_ON = 0x84
DO_SWITCH_PROTOCOL = 0x8F
DO_FLAGS = 0x90
DO_RX_BITS = 0x92
DO_TRANSCEIVE = 0x95
DO_RESPONSE_STATUS = 0x96
DO_ICC_RESPONSE = 0x97
DO_ERROR_STATUS = 0xC0
DO_TIMER = 0x5F46

STANDARD_ISO15693 = 0x02
LAYER_3 = 0x03

# Bits of the response status data object (first byte).
RESPONSE_CRC_ERROR = 0x01
RESPONSE_COLLISION = 0x02
RESPONSE_PARITY_ERROR = 0x04
RESPONSE_FRAMING_ERROR = 0x08

SW_OK = 0x9000
SW_NO_RESPONSE = 0x6401


class StatusKind(enum.Enum):
    OK = "ok"
    FAILED = "operation failed"
    NO_RESPONSE = "no answer from the tag"
    WRONG_LENGTH = "wrong length"
    LOCKED = "security status not satisfied (locked)"
    NOT_ALLOWED = "command not allowed"
    NOT_SUPPORTED = "function not supported"
    NO_SUCH_BLOCK = "block does not exist"
    WRONG_PARAMETERS = "wrong parameters"
    MEMORY_FAILURE = "memory failure (write not kept)"
    COLLISION = "collision: more than one tag answered"
    RF_ERROR = "radio error (CRC, parity or framing)"
    MALFORMED = "malformed answer"
    OTHER = "unexpected status"


_EXACT: dict[int, StatusKind] = {
    0x9000: StatusKind.OK,
    0x6282: StatusKind.WRONG_LENGTH,  # end of data before Le bytes
    0x6300: StatusKind.FAILED,
    0x6301: StatusKind.FAILED,  # stopped by the failure of another data object
    0x6400: StatusKind.FAILED,  # no answer from the reader's front end
    0x6401: StatusKind.NO_RESPONSE,
    0x6581: StatusKind.MEMORY_FAILURE,
    0x6700: StatusKind.WRONG_LENGTH,
    0x6981: StatusKind.NOT_SUPPORTED,  # command incompatible with the card
    0x6982: StatusKind.LOCKED,
    0x6986: StatusKind.NOT_ALLOWED,
    0x6A80: StatusKind.WRONG_PARAMETERS,
    0x6A81: StatusKind.NOT_SUPPORTED,
    0x6A82: StatusKind.NO_SUCH_BLOCK,
    0x6A86: StatusKind.WRONG_PARAMETERS,
    0x6B00: StatusKind.WRONG_PARAMETERS,
    0x6D00: StatusKind.NOT_SUPPORTED,
    0x6E00: StatusKind.NOT_SUPPORTED,
    0x6F00: StatusKind.FAILED,
}


def status_kind(sw: int) -> StatusKind:
    if sw in _EXACT:
        return _EXACT[sw]
    if sw >> 8 == 0x6C:
        return StatusKind.WRONG_LENGTH
    return StatusKind.OTHER


class PcscApduError(ValueError):
    """An APDU that cannot be built or parsed, or an answer that reports failure."""

    def __init__(
        self, message: str, sw: int | None = None, kind: StatusKind = StatusKind.MALFORMED
    ) -> None:
        super().__init__(message)
        self.sw = sw
        self.kind = kind


def _failure(sw: int, what: str = "") -> PcscApduError:
    kind = status_kind(sw)
    prefix = f"{what}: " if what else ""
    return PcscApduError(f"{prefix}{sw:04X} {kind.value}", sw=sw, kind=kind)


# --- command APDUs ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A short command APDU; ``le`` None means no Le byte, 256 is sent as 00."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def encode(self) -> bytes:
        for name, value in (("CLA", self.cla), ("INS", self.ins), ("P1", self.p1), ("P2", self.p2)):
            if not 0 <= value <= 0xFF:
                raise PcscApduError(f"{name} {value} does not fit in a byte")
        if len(self.data) > 255:
            raise PcscApduError("more than 255 data bytes need an extended APDU")
        raw = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            raw += bytes([len(self.data)]) + self.data
        if self.le is not None:
            if not 1 <= self.le <= 256:
                raise PcscApduError(f"Le {self.le} out of range 1-256")
            raw += bytes([self.le & 0xFF])
        return raw


def parse_command(raw: bytes) -> CommandApdu:
    """A short command APDU (cases 1-4), for simulators that play the reader."""
    if len(raw) < 4:
        raise PcscApduError("a command APDU has at least 4 bytes")
    cla, ins, p1, p2 = raw[:4]
    body = raw[4:]
    if not body:
        return CommandApdu(cla, ins, p1, p2)
    if len(body) == 1:
        return CommandApdu(cla, ins, p1, p2, le=body[0] or 256)
    lc = body[0]
    if lc == 0:
        raise PcscApduError("extended APDUs are not supported")
    if len(body) == 1 + lc:
        return CommandApdu(cla, ins, p1, p2, body[1:])
    if len(body) == 2 + lc:
        return CommandApdu(cla, ins, p1, p2, body[1:-1], body[-1] or 256)
    raise PcscApduError(f"Lc {lc} does not match the {len(body) - 1} bytes that follow")


def get_uid() -> bytes:
    return CommandApdu(CLA, INS_GET_DATA, 0x00, 0x00, le=256).encode()


def _address(block: int) -> tuple[int, int]:
    if not 0 <= block <= 0x7FFF:
        raise PcscApduError(f"block number {block} out of range")
    return block >> 8, block & 0xFF


def read_binary(block: int, length: int) -> bytes:
    """Read ``length`` bytes (whole blocks) from block ``block`` on."""
    p1, p2 = _address(block)
    return CommandApdu(CLA, INS_READ_BINARY, p1, p2, le=length).encode()


def update_binary(block: int, data: bytes) -> bytes:
    if not data:
        raise PcscApduError("nothing to write")
    p1, p2 = _address(block)
    return CommandApdu(CLA, INS_UPDATE_BINARY, p1, p2, data).encode()


# --- response APDUs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    data: bytes
    sw: int

    @property
    def kind(self) -> StatusKind:
        return status_kind(self.sw)

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    def checked(self, what: str = "") -> bytes:
        """The data when the status is 90 00; else raises with the meaning of the status."""
        if self.sw != SW_OK:
            raise _failure(self.sw, what)
        return self.data


def parse_response(raw: bytes) -> ResponseApdu:
    if len(raw) < 2:
        raise PcscApduError("a response APDU ends with two status bytes")
    return ResponseApdu(raw[:-2], int.from_bytes(raw[-2:], "big"))


def response(data: bytes = b"", sw: int = SW_OK) -> bytes:
    return ResponseApdu(data, sw).encode()


_STORAGE: dict[int, StatusKind] = {
    0x6282: StatusKind.NO_SUCH_BLOCK,  # end of memory before Le bytes
    0x6A82: StatusKind.NO_SUCH_BLOCK,  # the first block does not exist
    0x6B00: StatusKind.NO_SUCH_BLOCK,  # the block range runs past the memory
    0x6981: StatusKind.LOCKED,  # the block cannot be changed (incompatible with the "file")
    0x6982: StatusKind.LOCKED,
}
"""What the status words of read/update binary mean for an ISO 15693 tag's blocks."""


def storage_status_kind(sw: int) -> StatusKind:
    """The meaning of a read/update binary status word (see the module notes)."""
    return _STORAGE.get(sw) or status_kind(sw)


def _storage_failure(sw: int, what: str) -> PcscApduError:
    kind = storage_status_kind(sw)
    message = f"{what}: {sw:04X} {kind.value}"
    if sw >> 8 == 0x6C:
        message += f" (the reader reads {sw & 0xFF or 256} bytes at a time)"
    return PcscApduError(message, sw=sw, kind=kind)


def parse_read_binary(raw: bytes, length: int, what: str = "read binary") -> bytes:
    """The ``length`` bytes a read binary asked for; anything else raises PcscApduError.

    A reader that gives fewer bytes with 90 00, or more, has not answered this
    command (a garbled or foreign answer): its data is not used.
    """
    answer = parse_response(raw)
    if answer.sw != SW_OK:
        raise _storage_failure(answer.sw, what)
    if len(answer.data) != length:
        raise PcscApduError(f"{what}: {len(answer.data)} bytes, asked {length}")
    return answer.data


def parse_update_binary(raw: bytes, what: str = "update binary") -> None:
    """Raises PcscApduError unless the answer is a plain 90 00."""
    answer = parse_response(raw)
    if answer.sw != SW_OK:
        raise _storage_failure(answer.sw, what)
    if answer.data:
        raise PcscApduError(f"{what}: {len(answer.data)} unexpected data bytes with 90 00")


def wanted_length(error: PcscApduError) -> int | None:
    """For a 6C XX answer, the length the reader accepts (XX, 00 meaning 256)."""
    if error.sw is None or error.sw >> 8 != 0x6C:
        return None
    return error.sw & 0xFF or 256


def is_bare_refusal(raw: bytes) -> bool:
    """An answer of nothing but a status word that says "not this command": how a reader
    without the transparent session answers it (6A81, 6D00, 6E00, 6B00, …)."""
    return (
        len(raw) == 2
        and int.from_bytes(raw, "big") != SW_OK
        and status_kind(int.from_bytes(raw, "big"))
        in (StatusKind.NOT_SUPPORTED, StatusKind.WRONG_PARAMETERS)
    )


def parse_uid(raw: bytes) -> bytes:
    """The UID of a get-data answer, turned to reading order (``E0`` first)."""
    data = parse_response(raw).checked("get UID")
    if not data:
        raise PcscApduError("empty UID")
    return data[::-1]


# --- BER-TLV data objects ----------------------------------------------------------


def encode_tlv(tag: int, value: bytes) -> bytes:
    if not 0 <= tag <= 0xFFFF:
        raise PcscApduError(f"tag 0x{tag:X} out of range")
    head = tag.to_bytes(2, "big") if tag > 0xFF else bytes([tag])
    length = len(value)
    if length < 0x80:
        size = bytes([length])
    elif length <= 0xFF:
        size = bytes([0x81, length])
    elif length <= 0xFFFF:
        size = bytes([0x82]) + length.to_bytes(2, "big")
    else:
        raise PcscApduError("data object too long")
    return head + size + value


def parse_tlvs(data: bytes) -> tuple[tuple[int, bytes], ...]:
    """Data objects in order; a tag whose low five bits are all set takes a second byte."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:
            if pos >= len(data):
                raise PcscApduError("truncated two-byte tag")
            tag = tag << 8 | data[pos]
            pos += 1
        if pos >= len(data):
            raise PcscApduError(f"data object 0x{tag:X} without a length")
        length = data[pos]
        pos += 1
        if length & 0x80:
            count = length & 0x7F
            if count not in (1, 2) or pos + count > len(data):
                raise PcscApduError(f"bad length of data object 0x{tag:X}")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + length > len(data):
            raise PcscApduError(f"data object 0x{tag:X} longer than the answer")
        out.append((tag, data[pos : pos + length]))
        pos += length
    return tuple(out)


# --- transparent session -------------------------------------------------------------


def _transparent(p2: int, objects: bytes) -> bytes:
    return CommandApdu(CLA, INS_TRANSPARENT, 0x00, p2, objects, le=256).encode()


def _timer(timer_us: int | None) -> bytes:
    if timer_us is None:
        return b""
    if not 0 <= timer_us <= 0xFFFFFFFF:
        raise PcscApduError("timer out of range")
    return encode_tlv(DO_TIMER, timer_us.to_bytes(4, "big"))


def start_session(timer_us: int | None = None) -> bytes:
    return _transparent(P2_MANAGE_SESSION, _timer(timer_us) + encode_tlv(DO_START_SESSION, b""))


def end_session() -> bytes:
    return _transparent(P2_MANAGE_SESSION, encode_tlv(DO_END_SESSION, b""))


def switch_to_iso15693() -> bytes:
    """Select ISO 15693 layer 3, so the reader frames raw requests for vicinity tags."""
    value = bytes([STANDARD_ISO15693, LAYER_3])
    return _transparent(P2_SWITCH_PROTOCOL, encode_tlv(DO_SWITCH_PROTOCOL, value))


def transceive(frame: bytes, timer_us: int | None = None) -> bytes:
    """Send one ISO 15693 request (no CRC; the reader adds it) and collect the answer."""
    if not frame:
        raise PcscApduError("nothing to send")
    return _transparent(P2_EXCHANGE, _timer(timer_us) + encode_tlv(DO_TRANSCEIVE, frame))


@dataclass(frozen=True, slots=True)
class TransparentReply:
    """A transparent-session answer; ``icc_response`` is the tag's frame, if any."""

    failed_object: int
    status: int
    """SW1 SW2 inside the C0 object: 90 00 when every data object worked."""
    response_status: int = 0
    icc_response: bytes | None = None
    rx_bits: int = 0

    @property
    def kind(self) -> StatusKind:
        if self.status != SW_OK:
            return status_kind(self.status)
        if self.response_status & RESPONSE_COLLISION:
            return StatusKind.COLLISION
        if self.response_status & 0x0F:
            return StatusKind.RF_ERROR
        return StatusKind.OK

    def checked(self) -> bytes:
        """The tag's answer frame; raises for a silent tag, a collision or a reader error."""
        kind = self.kind
        if kind is not StatusKind.OK:
            where = f" (data object {self.failed_object})" if self.failed_object else ""
            sw = self.status if self.status != SW_OK else None
            raise PcscApduError(f"transparent exchange: {kind.value}{where}", sw=sw, kind=kind)
        if self.icc_response is None:
            return b""
        return self.icc_response

    def encode(self) -> bytes:
        """The reader's full answer APDU (for simulators)."""
        body = encode_tlv(
            DO_ERROR_STATUS, bytes([self.failed_object]) + self.status.to_bytes(2, "big")
        )
        if self.icc_response is not None or self.response_status:
            body += encode_tlv(DO_RX_BITS, bytes([self.rx_bits]))
            body += encode_tlv(DO_RESPONSE_STATUS, bytes([self.response_status, 0]))
        if self.icc_response is not None:
            body += encode_tlv(DO_ICC_RESPONSE, self.icc_response)
        return response(body)


def parse_transparent(raw: bytes) -> TransparentReply:
    answer = parse_response(raw)
    objects = dict(parse_tlvs(answer.data)) if answer.data else {}
    error = objects.get(DO_ERROR_STATUS)
    if error is None:
        if answer.sw != SW_OK:
            raise _failure(answer.sw, "transparent session")
        raise PcscApduError("transparent answer without its C0 status object")
    if len(error) != 3:
        raise PcscApduError("C0 status object is not 3 bytes")
    status = int.from_bytes(error[1:], "big")
    if answer.sw != SW_OK and status == SW_OK:
        status = answer.sw
    response_status = objects.get(DO_RESPONSE_STATUS, b"\x00")
    rx_bits = objects.get(DO_RX_BITS, b"\x00")
    return TransparentReply(
        failed_object=error[0],
        status=status,
        response_status=response_status[0] if response_status else 0,
        icc_response=objects.get(DO_ICC_RESPONSE),
        rx_bits=(rx_bits[0] & 0x07) if rx_bits else 0,
    )
