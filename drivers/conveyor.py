"""The return machine's mechanics as the sorter sees them: one small interface, three drivers.

A return machine is an intake (a shutter and a photo-eye), an RFID reader over
the belt, a belt motor, diverters each in front of a bin with a full sensor,
and an exception bin at the belt's end. The sorter commands three kinds of
output (shutter, belt, diverter pulses) and hears back edges of the inputs as
:class:`ConveyorEvent`: the photo-eyes (intake, reader, one at each diverter,
the belt's end), the bin-full sensors, and the link to the machine itself.

Drivers, opened by URL through :mod:`drivers.registry`:

- ``conveyor+sim://NAME?…`` — :mod:`drivers.sim.conveyor`, a simulated belt
  with items carrying tags into a simulated reader field, virtual time or a
  speed factor, and fault switches;
- ``gpio+conveyor://?…`` — :mod:`drivers.conveyor_gpio`, relays and sensors on
  a Raspberry Pi's pins through gpiozero;
- ``modbus+tcp://HOST:PORT?…`` — :mod:`drivers.conveyor_modbus`, a PLC over
  Modbus TCP through pymodbus.

Time: every event carries ``at`` on the driver's own monotonic clock, which
``now()`` reads. Real hardware uses ``time.monotonic``; the simulator runs
faster than the wall (or in virtual time) and the sorter must take its time
from ``now()`` so travel times stay physical. ``poll(timeout)`` waits at most
``timeout`` seconds of that same clock.
"""

from __future__ import annotations

import enum
import queue
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from drivers.interfaces import DeviceState


class ConveyorEventKind(enum.Enum):
    ITEM_AT_INTAKE = "item_at_intake"
    """The intake photo-eye is blocked: an item is in the opening."""
    INTAKE_CLEAR = "intake_clear"
    ITEM_AT_READER = "item_at_reader"
    """The reader's photo-eye is blocked: the item's tag is in the reader's field."""
    READER_CLEAR = "reader_clear"
    ITEM_AT_DIVERTER = "item_at_diverter"
    """The item's leading edge reached diverter ``index``'s photo-eye: fire now to divert it."""
    DIVERTER_CLEAR = "diverter_clear"
    """Diverter ``index``'s eye is clear again: the item went past or into the bin."""
    ITEM_AT_END = "item_at_end"
    """The item reached the belt's end and falls into the exception bin."""
    END_CLEAR = "end_clear"
    BIN_FULL = "bin_full"
    BIN_NOT_FULL = "bin_not_full"
    LINK_LOST = "link_lost"
    """The machine stopped answering (PLC unreachable); commands fail until LINK_BACK."""
    LINK_BACK = "link_back"


@dataclass(frozen=True, slots=True)
class ConveyorEvent:
    kind: ConveyorEventKind
    at: float
    """The driver's ``now()`` when the change was seen."""
    index: int = 0
    """The diverter or bin number (1, 2, …) for diverter and bin events, else 0."""


@dataclass(frozen=True, slots=True)
class ConveyorSnapshot:
    """Every input and output at one moment: for staff screens, and to resync after a link loss."""

    belt_running: bool
    shutter_open: bool
    intake: bool
    reader: bool
    at_diverter: tuple[bool, ...]
    end: bool
    full: tuple[bool, ...]
    link_up: bool = True


@runtime_checkable
class Conveyor(Protocol):
    """A return machine's belt, intake, diverters and sensors."""

    url: str
    diverters: int
    """How many diverters (and bins with full sensors) there are, numbered from 1."""

    @property
    def state(self) -> DeviceState: ...

    def open(self) -> None:
        """Claim the pins or connect; belt stopped, shutter closed, diverters off."""

    def close(self) -> None:
        """Belt stopped, shutter closed, everything off where the link still allows."""

    def now(self) -> float:
        """The clock of event timestamps and of ``poll`` timeouts (monotonic seconds)."""

    def belt(self, run: bool) -> None: ...

    def shutter(self, open_: bool) -> None: ...

    def fire(self, diverter: int, seconds: float) -> None:
        """Diverter ``diverter`` out for ``seconds``, then back, without blocking the caller."""

    def snapshot(self) -> ConveyorSnapshot: ...

    def poll(self, timeout: float) -> ConveyorEvent | None:
        """The next event, or None when ``timeout`` seconds of ``now()`` pass without one."""


