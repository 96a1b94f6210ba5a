"""``conveyor+sim://NAME?…``: a simulated return machine: belt, eyes, reader field, bins.

The model (:class:`ConveyorMachine`) is a one-dimensional belt in metres from
the intake. Items go in at given times, one behind the other; while the belt
runs they move at its speed; their photo-eyes block and clear as they pass; an
item whose body overlaps the reader's zone has its tag in the reader's
simulated field (``sim://FIELD`` reads it, any driver on that field does);
a diverter that is out while an item's leading edge is in its catch zone
pushes the item into its bin; an item that reaches the belt's end falls into
the exception bin. The model jumps from one change to the next, so every
event carries the exact simulated time of its edge.

Two clocks:
  ``clock=virtual`` (the default) — time moves only when the driver is polled
  (``poll(timeout)`` runs the model until an event or ``timeout`` simulated
  seconds) or told to (``advance``); a 200-item drop runs in a few seconds of
  CPU and the same way every time.
  ``clock=real&rate=R`` — a thread keeps the model at R times the wall clock's
  pace, for a sorter whose ILS answers on real time; ``now()`` reads the
  simulated clock and ``poll`` waits ``timeout / R`` real seconds.

URL parameters (lengths in metres, times in seconds):
  ``speed=0.5`` belt speed (m/s) · ``length=0.25`` item length ·
  ``spacing=1.0`` leading edge to leading edge of a drop fed by ``feed`` ·
  ``intake=0.1`` intake eye · ``reader=0.6`` reader eye and start of its zone ·
  ``zone=0.3`` reader zone length · ``diverters=1.6,2.4,3.2`` diverter eyes ·
  ``catch=0.3`` how far past its eye a diverter still catches an item ·
  ``end=4.0`` end eye, exception bin beyond · ``capacity=0`` items a bin takes
  before its full sensor trips (0: only when tripped by hand) ·
  ``field=NAME`` the reader field's name (default: the conveyor's) ·
  ``clock=virtual|real`` · ``rate=1``.

Fault switches (:class:`ConveyorFaults`, or the methods of the same names):
an input stuck at a level (a dirty eye, a book lying on a sensor), a jam (an
item stops at a position until cleared), a slip (an item goes past a diverter
fired for it), a bin-full sensor tripped by hand, a second item put in too
soon (``feed`` at any times while the shutter is open: nothing keeps two items
apart; those that waited at the closed shutter go in at the intake's pace), a link drop
(commands raise DeviceUnavailable, LINK_LOST is reported, and the machine goes
to its safe state — belt stopped, shutter closed, diverters in — as a PLC's
watchdog does).

Conveyors opened on the same NAME in one process share one machine, so a test
or the Modbus PLC rig feeds items into the machine a driver commands.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from drivers.conveyor import (
    ConveyorEvent,
    ConveyorEventKind,
    ConveyorSnapshot,
    check_diverter,
    edge_event,
    input_names,
    output_names,
    snapshot_of,
)
from drivers.interfaces import DeviceState, DeviceUnavailable
from drivers.registry import DeviceUrl, DeviceUrlError, parse_url
from drivers.sim.field import SimTag, TagField
from drivers.sim.named import Named

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Geometry:
    speed: float = 0.5
    item_length: float = 0.25
    spacing: float = 1.0
    intake: float = 0.1
    reader: float = 0.6
    reader_zone: float = 0.3
    diverters: tuple[float, ...] = (1.6, 2.4, 3.2)
    catch: float = 0.3
    end: float = 4.0
    capacity: int = 0

    def __post_init__(self) -> None:
        if not (self.speed > 0 and self.item_length > 0 and self.spacing > 0):
            raise ValueError("speed, length and spacing must be above 0")
        places = [self.intake, self.reader, *self.diverters, self.end]
        if places != sorted(places) or len(set(places)) != len(places) or self.intake < 0:
            raise ValueError(
                "the intake, reader, diverter and end eyes must lie in that order along the belt"
            )

    def travel(self, start: float, to: float) -> float:
        """Seconds the running belt takes to carry an item from ``start`` to ``to``."""
        return (to - start) / self.speed

    @property
    def floor_per_hour(self) -> float:
        """The most items per hour this belt speed and item spacing allow."""
        return 3600.0 * self.speed / self.spacing

    @classmethod
    def from_url(cls, url: DeviceUrl) -> Geometry:
        default = cls()
        listed = url.params.get("diverters")
        try:
            diverters = (
                tuple(float(part) for part in listed.split(",") if part)
                if listed is not None
                else default.diverters
            )
        except ValueError:
            raise DeviceUrlError(
                f"{url.raw}: diverters={listed!r} is not a list of positions"
            ) from None
        try:
            return cls(
                speed=url.number("speed", default.speed),
                item_length=url.number("length", default.item_length),
                spacing=url.number("spacing", default.spacing),
                intake=url.number("intake", default.intake),
                reader=url.number("reader", default.reader),
                reader_zone=url.number("zone", default.reader_zone),
                diverters=diverters,
                catch=url.number("catch", default.catch),
                end=url.number("end", default.end),
                capacity=url.integer("capacity", default.capacity),
            )
        except ValueError as error:
            if isinstance(error, DeviceUrlError):
                raise
            raise DeviceUrlError(f"{url.raw}: {error}") from None


class Fate(enum.Enum):
    WAITING = "waiting"
    """Scheduled, not yet through the intake (its time has not come, or the shutter is closed)."""
    ON_BELT = "on_belt"
    IN_BIN = "in_bin"
    IN_EXCEPTION_BIN = "in_exception_bin"


@dataclass(eq=False)
class Item:
    number: int
    tag: SimTag | None
    due: float
    length: float
    position: float = 0.0
    """Of the leading edge, metres from the intake."""
    fate: Fate = Fate.WAITING
    bin: int = 0
    entered_at: float | None = None
    left_at: float | None = None
    slipped_past: int = 0
    """The diverter this item is slipping past right now (the slip fault), else 0."""


@dataclass
class ConveyorFaults:
    jam_at: dict[int, float] = field(default_factory=dict)
    """Item number → position (m) where its leading edge stops until ``clear_jam``."""
    slip: set[int] = field(default_factory=set)
    """Item numbers that go past the next diverter fired for them (consumed once)."""
    tripped: set[int] = field(default_factory=set)
    """Bins whose full sensor reads full whatever their count."""
    link_down: bool = False
    stuck: dict[str, bool] = field(default_factory=dict)
    """Input point → the level it reads whatever passes: a dirty eye, a book on a sensor."""


KEEP_LEFT = 1000
"""Items that left the belt a machine still lists by default (see ``ConveyorMachine.keep_left``)."""

Listener = Callable[[str, bool, float], None]
"""Told ``(point, active, at)`` for every input edge, and ``("link", up, at)``."""


class ConveyorMachine(Named):
    """The simulated mechanics; thread-safe, stepped by whoever owns the clock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.geometry = Geometry()
        self.field: TagField | None = None
        self.faults = ConveyorFaults()
        self.time = 0.0
        self.items: list[Item] = []
        """The items waiting or on the belt, and the last ``keep_left`` that left it."""
        self.keep_left = KEEP_LEFT
        """How many items that left the belt (into a bin or off its end) stay listed in
        ``items`` and ``exception_bin``: a harness feeding thousands keeps its memory bounded
        (issue 15); the counts (``counts``, ``exception_count``) go on counting every one."""
        self._left: deque[Item] = deque()
        self._belt: list[Item] = []
        self._waiting: deque[Item] = deque()
        self._numbers = itertools.count(1)
        self.outputs: dict[str, bool] = {}
        self._pulse_until: dict[int, float] = {}
        self.inputs: dict[str, bool] = {}
        self.counts: dict[int, int] = {}
        self.exception_bin: list[Item] = []
        """The items in the exception bin that are still listed (see ``keep_left``)."""
        self.exception_count = 0
        self._listeners: list[Listener] = []
        self._runner: _RealTime | None = None
        self.configure(Geometry())

    def configure(self, geometry: Geometry, field: TagField | None = None) -> None:
        """Set the machine's shape (before items go in); keeps time and listeners."""
        with self.lock:
            self.geometry = geometry
            self.field = field
            diverters = len(geometry.diverters)
            self.outputs = dict.fromkeys(output_names(diverters), False)
            self.inputs = dict.fromkeys(input_names(diverters), False)
            self.counts = dict.fromkeys(range(1, diverters + 1), 0)
            self._pulse_until = dict.fromkeys(range(1, diverters + 1), -math.inf)

    @property
    def diverters(self) -> int:
        return len(self.geometry.diverters)

    def listen(self, listener: Listener) -> None:
        with self.lock:
            self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # --- what patrons and staff do -------------------------------------------------------

    def feed(
        self, tags: Iterable[SimTag | None], at: float | None = None, every: float | None = None
    ) -> list[Item]:
        """Put items in, the first at ``at`` (default now), then one each ``every`` seconds.

        ``every`` defaults to the spacing's travel time, the intake's pace at
        the belt's physical floor; a smaller one puts a second item in too soon.
        """
        with self.lock:
            self.catch_up()
            start = self.time if at is None else at
            step = self.geometry.spacing / self.geometry.speed if every is None else every
            made = []
            for offset, tag in enumerate(tags):
                item = Item(
                    next(self._numbers), tag, start + offset * step, self.geometry.item_length
                )
                self._waiting.append(item)
                self.items.append(item)
                made.append(item)
            return made

    def empty_bin(self, bin_: int) -> int:
        """Staff empty bin ``bin_``: its count back to 0; returns how many items were in it."""
        with self.lock:
            emptied = self.counts[bin_]
            self.counts[bin_] = 0
            self._sense(self.time)
            return emptied

    def bin_items(self, bin_: int) -> list[Item]:
        """The items in bin ``bin_`` that are still listed (see ``keep_left``)."""
        with self.lock:
            return [i for i in self.items if i.fate is Fate.IN_BIN and i.bin == bin_]

    # --- fault switches --------------------------------------------------------------------

    def jam(self, item: Item, at: float) -> None:
        with self.lock:
            self.faults.jam_at[item.number] = at

    def clear_jam(self, item: Item) -> None:
        with self.lock:
            self.faults.jam_at.pop(item.number, None)

    def slip(self, item: Item) -> None:
        with self.lock:
            self.faults.slip.add(item.number)

    def trip_full(self, bin_: int, full: bool = True) -> None:
        with self.lock:
            (self.faults.tripped.add if full else self.faults.tripped.discard)(bin_)
            self._sense(self.time)

    def stick(self, point: str, level: bool | None) -> None:
        """Input ``point`` (``intake``, ``at2``, ``full1``…) reads ``level`` until given None."""
        with self.lock:
            if point not in self.inputs:
                raise ValueError(f"no input {point!r}; known: {', '.join(self.inputs)}")
            if level is None:
                self.faults.stuck.pop(point, None)
            else:
                self.faults.stuck[point] = level
            self._sense(self.time)

    def drop_link(self) -> None:
        """The link to the machine is lost: it goes to its safe state, commands fail."""
        with self.lock:
            if self.faults.link_down:
                return
            self.faults.link_down = True
            for name in self.outputs:
                self.outputs[name] = False
            for number in self._pulse_until:
                self._pulse_until[number] = -math.inf
            self._tell("link", False, self.time)

    def restore_link(self) -> None:
        with self.lock:
            if not self.faults.link_down:
                return
            self.faults.link_down = False
            self._tell("link", True, self.time)

    # --- what the controller does (the drivers call these) -----------------------------------

    def catch_up(self) -> None:
        """On a real-time pace, bring the model up to the clock before a command lands."""
        with self.lock:
            if self._runner is not None:
                self.advance_to(self._runner.now())

    def set_output(self, name: str, on: bool) -> None:
        with self.lock:
            self.catch_up()
            if self.faults.link_down:
                raise DeviceUnavailable("conveyor link is down")
            if name not in self.outputs:
                raise ValueError(f"no output {name!r}; known: {', '.join(self.outputs)}")
            opened = name == "shutter" and on and not self.outputs["shutter"]
            self.outputs[name] = on
            if opened:
                self._queue_at_intake()
            if self.outputs["shutter"]:
                self._admit(self.time)
            self._sense(self.time)

    def _queue_at_intake(self) -> None:
        """The items that waited at the closed shutter go in as it opens one behind the
        other, at the intake's pace, as a patron puts them in: not all at the same instant
        on top of each other, a pile that jammed the belt after every long hold (the
        footprint bench's 1,500 items at 10x stopped so)."""
        step = self.geometry.spacing / self.geometry.speed
        at = self.time
        for item in self._waiting:
            if item.due >= at:
                break  # from here on they were put in at their own pace
            item.due = at
            at += step

    def pulse(self, diverter: int, seconds: float) -> None:
        with self.lock:
            self.catch_up()
            if self.faults.link_down:
                raise DeviceUnavailable("conveyor link is down")
            check_diverter("conveyor", diverter, self.diverters, seconds)
            self._pulse_until[diverter] = self.time + seconds
            self._divert(self.time)
            self._sense(self.time)

    def diverter_out(self, diverter: int) -> bool:
        with self.lock:
            return self.outputs[f"diverter{diverter}"] or self.time < self._pulse_until[diverter]

    # --- time ------------------------------------------------------------------------------

    def advance_to(self, until: float, stop: Callable[[], bool] | None = None) -> None:
        """Run the mechanics up to ``until`` (simulated seconds), or until ``stop()`` is true.

        The model jumps from one change to the next (an edge reaching an eye or
        a zone's end, an item due, a pulse ending), so an hour's drop costs a
        few thousand steps, and each change lands at its exact time.
        """
        with self.lock:
            while self.time < until - 1e-12:
                if stop is not None and stop():
                    return
                self._step(min(self._next_change(), until - self.time))

    def _step(self, dt: float) -> None:
        now = self.time + dt
        self.time = now
        if self.outputs["belt"]:
            self._move(dt)
        self._admit(now)
        self._divert(now)
        self._fall_off(now)
        self._sense(now)

    def _next_change(self) -> float:
        """Seconds until the next thing that can change an input, a fate or a tag's place."""
        geometry = self.geometry
        soonest = math.inf
        if self.outputs["shutter"] and self._waiting:
            soonest = min(soonest, self._waiting[0].due - self.time)
        for number, until in self._pulse_until.items():
            if until > self.time and not self.outputs[f"diverter{number}"]:
                soonest = min(soonest, until - self.time)
        if self.outputs["belt"]:
            eyes = [geometry.intake, geometry.reader, *geometry.diverters, geometry.end]
            leading_marks = [*eyes, *(d + geometry.catch for d in geometry.diverters)]
            trailing_marks = [*eyes, geometry.reader + geometry.reader_zone]
            ahead: Item | None = None
            for item in self._belt:
                marks = list(leading_marks)
                stop = self.faults.jam_at.get(item.number)
                if stop is not None:
                    marks.append(stop)
                if ahead is not None:
                    marks.append(ahead.position - ahead.length)
                lead = item.position
                trail = lead - item.length
                gaps = [m - lead for m in marks if m > lead + 1e-9]
                gaps += [m - trail for m in trailing_marks if m > trail + 1e-9]
                if gaps:
                    soonest = min(soonest, min(gaps) / geometry.speed)
                ahead = item
        # A hair past the mark, so the edge is on the far side of it when we look.
        return max(soonest, 0.0) + 1e-9 / geometry.speed

    def _admit(self, now: float) -> None:
        """Items whose time has come go through an open shutter onto the belt at the intake."""
        if not self.outputs["shutter"]:
            return
        while self._waiting and self._waiting[0].due <= now + 1e-12:
            item = self._waiting.popleft()
            item.fate = Fate.ON_BELT
            item.position = item.length
            item.entered_at = now
            self._belt.append(item)
            log.debug("item %d in at %.3f", item.number, now)

    def _on_belt(self) -> list[Item]:
        """Items on the belt, front first (they cannot pass each other, so entry order)."""
        return list(self._belt)

    def _leave(self, item: Item, fate: Fate, now: float) -> None:
        item.fate = fate
        item.left_at = now
        self._belt.remove(item)
        if item.tag is not None and self.field is not None and item.tag.uid in self.field.tags:
            self.field.remove(item.tag.uid)
        if fate is Fate.IN_EXCEPTION_BIN:
            self.exception_bin.append(item)
            self.exception_count += 1
        self._left.append(item)
        while len(self._left) > max(0, self.keep_left):
            self._forget(self._left.popleft())

    def _forget(self, item: Item) -> None:
        """No longer list an item that left long ago, nor keep its tag as one gone from the
        field (it went with the item); the bins' counts still include it."""
        self.items.remove(item)
        self.faults.jam_at.pop(item.number, None)
        self.faults.slip.discard(item.number)
        if item.fate is Fate.IN_EXCEPTION_BIN:
            self.exception_bin.remove(item)
        tag = item.tag
        if tag is not None and self.field is not None:
            with self.field.lock:
                if self.field.departed.get(tag.uid) is tag:
                    del self.field.departed[tag.uid]

    def _move(self, dt: float) -> None:
        ahead: Item | None = None
        for item in self._on_belt():
            target = item.position + self.geometry.speed * dt
            stop = self.faults.jam_at.get(item.number)
            if stop is not None:
                target = min(target, max(item.position, stop))
            if ahead is not None:
                # Items do not pass through each other: one behind a jam queues up.
                target = min(target, max(item.position, ahead.position - ahead.length))
            item.position = target
            ahead = item

    def _divert(self, now: float) -> None:
        geometry = self.geometry
        for item in self._on_belt():
            for number, eye in enumerate(geometry.diverters, start=1):
                inside = eye <= item.position <= eye + geometry.catch
                if item.slipped_past == number and not inside:
                    item.slipped_past = 0
                if not inside or not self.diverter_out(number) or item.slipped_past == number:
                    continue
                if item.number in self.faults.slip:
                    self.faults.slip.discard(item.number)
                    item.slipped_past = number
                    log.debug("item %d slips past diverter %d", item.number, number)
                    continue
                item.bin = number
                self._leave(item, Fate.IN_BIN, now)
                self.counts[number] += 1
                break

    def _fall_off(self, now: float) -> None:
        for item in self._on_belt():
            if item.position - item.length > self.geometry.end:
                self._leave(item, Fate.IN_EXCEPTION_BIN, now)

    def _sense(self, now: float) -> None:
        geometry = self.geometry
        on_belt = self._on_belt()

        def blocked(eye: float) -> bool:
            return any(i.position - i.length < eye <= i.position for i in on_belt)

        levels = {
            "intake": blocked(geometry.intake),
            "reader": blocked(geometry.reader),
            "end": blocked(geometry.end),
        }
        for number, eye in enumerate(geometry.diverters, start=1):
            levels[f"at{number}"] = blocked(eye)
            capacity = geometry.capacity
            levels[f"full{number}"] = number in self.faults.tripped or (
                capacity > 0 and self.counts[number] >= capacity
            )
        levels.update(self.faults.stuck)
        self._update_field(on_belt)
        for name, level in levels.items():
            if self.inputs[name] != level:
                self.inputs[name] = level
                self._tell(name, level, now)

    def _update_field(self, on_belt: list[Item]) -> None:
        if self.field is None:
            return
        start = self.geometry.reader
        stop = start + self.geometry.reader_zone
        inside = {
            i.tag.uid
            for i in on_belt
            if i.tag is not None and i.position > start and i.position - i.length < stop
        }
        for item in on_belt:
            if item.tag is None:
                continue
            present = item.tag.uid in self.field.tags
            if item.tag.uid in inside and not present:
                self.field.place(item.tag)
            elif item.tag.uid not in inside and present:
                self.field.remove(item.tag.uid)

    def _tell(self, name: str, active: bool, at: float) -> None:
        for listener in list(self._listeners):
            listener(name, active, at)

    # --- a real-time pace, for drivers and the PLC rig that run on the wall clock -----------

    def run_realtime(self, rate: float = 1.0) -> None:
        """Keep the model at ``rate`` times the wall clock's pace from now on (idempotent)."""
        with self.lock:
            if self._runner is None:
                self._runner = _RealTime(self, rate)
                self._runner.start()

    def stop_realtime(self) -> None:
        with self.lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()

    @property
    def realtime(self) -> _RealTime | None:
        return self._runner


