"""Reading a tag's data model off a reader: as few blocks as the model needs.

ISO 28560-3 and RFID501 fit in the first 9 blocks (36 bytes); ISO 28560-2
elements may run further, so when the first read does not decode, the rest of
the memory is read once and decoding tried again.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.interfaces import TagReader
from protocols.tags import TagData, TagDataError, decode

FIRST_READ = 9


@dataclass(frozen=True, slots=True)
class TagRead:
    uid: bytes
    memory: bytes
    tag: TagData | None
    error: str = ""
    """Why the memory did not decode (blank, unknown model, …)."""


def read_tag(reader: TagReader, uid: bytes, block_count: int | None = None) -> TagRead:
    """The tag's memory and its decoded content; reader errors propagate (DeviceError)."""
    first = FIRST_READ if block_count is None else min(FIRST_READ, block_count)
    memory = reader.read_blocks(uid, 0, first)
    try:
        return TagRead(uid, memory, decode(memory))
    except TagDataError as error:
        failure = str(error)
    if block_count is None:
        block_count = reader.system_info(uid).block_count
    if block_count > first:
        memory += reader.read_blocks(uid, first, block_count - first)
        try:
            return TagRead(uid, memory, decode(memory))
        except TagDataError as error:
            failure = str(error)
    return TagRead(uid, memory, None, failure)
