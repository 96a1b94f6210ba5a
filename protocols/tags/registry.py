"""Detecting a tag's data model from its bytes and dispatching to its codec."""

from __future__ import annotations

from protocols.tags import iso28560_3
from protocols.tags.errors import TagDataError
from protocols.tags.model import TagData

BLANK_PATTERNS = (0x00, 0x55, 0xFF)


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
    if iso28560_3.looks_like(data):
        return iso28560_3.decode(data)
    raise TagDataError("unknown data model: not ISO 28560-3 or the Danish model")


def encode(tag: TagData) -> bytes:
    if tag.model in iso28560_3.VERSIONS:
        try:
            return iso28560_3.encode(tag)
        except UnicodeEncodeError:
            raise TagDataError("ISO 28560-3 text must be ASCII") from None
    raise TagDataError(f"cannot encode data model {tag.model!r} yet")
