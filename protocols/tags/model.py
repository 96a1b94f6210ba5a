"""The decoded content of a library tag, common to every data model."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocols.tags.errors import TagDataError

MAX_PARTS = 255
"""The most parts a set may have: what ISO 28560-3 holds in its one byte, for every model."""


def checked_set(size: int, index: int) -> tuple[int, int]:
    """Parts in the item and this part's number, or :class:`TagDataError` when they cannot be.

    A set that can never be completed (part 5 of 3, part 0 of 3) or is absurdly large
    would keep a kiosk waiting for parts that do not exist: such a tag is refused like
    any other unreadable one. Writers that leave both bytes 0 (or write "part 1 of 0")
    mean a single item.
    """
    if size == 0 and index in (0, 1):
        return 1, 1
    if not 1 <= size <= MAX_PARTS:
        raise TagDataError(f"a set of {size} parts (at most {MAX_PARTS})")
    if not 1 <= index <= size:
        raise TagDataError(f"part {index} of a {size}-part set")
    return size, index


@dataclass(frozen=True, slots=True)
class Extension:
    """An ISO 28560-3 extension block: its two-byte id and its data."""

    block_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class TagData:
    model: str
    """"iso28560-3", "danish", "iso28560-2" or "3m-rfid501"."""
    item_id: str
    owner_library: str = ""
    set_size: int = 1
    """Parts in the item (a 3-volume set is 3)."""
    set_index: int = 1
    """Which part this tag is on, from 1."""
    type_of_usage: int = 1
    """0 acquisition, 1 circulating item, 2 not for circulation, 7 discarded, 8 patron card."""
    crc_valid: bool | None = None
    """None for models without a CRC."""
    blocks_byte_reversed: bool = False
    """The reader returned every 4-byte block reversed (some readers do)."""
    version: int | None = None
    extensions: tuple[Extension, ...] = ()
    """ISO 28560-3 extension blocks."""
    elements: tuple[tuple[int, str], ...] = ()
    """ISO 28560-2: every data element as (relative OID, text), in tag order."""
    fields: dict[str, object] = field(default_factory=dict)
    """Model-specific values: RFID501 item type, branch, library, custom; 28560-2 DSFID;
    ISO 28560-3 ``basic_block`` 32 for a truncated basic block (32-byte tags)."""
