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

Tags of 32 bytes (Tag-it HF-I Standard: 8 blocks of 4 bytes) hold the basic
block truncated to 32 bytes: the owner library has 11 bytes (21-31), and the
CRC is computed as if bytes 32 and 33 were NUL. That is how libdanrfid
(GallusMax/libdanrfid, CRC.java ``DDCRC``: "fill up with nullbytes to 34";
its DDMDataTest vector ``1101013131…3e4445373035000000000000``, CRC 0x3E51)
and TH Wildau's ISO28560 library (``ISO28560_3_BasicBlock``: a block of 32
bytes or less is "truncated", its CRC data zero-filled) write and read them.
Such a tag decodes with ``fields["basic_block"] == 32`` and is written back
in 32 bytes.
"""

from __future__ import annotations

from protocols.crc import CRC16_IBM_3740
from protocols.tags.errors import TagDataError
from protocols.tags.model import Extension, TagData, checked_set

BASIC_BLOCK = 34
TRUNCATED_BLOCK = 32
"""The basic block of a 32-byte tag: bytes 32-33 (the owner's last two) left out."""
BLOCK_SIZE = 4
MODELS = {1: "danish", 2: "iso28560-3"}
VERSIONS = {name: version for version, name in MODELS.items()}


def _crc(basic: bytes) -> int:
    full = basic[:BASIC_BLOCK].ljust(BASIC_BLOCK, b"\0")
    return CRC16_IBM_3740(full[:19] + full[21:BASIC_BLOCK])


def _basic_size(data: bytes) -> int | None:
    """34 or 32 when ``data`` starts with a basic block whose CRC matches, else None.

    The full block is tried first; a truncated one (bytes 32-33 taken as NUL) when
    the memory is that short, or when the two bytes after it are not NUL (a larger
    tag written by a 32-byte writer keeps whatever was there).
    """
    if len(data) < TRUNCATED_BLOCK:
        return None
    stored = data[19] | data[20] << 8
    if len(data) >= BASIC_BLOCK and _crc(data) == stored:
        return BASIC_BLOCK
    if _crc(data[:TRUNCATED_BLOCK]) == stored:
        return TRUNCATED_BLOCK
    return None


def crc_matches(data: bytes) -> bool:
    return _basic_size(data) is not None


def reverse_blocks(data: bytes) -> bytes:
    """Each 4-byte block byte-reversed (what some readers return)."""
    usable = len(data) - len(data) % BLOCK_SIZE
    return b"".join(data[i : i + BLOCK_SIZE][::-1] for i in range(0, usable, BLOCK_SIZE))


def looks_like(data: bytes) -> bool:
    """A plausible basic block in either byte order."""
    if len(data) < TRUNCATED_BLOCK:
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
    size = _basic_size(data)
    memory, reversed_blocks = data, False
    if size is None:
        size = _basic_size(reversed_data)
        if size is not None:
            memory, reversed_blocks = reversed_data, True
    crc_ok = size is not None
    if size is None:
        size = BASIC_BLOCK if len(data) >= BASIC_BLOCK else TRUNCATED_BLOCK
    if len(memory) < size:
        raise TagDataError(f"ISO 28560-3 needs {size} bytes, the memory has {len(memory)}")
    version = memory[0] >> 4
    if version not in MODELS:
        raise TagDataError(f"unknown ISO 28560-3 version {version}")
    item_id = _text(memory[3:19], "primary item identifier")
    if not item_id:
        raise TagDataError("the tag has no primary item identifier")
    set_size, set_index = checked_set(memory[1], memory[2])
    return TagData(
        model=MODELS[version],
        item_id=item_id,
        owner_library=_text(memory[21:size], "owner library"),
        set_size=set_size,
        set_index=set_index,
        type_of_usage=memory[0] & 0x0F,
        crc_valid=crc_ok,
        blocks_byte_reversed=reversed_blocks,
        version=version,
        extensions=_extensions(memory) if crc_ok and size == BASIC_BLOCK else (),
        fields={"basic_block": TRUNCATED_BLOCK} if size == TRUNCATED_BLOCK else {},
    )


def encode(tag: TagData) -> bytes:
    version = tag.version or VERSIONS[tag.model]
    size = TRUNCATED_BLOCK if tag.fields.get("basic_block") == TRUNCATED_BLOCK else BASIC_BLOCK
    item = tag.item_id.encode("ascii")
    owner = tag.owner_library.encode("ascii")
    if not item or len(item) > 16:
        raise TagDataError(
            f"primary item identifier must be 1-16 ASCII characters: {tag.item_id!r}"
        )
    if len(owner) > size - 21:
        raise TagDataError(
            f"owner library must be at most {size - 21} characters: {tag.owner_library!r}"
        )
    if tag.extensions and size == TRUNCATED_BLOCK:
        raise TagDataError("a 32-byte basic block has no room for extension blocks")
    if not (
        0 <= tag.type_of_usage <= 15 and 0 <= tag.set_size <= 255 and 0 <= tag.set_index <= 255
    ):
        raise TagDataError("type of usage, parts in item or part number out of range")
    checked_set(tag.set_size, tag.set_index)
    basic = bytearray(size)
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
