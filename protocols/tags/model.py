"""The decoded content of a library tag, common to every data model."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """Model-specific values: RFID501 item type, branch, library, custom; 28560-2 DSFID."""
