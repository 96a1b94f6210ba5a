"""What is on the belt: the items between the reader and their bins, the drop, the timings.

The timings are physical (seconds of *belt* time, which stands still while the
belt does): the parts of the machine (:mod:`sorter.belt`, :mod:`sorter.intake`,
:mod:`sorter.ils_step`, :mod:`sorter.counting`) share them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from protocols.tags.model import TagData
from sorter.bins import ManifestItem
from sorter.decision import Decision
from sorter.reasons import ExceptionReason
from sorter.texts import Text

PULSE_SECONDS = 0.4
"""How long a diverter stays out: long enough for the item's leading edge to be caught."""
FIRE_LEAD = 0.05
"""Seconds before the item's arrival the diverter goes out (the valve's switching time)."""
DROP_IDLE = 60.0
"""Seconds of belt time without an item after which an implicit drop ends."""
DROP_MOST = 500
"""Items read after which an implicit drop ends all the same: a stream without a minute's pause
is many patrons', and a drop keeps a line per item for its receipt (issue 15: a machine at
work all day kept every item of one endless drop)."""
HISTORY = 500
"""Events the machine's bus keeps for the ``history`` command. It publishes several per
item, its ``bins`` events listing every bin, so the engine's 2,000 were about 2 MB of a
small machine's memory; the screens follow the events as they come, not this."""
TICK = 0.02
"""Longest wait for a conveyor event, in the conveyor's seconds (results are checked between)."""


class SorterState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    INTAKE_CLOSED = "intake_closed"
    PLC_LOST = "plc_lost"


@dataclass(eq=False)
class InFlight:
    """One item between the reader and its bin."""

    row_id: str
    item_id: str
    read_at: float
    """Conveyor time of the read, moved on by every belt stop (so it is belt time)."""
    tag: TagData | None
    parts: tuple[int, ...] = ()
    checkin: bool = False
    result: dict[str, Any] | None = None
    decision: Decision | None = None
    fire_at: float | None = None
    diverter: int | None = None
    screened: ExceptionReason | None = None
    note: Text | None = None
    uids: tuple[bytes, ...] = ()
    aside: bool = False
    """Its place on the belt is no longer known (a jam, a lost link): it goes to the end."""
    manifest: ManifestItem | None = None
    """Its entry in the bins' counts: bound for its bin when decided, in a bin once landed."""
    fired_at: float | None = None
    """Conveyor time its diverter went out (it lands when the pulse is over)."""
    missed: bool = False
    """Its diverter fired at nothing (a jam held it back): it goes on to the end."""


@dataclass
class Drop:
    id: str
    items: list[dict[str, Any]] = field(default_factory=list)
    explicit: bool = False
    last_at: float = 0.0
    reads: int = 0
    """Items read in it (an implicit drop ends at ``DROP_MOST``)."""
