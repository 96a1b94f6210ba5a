"""Detecting a tag's data model from its bytes and dispatching to its codec.

Order matters where models overlap: a first byte 0x11 is both "Danish model,
circulating item" and "ISO 28560-2, integer-compacted item id". A valid ISO
28560-3 CRC is the strongest evidence, then the RFID501 signature, then a
clean parse of ISO 28560-2 elements; only then an ISO 28560-3 layout whose CRC
fails (reported with ``crc_valid=False``). Anything else is an unknown model.
"""

from __future__ import annotations

from protocols.tags import iso28560_2, iso28560_3, rfid501
from protocols.tags.errors import TagDataError
from protocols.tags.model import TagData

BLANK_PATTERNS = (0x00, 0x55, 0xFF)
MODELS = ("iso28560-3", "danish", "iso28560-2", "3m-rfid501")


def decode(data: bytes) -> TagData:
    """The content of a tag's user memory; :class:`TagDataError` when it cannot be read."""
    try:
        data = bytes(data)
    except TypeError:
        raise TagDataError(f"expected bytes, got {type(data).__name__}") from None
    if not data:
        raise TagDataError("no tag data")
    if len(set(data)) == 1 and data[0] in BLANK_PATTERNS:
        raise TagDataError(f"blank tag (every byte 0x{data[0]:02X})")
    if rfid501.is_blank(data):
        raise TagDataError("blank 3M tag (manufacturing pattern 0x55)")
    if iso28560_3.crc_matches(data) or iso28560_3.crc_matches(iso28560_3.reverse_blocks(data)):
        return iso28560_3.decode(data)
    if rfid501.looks_like(data):
        return rfid501.decode(data)
    parsed = iso28560_2.parse(data)
    if parsed is not None:
        return parsed
    if iso28560_3.looks_like(data):
        return iso28560_3.decode(data)
    raise TagDataError(
        "unknown data model: not ISO 28560-3, the Danish model, ISO 28560-2 or 3M RFID501"
    )


def encode(tag: TagData) -> bytes:
    try:
        if tag.model in iso28560_3.VERSIONS:
            return iso28560_3.encode(tag)
        if tag.model == iso28560_2.MODEL:
            return iso28560_2.encode(tag)
        if tag.model == rfid501.MODEL:
            return rfid501.encode(tag)
    except UnicodeEncodeError:
        raise TagDataError(f"{tag.model} text must be ASCII") from None
    raise TagDataError(f"unknown data model {tag.model!r}; known: {', '.join(MODELS)}")
