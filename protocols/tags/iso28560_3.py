"""ISO 28560-3 fixed-length tags, and the Danish model they grew from.

The 34-byte basic block: byte 0 holds the version (high nibble; 1 is the
Danish model) and the type of usage (low nibble); byte 1 the parts in the
item; byte 2 the part number; bytes 3-18 the primary item id (ASCII, NUL
padded); bytes 19-20 a CRC-16/IBM-3740, least significant byte first, over
bytes 0-18 and 21-33; bytes 21-33 the owner library (country code and ISIL
rest, NUL padded). Optional extension blocks follow: a length byte (the whole
block), a two-byte block id, data and an XOR checksum byte; a 0x00 length ends
the list. (The width of the block id is taken from the Danish model's
description; no real tag with extensions has been seen yet.)
"""

from __future__ import annotations

from protocols.crc import CRC16_IBM_3740
from protocols.tags.errors import TagDataError
from protocols.tags.model import Extension, TagData

BASIC_BLOCK = 34
BLOCK_SIZE = 4
MODELS = {1: "danish", 2: "iso28560-3"}
VERSIONS = {name: version for version, name in MODELS.items()}


def _crc(basic: bytes) -> int:
    return CRC16_IBM_3740(basic[:19] + basic[21:BASIC_BLOCK])


def crc_matches(data: bytes) -> bool:
    return len(data) >= BASIC_BLOCK and _crc(data) == data[19] | data[20] << 8


def reverse_blocks(data: bytes) -> bytes:
    """Each 4-byte block byte-reversed (what some readers return)."""
    usable = len(data) - len(data) % BLOCK_SIZE
    return b"".join(data[i : i + BLOCK_SIZE][::-1] for i in range(0, usable, BLOCK_SIZE))


def looks_like(data: bytes) -> bool:
    """A plausible basic block in either byte order."""
    if len(data) < BASIC_BLOCK:
        return False
    return any(
        candidate[0] >> 4 in MODELS and (candidate[3:4].isalnum() or crc_matches(candidate))
        for candidate in (data, reverse_blocks(data))
    )


def _text(raw: bytes, what: str) -> str:
    value = raw.split(b"\0", 1)[0]
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        raise TagDataError(f"{what} is not ASCII: {value!r}") from None
    if not text.isprintable():
        raise TagDataError(f"{what} has control characters: {text!r}")
    return text


def _extensions(data: bytes) -> tuple[Extension, ...]:
    found: list[Extension] = []
    pos = BASIC_BLOCK
    while pos < len(data) and data[pos] != 0:
        length = data[pos]
        block = data[pos : pos + length]
        if length < 4 or len(block) < length:
            break  # the rest of the memory is not extension data; stop, don't guess
        checksum = 0
        for byte in block[:-1]:
            checksum ^= byte
        if checksum != block[-1]:
            break
        found.append(Extension(block[1] << 8 | block[2], bytes(block[3:-1])))
        pos += length
    return tuple(found)


def decode(data: bytes) -> TagData:
    reversed_data = reverse_blocks(data)
    if crc_matches(data):
        memory, reversed_blocks, crc_ok = data, False, True
    elif crc_matches(reversed_data):
        memory, reversed_blocks, crc_ok = reversed_data, True, True
    else:
        memory, reversed_blocks, crc_ok = data, False, False
    version = memory[0] >> 4
    if version not in MODELS:
        raise TagDataError(f"unknown ISO 28560-3 version {version}")
    item_id = _text(memory[3:19], "primary item identifier")
    if not item_id:
        raise TagDataError("the tag has no primary item identifier")
    return TagData(
        model=MODELS[version],
        item_id=item_id,
        owner_library=_text(memory[21:BASIC_BLOCK], "owner library"),
        set_size=memory[1],
        set_index=memory[2],
        type_of_usage=memory[0] & 0x0F,
        crc_valid=crc_ok,
        blocks_byte_reversed=reversed_blocks,
        version=version,
        extensions=_extensions(memory) if crc_ok else (),
    )


def encode(tag: TagData) -> bytes:
    version = tag.version or VERSIONS[tag.model]
    item = tag.item_id.encode("ascii")
    owner = tag.owner_library.encode("ascii")
    if not item or len(item) > 16:
        raise TagDataError(
            f"primary item identifier must be 1-16 ASCII characters: {tag.item_id!r}"
        )
    if len(owner) > 13:
        raise TagDataError(f"owner library must be at most 13 characters: {tag.owner_library!r}")
    if not (
        0 <= tag.type_of_usage <= 15 and 0 <= tag.set_size <= 255 and 0 <= tag.set_index <= 255
    ):
        raise TagDataError("type of usage, parts in item or part number out of range")
    basic = bytearray(BASIC_BLOCK)
    basic[0] = version << 4 | tag.type_of_usage
    basic[1], basic[2] = tag.set_size, tag.set_index
    basic[3 : 3 + len(item)] = item
    basic[21 : 21 + len(owner)] = owner
    crc = _crc(bytes(basic))
    basic[19], basic[20] = crc & 0xFF, crc >> 8
    out = bytes(basic)
    for extension in tag.extensions:
        block = bytearray(
            [len(extension.data) + 4, extension.block_id >> 8, extension.block_id & 0xFF]
        )
        block += extension.data
        checksum = 0
        for byte in block:
            checksum ^= byte
        out += bytes(block) + bytes([checksum])
    if tag.extensions:
        out += b"\0"
    out += b"\0" * (-len(out) % BLOCK_SIZE)
    return reverse_blocks(out) if tag.blocks_byte_reversed else out
