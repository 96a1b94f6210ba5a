"""FEIG ISC host commands for ISO 15693 tags (0xB0) and NXP custom commands (0xB1).

Request data is ``SUB-COMMAND, MODE, UID…`` (MODE 0x01 = addressed); the answer
data starts with a STATUS byte. Layouts as in FEIG's host-mode manuals and as
seen in captured CPR-M02 traffic (Biblio::RFID): the inventory answer is
``STATUS, DATA-SETS, {TR-TYPE, DSFID, UID(8)}``; a block read answers
``STATUS, DB-N, DB-SIZE, {SEC-STATUS, DB}`` and **every block travels
byte-reversed** (and is written byte-reversed), so the codec reverses it back:
callers see tag memory in tag order. UIDs travel MSB first. For 0xB1 the data
is ``NXP-COMMAND, MANUFACTURER (0x04), MODE, UID`` — our reading of FEIG's NXP
extension, to be confirmed against a reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocols.readers.feig import FeigFrame

ISO = 0xB0
NXP = 0xB1
ADDRESSED = 0x01
NXP_MANUFACTURER = 0x04
TR_TYPE_ISO15693 = 0x03

INVENTORY = 0x01
INVENTORY_MORE = 0x80
"""Inventory MODE bit 7: the rest of an answer too long for one frame."""
INVENTORY_AFI = 0x10
"""Inventory MODE bit 4: an AFI byte follows MODE (our reading of FEIG's host-mode manual)."""
READ_BLOCKS = 0x23
WRITE_BLOCKS = 0x24
WRITE_AFI = 0x27
LOCK_AFI = 0x28
SYSTEM_INFO = 0x2B

SET_EAS = 0xA2
RESET_EAS = 0xA3
LOCK_EAS = 0xA4
EAS_ALARM = 0xA5

STATUS = {
    0x00: "OK",
    0x01: "no transponder",
    0x02: "data false",
    0x03: "write error",
    0x04: "address error",
    0x05: "wrong transponder type",
    0x0B: "transponder does not support this command",
    0x80: "unknown command",
    0x81: "length error",
    0x82: "command not available",
    0x83: "RF communication error",
    0x84: "RF warning",
    0x94: "more data",
    0x95: "ISO 15693 error",
}
OK = 0x00
NO_TRANSPONDER = 0x01
MORE_DATA = 0x94
ISO_ERROR = 0x95


class FeigIsoError(ValueError):
    """An answer that does not fit the command it answers."""


def _uid(uid: bytes) -> bytes:
    if len(uid) != 8:
        raise FeigIsoError(f"a UID has 8 bytes, not {len(uid)}")
    return bytes(uid)


def _reverse_blocks(data: bytes, size: int) -> bytes:
    return b"".join(data[i : i + size][::-1] for i in range(0, len(data), size))


# --- requests ----------------------------------------------------------------------------


def inventory(address: int = 0xFF, more: bool = False, afi: int | None = None) -> FeigFrame:
    """``afi`` set: only tags of that application family answer (ISO 15693 AFI flag;
    FEIG's MODE bit 4, the AFI byte after MODE). A gate asks for the secured value,
    so its round lasts as long as the secured tags' answers, however many lent
    books are in the field."""
    mode = (INVENTORY_MORE if more else 0x00) | (INVENTORY_AFI if afi is not None else 0x00)
    data = bytes([INVENTORY, mode])
    if afi is not None:
        if not 0 <= afi <= 0xFF:
            raise FeigIsoError(f"an AFI is one byte, not {afi}")
        data += bytes([afi])
    return FeigFrame(address, ISO, data)


def system_info(uid: bytes, address: int = 0xFF) -> FeigFrame:
    return FeigFrame(address, ISO, bytes([SYSTEM_INFO, ADDRESSED]) + _uid(uid))


def read_blocks(uid: bytes, first: int, count: int, address: int = 0xFF) -> FeigFrame:
    return FeigFrame(
        address, ISO, bytes([READ_BLOCKS, ADDRESSED]) + _uid(uid) + bytes([first, count])
    )


def write_blocks(
    uid: bytes, first: int, data: bytes, block_size: int = 4, address: int = 0xFF
) -> FeigFrame:
    if not data or len(data) % block_size:
        raise FeigIsoError(f"write data must be whole {block_size}-byte blocks")
    head = bytes([WRITE_BLOCKS, ADDRESSED]) + _uid(uid)
    head += bytes([first, len(data) // block_size, block_size])
    return FeigFrame(address, ISO, head + _reverse_blocks(data, block_size))


def write_afi(uid: bytes, afi: int, address: int = 0xFF) -> FeigFrame:
    return FeigFrame(address, ISO, bytes([WRITE_AFI, ADDRESSED]) + _uid(uid) + bytes([afi]))


def lock_afi(uid: bytes, address: int = 0xFF) -> FeigFrame:
    return FeigFrame(address, ISO, bytes([LOCK_AFI, ADDRESSED]) + _uid(uid))


def nxp(command: int, uid: bytes | None, address: int = 0xFF) -> FeigFrame:
    """An NXP custom command; ``uid`` None sends it unaddressed (the gate's EAS alarm)."""
    mode = ADDRESSED if uid is not None else 0x00
    tail = _uid(uid) if uid is not None else b""
    return FeigFrame(address, NXP, bytes([command, NXP_MANUFACTURER, mode]) + tail)


# --- answers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IsoAnswer:
    status: int
    iso_error: int | None = None
    fields: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (OK, MORE_DATA)

    def number(self, key: str, default: int | None = None) -> int:
        """An integer field; ``default`` when absent (else the answer is malformed)."""
        value = self.fields.get(key, default)
        if not isinstance(value, int):
            raise FeigIsoError(f"answer lacks its integer field {key!r}")
        return value

    @property
    def status_text(self) -> str:
        text = STATUS.get(self.status, f"status 0x{self.status:02X}")
        if self.iso_error is not None:
            text += f" (tag error 0x{self.iso_error:02X})"
        return text


def parse_answer(sub_command: int, frame: FeigFrame) -> IsoAnswer:
    """The answer to a request whose sub-command (or NXP command) was ``sub_command``."""
    data = frame.data
    if not data:
        raise FeigIsoError("answer without a status byte")
    status, rest = data[0], data[1:]
    if status == ISO_ERROR:
        return IsoAnswer(status, rest[0] if rest else None)
    if status not in (OK, MORE_DATA):
        return IsoAnswer(status)
    if frame.command == NXP:
        return IsoAnswer(status, fields={"eas": True} if sub_command == EAS_ALARM else {})
    if sub_command == INVENTORY:
        return IsoAnswer(status, fields={"tags": _inventory(rest)})
    if sub_command == READ_BLOCKS:
        return IsoAnswer(status, fields=_blocks(rest))
    if sub_command == SYSTEM_INFO:
        return IsoAnswer(status, fields=_system_info(rest))
    return IsoAnswer(status)


def _inventory(rest: bytes) -> list[tuple[int, bytes]]:
    if not rest:
        raise FeigIsoError("inventory answer lacks DATA-SETS")
    count, records = rest[0], rest[1:]
    if len(records) != count * 10:
        raise FeigIsoError(f"inventory answer has {len(records)} bytes for {count} records of 10")
    tags = []
    for index in range(count):
        record = records[index * 10 : (index + 1) * 10]
        if record[0] != TR_TYPE_ISO15693:
            continue  # another transponder type (ISO 14443, EPC): not a library tag
        tags.append((record[1], bytes(record[2:10])))
    return tags


def _blocks(rest: bytes) -> dict[str, object]:
    if len(rest) < 2:
        raise FeigIsoError("read answer lacks DB-N and DB-SIZE")
    count, size, entries = rest[0], rest[1], rest[2:]
    if size == 0 or len(entries) != count * (size + 1):
        raise FeigIsoError(f"read answer has {len(entries)} bytes for {count} blocks of {size}")
    data = bytearray()
    security = []
    for index in range(count):
        entry = entries[index * (size + 1) : (index + 1) * (size + 1)]
        security.append(entry[0])
        data += entry[1:][::-1]
    return {"block_size": size, "security": security, "data": bytes(data)}


def _system_info(rest: bytes) -> dict[str, object]:
    if len(rest) < 13:
        raise FeigIsoError("system information answer too short")
    return {
        "dsfid": rest[0],
        "uid": bytes(rest[1:9]),
        "afi": rest[9],
        "block_size": (rest[10] & 0x1F) + 1,
        "block_count": rest[11] + 1,
        "ic_reference": rest[12],
    }


# --- building answers (the simulated reader on the far end of a serial line) -------------


def answer(request: FeigFrame, status: int = OK, payload: bytes = b"") -> FeigFrame:
    return FeigFrame(
        request.address, request.command, bytes([status]) + payload, advanced=request.advanced
    )


def inventory_payload(tags: list[tuple[int, bytes]]) -> bytes:
    out = bytearray([len(tags)])
    for dsfid, uid in tags:
        out += bytes([TR_TYPE_ISO15693, dsfid]) + uid
    return bytes(out)


def blocks_payload(data: bytes, block_size: int = 4) -> bytes:
    count = len(data) // block_size
    out = bytearray([count, block_size])
    for index in range(count):
        out.append(0x00)
        out += data[index * block_size : (index + 1) * block_size][::-1]
    return bytes(out)


def system_info_payload(
    uid: bytes, *, dsfid: int, afi: int, block_size: int, block_count: int, ic_reference: int
) -> bytes:
    return bytes([dsfid]) + uid + bytes([afi, block_size - 1, block_count - 1, ic_reference])


def parse_request(frame: FeigFrame) -> dict[str, object] | None:
    """A host request's fields (for the simulator and for ``muontra frame decode``)."""
    data = frame.data
    if frame.command == NXP and len(data) >= 3:
        fields: dict[str, object] = {
            "nxp_command": data[0],
            "manufacturer": data[1],
            "mode": data[2],
        }
        if data[2] & ADDRESSED and len(data) >= 11:
            fields["uid"] = bytes(data[3:11])
        return fields
    if frame.command != ISO or len(data) < 2:
        return None
    sub, mode = data[0], data[1]
    fields = {"sub_command": sub, "mode": mode}
    if sub == INVENTORY:
        if mode & INVENTORY_AFI:
            if len(data) != 3:
                return None
            fields["afi"] = data[2]
        elif len(data) != 2:
            return None
        return fields
    if len(data) < 10:
        return None
    fields["uid"] = bytes(data[2:10])
    extra = data[10:]
    if sub == READ_BLOCKS and len(extra) == 2:
        fields.update(first_block=extra[0], blocks=extra[1])
    elif sub == WRITE_BLOCKS and len(extra) >= 3:
        first, count, size = extra[0], extra[1], extra[2]
        payload = extra[3:]
        if size == 0 or len(payload) != count * size:
            return None
        fields.update(
            first_block=first, blocks=count, block_size=size, data=_reverse_blocks(payload, size)
        )
    elif sub == WRITE_AFI and len(extra) == 1:
        fields["afi"] = extra[0]
    elif extra and sub in (SYSTEM_INFO, LOCK_AFI):
        return None
    return fields
