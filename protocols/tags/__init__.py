"""Data models on library RFID tags (user memory), sans-IO.

``decode(data)`` detects the model from the bytes and returns :class:`TagData`;
``encode(tag)`` writes it back, block-aligned. Models: ISO 28560-3 and its
predecessor the Danish model (version 1), ISO 28560-2 (ISO 15962 data
elements) and 3M's RFID501. A tag whose model is not recognised raises
:class:`TagDataError` — never a guessed item id. ``SecurityPolicy`` holds a
site's AFI / EAS values. ``isil_key`` is the one way ISILs are compared
(``DK718500`` on a tag is the configured ``DK-718500``).
"""

from protocols.tags.errors import TagDataError
from protocols.tags.isil import isil_key, isil_keys, same_isil
from protocols.tags.model import Extension, TagData
from protocols.tags.registry import MODELS, decode, encode
from protocols.tags.security import PRESETS, SecurityPolicy

__all__ = [
    "MODELS",
    "PRESETS",
    "Extension",
    "SecurityPolicy",
    "TagData",
    "TagDataError",
    "decode",
    "encode",
    "isil_key",
    "isil_keys",
    "same_isil",
]
