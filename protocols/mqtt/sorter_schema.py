"""The return machine's fleet events: which kinds there are and the fields each may carry.

The kiosk's and the gate's events are open objects that :func:`event_from_engine`
fills from an allow-list. The sorter's are closed: each kind lists its fields
here, and an event with a field that is not listed, of the wrong type, or
without a required one is refused (on encode and on decode). A sorter event is
about items, bins and machinery, so none of its fields can name a patron; the
one person it may name is the staff member who emptied a bin, by the display
name staff chose to be shown as.

Codes (a sort step, an exception reason, why a belt stopped) are checked as
short lower-case identifiers rather than against closed lists: the sorter owns
their values (``sorter.decision.Step``, ``sorter.reasons.ExceptionReason``) and
may add one without a new payload version; a consumer shows an unknown code as
it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "CODE",
    "SORTER_EVENTS",
    "FieldKind",
    "FieldSpec",
    "SorterEvent",
]

CODE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
"""A code value: what a consumer switches on, never free text."""


class SorterEvent(StrEnum):
    """The sorter's event kinds, one topic each: ``.../events/{kind}``."""

    ITEM_SORTED = "item_sorted"
    """An item was checked in and diverted into a bin; ``reason`` is the sort step."""
    SORT_EXCEPTION = "sort_exception"
    """An item went to the exception bin; ``reason`` says why."""
    BIN_FULL = "bin_full"
    """A bin reached its capacity or its full sensor tripped."""
    BIN_EMPTIED = "bin_emptied"
    """Staff emptied a bin (staff screen or the ``empty_bin`` command); ``count`` items."""
    BELT_STOPPED = "belt_stopped"
    """The belt stopped; ``why`` (jam, plc_lost, staff, bins_full, …)."""
    PLC_LOST = "plc_lost"
    """The link to the PLC (or the relay board) was lost: the belt is stopped safely."""
    PLC_BACK = "plc_back"
    """The link to the PLC is back; ``down_s`` seconds it was lost."""
    INTAKE_CLOSED = "intake_closed"
    """The intake stopped taking items; ``why`` (bins_full, plc_lost, staff, jam, …)."""
    INTAKE_OPENED = "intake_opened"
    """The intake takes items again."""


class FieldKind(StrEnum):
    TEXT = "text"
    """Free text of at most :data:`MAX_TEXT` characters (a title, a destination)."""
    LEVEL = "level"
    """An identifier: 1 to 64 characters, no control characters (an item id, a bin id)."""
    CODE = "code"
    """A :data:`CODE`."""
    COUNT = "count"
    """An integer >= 0."""
    SECONDS = "seconds"
    """A finite number >= 0."""
    FLAG = "flag"
    """true or false."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    kind: FieldKind
    required: bool = False


MAX_TEXT: Final = 200
MAX_LEVEL: Final = 64

_REQ = True

SORTER_EVENTS: Final[dict[str, dict[str, FieldSpec]]] = {
    SorterEvent.ITEM_SORTED: {
        "item_id": FieldSpec(FieldKind.LEVEL, _REQ),
        "bin": FieldSpec(FieldKind.LEVEL, _REQ),
        "reason": FieldSpec(FieldKind.CODE, _REQ),
        "title": FieldSpec(FieldKind.TEXT),
        "destination": FieldSpec(FieldKind.TEXT),
        "offline": FieldSpec(FieldKind.FLAG),
    },
    SorterEvent.SORT_EXCEPTION: {
        # No item id when the tag could not be read at all.
        "item_id": FieldSpec(FieldKind.LEVEL),
        "bin": FieldSpec(FieldKind.LEVEL, _REQ),
        "reason": FieldSpec(FieldKind.CODE, _REQ),
        "title": FieldSpec(FieldKind.TEXT),
    },
    SorterEvent.BIN_FULL: {
        "bin": FieldSpec(FieldKind.LEVEL, _REQ),
        "count": FieldSpec(FieldKind.COUNT, _REQ),
        "capacity": FieldSpec(FieldKind.COUNT),
        "sensor": FieldSpec(FieldKind.FLAG),
    },
    SorterEvent.BIN_EMPTIED: {
        "bin": FieldSpec(FieldKind.LEVEL, _REQ),
        "count": FieldSpec(FieldKind.COUNT, _REQ),
        "staff": FieldSpec(FieldKind.TEXT),
    },
    SorterEvent.BELT_STOPPED: {"why": FieldSpec(FieldKind.CODE, _REQ)},
    SorterEvent.PLC_LOST: {"why": FieldSpec(FieldKind.CODE)},
    SorterEvent.PLC_BACK: {"down_s": FieldSpec(FieldKind.SECONDS)},
    SorterEvent.INTAKE_CLOSED: {"why": FieldSpec(FieldKind.CODE, _REQ)},
    SorterEvent.INTAKE_OPENED: {},
}
"""Kind -> its fields beyond the envelope; nothing else may appear in its payload."""
