"""Data models on library RFID tags (user memory), sans-IO.

``decode(data)`` detects the model from the bytes and returns :class:`TagData`;
``encode(tag)`` writes it back, block-aligned. Models done so far: ISO 28560-3
and its predecessor the Danish model (version 1). A tag whose model is not
recognised raises :class:`TagDataError` — never a guessed item id.
"""

from protocols.tags.errors import TagDataError
from protocols.tags.model import Extension, TagData
from protocols.tags.registry import decode, encode

__all__ = ["Extension", "TagData", "TagDataError", "decode", "encode"]