class _RealTime:
    """A thread advancing a machine with the wall clock, ``rate`` times faster."""

    def __init__(self, machine: ConveyorMachine, rate: float) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be above 0, not {rate}")
        self.machine = machine
        self.rate = rate
        self._origin_sim = machine.time
        self._origin_wall = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="conveyor-sim", daemon=True)

    def now(self) -> float:
        return self._origin_sim + (time.monotonic() - self._origin_wall) * self.rate

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        # Every 2 ms of wall time the model catches up with the clock (several changes at
        # once at high rates): events are seen up to 2 ms late, timestamped exactly.
        while not self._stop.wait(0.002):
            self.machine.advance_to(self.now())


def machine_for(url: DeviceUrl) -> ConveyorMachine:
    """The machine named by the URL, shaped by its parameters when it is new."""
    name = url.target or "conveyor"
    geometry = Geometry.from_url(url)  # a bad URL names no machine into being
    fresh = not ConveyorMachine.exists(name)
    machine = ConveyorMachine.named(name)
    if fresh:
        machine.configure(geometry, TagField.named(url.params.get("field", name)))
    return machine


class SimConveyor:
    """The :class:`~drivers.conveyor.Conveyor` interface on a simulated machine."""

    def __init__(self, url: DeviceUrl | str) -> None:
        parts = parse_url(url) if isinstance(url, str) else url
        self.url = parts.raw
        self.machine = machine_for(parts)
        self.diverters = self.machine.diverters
        mode = parts.params.get("clock", "virtual")
        if mode not in {"virtual", "real"}:
            raise DeviceUrlError(f"{self.url}: clock={mode!r} is neither virtual nor real")
        self.virtual = mode == "virtual"
        self.rate = parts.number("rate", 1.0)
        if not self.rate > 0:
            raise DeviceUrlError(f"{self.url}: rate={self.rate} must be above 0")
        self._events: deque[ConveyorEvent] = deque()
        self._arrived = threading.Condition(self.machine.lock)
        self._state = DeviceState.CLOSED

    @property
    def state(self) -> DeviceState:
        if self._state is DeviceState.READY and self.machine.faults.link_down:
            return DeviceState.UNAVAILABLE
        return self._state

    def open(self) -> None:
        with self.machine.lock:
            if self._state is DeviceState.READY:
                return
            self.machine.listen(self._heard)
            self._state = DeviceState.READY
        if not self.virtual:
            self.machine.run_realtime(self.rate)
        if not self.machine.faults.link_down:
            for name in ("belt", "shutter"):
                self.machine.set_output(name, False)

    def close(self) -> None:
        with self.machine.lock:
            if self._state is DeviceState.CLOSED:
                return
            self._state = DeviceState.CLOSED
            self.machine.unlisten(self._heard)
            if not self.machine.faults.link_down:
                for name in ("belt", "shutter"):
                    self.machine.set_output(name, False)
        if not self.virtual:
            self.machine.stop_realtime()

    def now(self) -> float:
        runner = self.machine.realtime
        return self.machine.time if self.virtual or runner is None else runner.now()

    def belt(self, run: bool) -> None:
        self._command(lambda: self.machine.set_output("belt", run))

    def shutter(self, open_: bool) -> None:
        self._command(lambda: self.machine.set_output("shutter", open_))

    def fire(self, diverter: int, seconds: float) -> None:
        check_diverter(self.url, diverter, self.diverters, seconds)
        self._command(lambda: self.machine.pulse(diverter, seconds))

    def snapshot(self) -> ConveyorSnapshot:
        with self.machine.lock:
            return snapshot_of(
                dict(self.machine.inputs),
                dict(self.machine.outputs),
                self.diverters,
                not self.machine.faults.link_down,
            )

    def advance(self, seconds: float) -> None:
        """Virtual clock: run the machine ``seconds`` ahead (events queue up for ``poll``)."""
        if not self.virtual:
            raise RuntimeError(f"{self.url}: advance() is for clock=virtual")
        self.machine.advance_to(self.machine.time + seconds)

    def poll(self, timeout: float) -> ConveyorEvent | None:
        if self._state is DeviceState.CLOSED:
            self.open()
        with self.machine.lock:
            if self.virtual:
                end = self.machine.time + max(0.0, timeout)
                self.machine.advance_to(end, stop=lambda: bool(self._events))
            else:
                self._arrived.wait_for(lambda: bool(self._events), max(0.0, timeout) / self.rate)
            return self._events.popleft() if self._events else None

    def _command(self, action: Callable[[], None]) -> None:
        if self._state is DeviceState.CLOSED:
            self.open()
        action()

    def _heard(self, name: str, active: bool, at: float) -> None:
        """The machine's listener, called with its lock held."""
        if name == "link":
            kind = ConveyorEventKind.LINK_BACK if active else ConveyorEventKind.LINK_LOST
            self._events.append(ConveyorEvent(kind, at))
        else:
            self._events.append(edge_event(name, active, at))
        self._arrived.notify_all()
