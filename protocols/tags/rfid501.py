"""3M / Bibliotheca "RFID501" tags (the "3M alphanumeric" format of older installations).

Layout, as documented from real tags by the Biblio::RFID project: byte 0 is
0x04; byte 1 the set (high nibble: this part's number, low nibble: parts in
the set); byte 2 0x00; byte 3 the item type; bytes 4-19 the barcode (ASCII,
NUL padded); bytes 20-23 big-endian, the branch (top 12 bits) and the library
(low 20 bits); bytes 24-27 a signed custom integer; bytes 28-31 zero. A new
3M tag is "manufacturing blank": 24 bytes of 0x55 then four zero bytes.
"""

from __future__ import annotations

from protocols.tags.errors import TagDataError
from protocols.tags.model import TagData, checked_set

MODEL = "3m-rfid501"
LENGTH = 32
MARKER = 0x04
ITEM_TYPES = {
    0: "other",
    1: "book",
    2: "magazine",
    3: "bound journal",
    4: "audio tape",
    5: "video",
    6: "CD/CD-ROM",
    7: "diskette",
    8: "book with diskette",
    9: "book with CD/CD-ROM",
    13: "book with audio tape",
}


def is_blank(data: bytes) -> bool:
    return len(data) >= 24 and data[:24] == b"\x55" * 24 and not any(data[24:28])


def looks_like(data: bytes) -> bool:
    if len(data) < 28 or data[0] != MARKER or data[2] != 0x00:
        return False
    barcode = data[4:20].split(b"\0", 1)[0]
    return (
        bool(barcode)
        and all(0x20 < byte < 0x7F for byte in barcode)
        and not any(data[4 + len(barcode) : 20])
    )


def decode(data: bytes) -> TagData:
    if is_blank(data):
        raise TagDataError("blank 3M tag (manufacturing pattern 0x55)")
    if not looks_like(data):
        raise TagDataError("not an RFID501 tag")
    barcode = data[4:20].split(b"\0", 1)[0].decode("ascii")
    branch_library = int.from_bytes(data[20:24], "big")
    custom = int.from_bytes(data[24:28], "big", signed=True)
    item_type = data[3]
    set_size, set_index = checked_set(data[1] & 0x0F or 1, data[1] >> 4 or 1)
    return TagData(
        model=MODEL,
        item_id=barcode,
        set_size=set_size,
        set_index=set_index,
        crc_valid=None,
        fields={
            "item_type": item_type,
            "item_type_name": ITEM_TYPES.get(item_type, f"type {item_type}"),
            "branch": branch_library >> 20,
            "library": branch_library & 0xFFFFF,
            "custom": custom,
        },
    )


def _number(tag: TagData, key: str, limit: int, signed: bool = False) -> int:
    value = tag.fields.get(key, 0)
    if not isinstance(value, int):
        raise TagDataError(f"RFID501 {key} must be an integer")
    low = -(1 << 31) if signed else 0
    if not low <= value < limit:
        raise TagDataError(f"RFID501 {key} {value} out of range")
    return value


def encode(tag: TagData) -> bytes:
    barcode = tag.item_id.encode("ascii")
    if not barcode or len(barcode) > 16 or not all(0x20 < b < 0x7F for b in barcode):
        raise TagDataError(
            f"RFID501 barcode must be 1-16 printable ASCII characters: {tag.item_id!r}"
        )
    if not (1 <= tag.set_size <= 15 and 1 <= tag.set_index <= 15):
        raise TagDataError("RFID501 holds sets of at most 15 parts")
    checked_set(tag.set_size, tag.set_index)
    out = bytearray(LENGTH)
    out[0] = MARKER
    out[1] = tag.set_index << 4 | tag.set_size
    out[3] = _number(tag, "item_type", 256)
    out[4 : 4 + len(barcode)] = barcode
    branch = _number(tag, "branch", 1 << 12)
    library = _number(tag, "library", 1 << 20)
    out[20:24] = (branch << 20 | library).to_bytes(4, "big")
    out[24:28] = _number(tag, "custom", 1 << 31, signed=True).to_bytes(4, "big", signed=True)
    return bytes(out)
