"""Reading a tag's data model off a reader: as few blocks as the model needs.

ISO 28560-3 and RFID501 fit in the first 9 blocks (36 bytes); ISO 28560-2
elements may run further, so when the first read does not decode, the rest of
the memory is read once and decoding tried again. A tag smaller than the first
read (Tag-it HF-I Standard: 8 blocks, a 32-byte ISO 28560-3 basic block)
refuses it: its size is asked and the whole of it read.

Whatever the bytes are, the answer is a :class:`TagRead`: a memory that does
not decode — or that makes a decoder fail in a way it never should — is a
tag with ``tag=None`` and the reason, never an exception that would take the
other tags of the round down with it. Only reader errors (DeviceError)
propagate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drivers.interfaces import DeviceError, DeviceUnavailable, TagReader
from protocols.tags import TagData, TagDataError, decode

log = logging.getLogger(__name__)

FIRST_READ = 9


@dataclass(frozen=True, slots=True)
class TagRead:
    uid: bytes
    memory: bytes
    tag: TagData | None
    error: str = ""
    """Why the memory did not decode (blank, unknown model, …)."""


def _decoded(uid: bytes, memory: bytes) -> TagData | str:
    """The tag, or why not."""
    try:
        return decode(memory)
    except TagDataError as error:
        return str(error)
    except Exception as error:  # a decoder bug must not silence the pad or the gate
        log.error(
            "tag %s: decoding %d bytes failed unexpectedly: %r",
            uid.hex().upper(),
            len(memory),
            error,
            exc_info=error,
        )
        return f"unreadable tag data ({type(error).__name__})"


def read_tag(reader: TagReader, uid: bytes, block_count: int | None = None) -> TagRead:
    """The tag's memory and its decoded content; reader errors propagate (DeviceError)."""
    first = FIRST_READ if block_count is None else min(FIRST_READ, block_count)
    try:
        memory = reader.read_blocks(uid, 0, first)
    except DeviceUnavailable:
        raise
    except DeviceError:
        if block_count is not None:
            raise
        # Perhaps fewer blocks than the first read: ask, and read what there is.
        block_count = reader.system_info(uid).block_count
        if not 0 < block_count < first:
            raise
        first = block_count
        memory = reader.read_blocks(uid, 0, first)
    decoded = _decoded(uid, memory)
    if isinstance(decoded, TagData):
        return TagRead(uid, memory, decoded)
    if block_count is None:
        block_count = reader.system_info(uid).block_count
    if block_count > first:
        memory += reader.read_blocks(uid, first, block_count - first)
        decoded = _decoded(uid, memory)
        if isinstance(decoded, TagData):
            return TagRead(uid, memory, decoded)
    return TagRead(uid, memory, None, decoded)
