"""Multi-part sets (a book with its CD, a 3-volume dictionary): lent or returned whole.

Which parts are there is read from the pad as it is now, not kept apart: a part
lifted and laid again is simply present again, so the set never looks
incomplete while all its parts lie on the pad.
"""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.pad import PadTag


def set_parts(
    present: Iterable[PadTag], item_id: str, parts: int, uid: bytes
) -> tuple[bytes, ...] | list[int]:
    """The UIDs of the whole set in part order, or the part numbers still missing."""
    if parts <= 1:
        return (uid,)
    found: dict[int, bytes] = {}
    for tag in present:
        data = tag.read.tag if tag.read is not None else None
        if data is not None and data.item_id == item_id and 1 <= data.set_index <= parts:
            found.setdefault(data.set_index, tag.uid)
    missing = [n for n in range(1, parts + 1) if n not in found]
    if missing:
        return missing
    return tuple(found[n] for n in range(1, parts + 1))