# --- input and output points, shared by the drivers that map them to pins or registers ------

INPUT_EDGES: dict[str, tuple[ConveyorEventKind, ConveyorEventKind]] = {
    "intake": (ConveyorEventKind.ITEM_AT_INTAKE, ConveyorEventKind.INTAKE_CLEAR),
    "reader": (ConveyorEventKind.ITEM_AT_READER, ConveyorEventKind.READER_CLEAR),
    "at": (ConveyorEventKind.ITEM_AT_DIVERTER, ConveyorEventKind.DIVERTER_CLEAR),
    "end": (ConveyorEventKind.ITEM_AT_END, ConveyorEventKind.END_CLEAR),
    "full": (ConveyorEventKind.BIN_FULL, ConveyorEventKind.BIN_NOT_FULL),
}
"""Input point kinds and the events of their rising and falling edges."""


def input_names(diverters: int) -> tuple[str, ...]:
    """``intake, reader, at1…atN, end, full1…fullN``: the names of every input point."""
    at = tuple(f"at{n}" for n in range(1, diverters + 1))
    full = tuple(f"full{n}" for n in range(1, diverters + 1))
    return ("intake", "reader", *at, "end", *full)


def output_names(diverters: int) -> tuple[str, ...]:
    """``belt, shutter, diverter1…diverterN``: the names of every output point."""
    return ("belt", "shutter", *(f"diverter{n}" for n in range(1, diverters + 1)))


def split_point(name: str) -> tuple[str, int]:
    """``"at2"`` → ``("at", 2)``; ``"intake"`` → ``("intake", 0)``."""
    stem = name.rstrip("0123456789")
    return stem, int(name[len(stem) :]) if len(stem) < len(name) else 0


def edge_event(name: str, active: bool, at: float) -> ConveyorEvent:
    """The event for input point ``name`` becoming ``active`` (blocked, full) or not."""
    stem, index = split_point(name)
    rising, falling = INPUT_EDGES[stem]
    return ConveyorEvent(rising if active else falling, at, index)


def snapshot_of(
    inputs: dict[str, bool], outputs: dict[str, bool], diverters: int, link_up: bool
) -> ConveyorSnapshot:
    return ConveyorSnapshot(
        belt_running=outputs.get("belt", False),
        shutter_open=outputs.get("shutter", False),
        intake=inputs.get("intake", False),
        reader=inputs.get("reader", False),
        at_diverter=tuple(inputs.get(f"at{n}", False) for n in range(1, diverters + 1)),
        end=inputs.get("end", False),
        full=tuple(inputs.get(f"full{n}", False) for n in range(1, diverters + 1)),
        link_up=link_up,
    )


def check_diverter(url: str, diverter: int, diverters: int, seconds: float) -> None:
    """Refuse a diverter that does not exist or a pulse of no length, naming both."""
    if not 1 <= diverter <= diverters:
        raise ValueError(f"{url}: no diverter {diverter}; there are 1 to {diverters}")
    if not seconds > 0:
        raise ValueError(f"{url}: a diverter pulse lasts more than 0 seconds, not {seconds}")


class EventQueue:
    """The events of one driver, waited for on the real clock (drivers on hardware)."""

    def __init__(self) -> None:
        self._events: queue.Queue[ConveyorEvent] = queue.Queue()

    def put(self, event: ConveyorEvent) -> None:
        self._events.put(event)

    def get(self, timeout: float) -> ConveyorEvent | None:
        try:
            return self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait()
        except queue.Empty:
            return None
