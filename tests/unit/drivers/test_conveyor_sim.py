"""conveyor+sim://: the simulated return machine's mechanics, faults and clocks."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.conveyor import Conveyor, ConveyorEvent, ConveyorEventKind
from drivers.interfaces import DeviceState, DeviceUnavailable
from drivers.registry import DeviceUrlError, open_device
from drivers.sim.conveyor import ConveyorMachine, Fate, SimConveyor
from drivers.sim.field import TagField
from drivers.sim.reader import SimReader, item_tag

K = ConveyorEventKind
_names = itertools.count()


@pytest.fixture
def make() -> Iterator[Callable[[str], SimConveyor]]:
    """Open a conveyor on a fresh machine and field; forget both at the end."""
    opened: list[tuple[SimConveyor, str]] = []

    def make_(query: str = "") -> SimConveyor:
        name = f"belt{next(_names)}"
        conveyor = open_device(f"conveyor+sim://{name}?{query}")
        assert isinstance(conveyor, SimConveyor) and isinstance(conveyor, Conveyor)
        conveyor.open()
        opened.append((conveyor, name))
        return conveyor

    yield make_
    for conveyor, name in opened:
        conveyor.close()
        ConveyorMachine.forget(name)
        TagField.forget(name)


def running(conveyor: SimConveyor) -> SimConveyor:
    conveyor.shutter(True)
    conveyor.belt(True)
    return conveyor


def reader_on(conveyor: SimConveyor) -> SimReader:
    """A sim:// reader opened by name on the field the conveyor carries tags into."""
    name = conveyor.url.removeprefix("conveyor+sim://").partition("?")[0]
    return SimReader(f"sim://{name}?timing=0")


def events_until(
    conveyor: SimConveyor, kind: ConveyorEventKind, limit: float = 60.0
) -> list[ConveyorEvent]:
    """Every event up to and including the first of ``kind``; fails if none comes in ``limit``."""
    seen = []
    end = conveyor.now() + limit
    while conveyor.now() < end:
        event = conveyor.poll(end - conveyor.now())
        if event is None:
            break
        seen.append(event)
        if event.kind is kind:
            return seen
    raise AssertionError(f"no {kind} in {limit} s; saw {seen}")


def test_an_item_passes_every_eye_at_its_travel_time(make: Callable[[str], SimConveyor]) -> None:
    conveyor = running(make("speed=0.5&length=0.25&intake=0.1&reader=0.6&diverters=1.6,2.4&end=4"))
    conveyor.machine.feed([item_tag("B0001")], at=1.0)
    seen = [e for e in events_until(conveyor, K.END_CLEAR) if e.kind.name.startswith("ITEM_AT")]
    assert [(e.kind, e.index) for e in seen] == [
        (K.ITEM_AT_INTAKE, 0),
        (K.ITEM_AT_READER, 0),
        (K.ITEM_AT_DIVERTER, 1),
        (K.ITEM_AT_DIVERTER, 2),
        (K.ITEM_AT_END, 0),
    ]
    # Put in at 1.0 s with its leading edge at 0.25 m, carried at 0.5 m/s.
    expected = [1.0, 1.0 + 0.35 / 0.5, 1.0 + 1.35 / 0.5, 1.0 + 2.15 / 0.5, 1.0 + 3.75 / 0.5]
    assert [e.at for e in seen] == pytest.approx(expected, abs=1e-6)
    (item,) = conveyor.machine.items
    assert item.fate is Fate.IN_EXCEPTION_BIN


def test_the_tag_is_in_the_reader_field_only_while_the_item_is_in_the_zone(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = running(make("reader=0.6&zone=0.3"))
    reader = reader_on(conveyor)
    tag = item_tag("B0002")
    conveyor.machine.feed([tag])
    events_until(conveyor, K.ITEM_AT_INTAKE)
    assert reader.inventory() == []
    events_until(conveyor, K.ITEM_AT_READER)
    assert [seen.uid for seen in reader.inventory()] == [tag.uid]
    events_until(conveyor, K.ITEM_AT_DIVERTER)
    assert reader.inventory() == []


def test_a_diverter_fired_as_the_item_reaches_it_puts_it_in_the_bin(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = running(make("diverters=1.6,2.4,3.2"))
    conveyor.machine.feed([item_tag("B0003")])
    while (event := events_until(conveyor, K.ITEM_AT_DIVERTER)[-1]).index != 2:
        pass
    conveyor.fire(2, 0.3)
    events_until(conveyor, K.DIVERTER_CLEAR)
    assert conveyor.poll(20.0) is None  # nothing reaches the diverter 3 eye or the end
    (item,) = conveyor.machine.items
    assert (item.fate, item.bin) == (Fate.IN_BIN, 2)
    assert conveyor.machine.counts == {1: 0, 2: 1, 3: 0}
    assert event.at == pytest.approx(conveyor.machine.items[0].left_at)


def test_a_pulse_over_before_the_item_arrives_diverts_nothing(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = running(make("diverters=1.6"))
    conveyor.machine.feed([item_tag("B0004")])
    events_until(conveyor, K.ITEM_AT_READER)
    conveyor.fire(1, 0.2)  # the item is still 1 m (2 s) away
    events_until(conveyor, K.ITEM_AT_END)
    assert conveyor.machine.items[0].fate is Fate.ON_BELT
    events_until(conveyor, K.END_CLEAR)
    assert conveyor.machine.items[0].fate is Fate.IN_EXCEPTION_BIN


def test_a_jammed_item_stops_and_the_next_queues_behind_it(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = running(make("diverters=1.6&spacing=1.0"))
    first, second = conveyor.machine.feed([item_tag("B0005"), item_tag("B0006")])
    conveyor.machine.jam(first, at=1.0)
    events = []
    while (event := conveyor.poll(30.0)) is not None:
        events.append(event)
    # Nothing reaches diverter 1: the belt runs, both items stand still.
    assert K.ITEM_AT_DIVERTER not in [e.kind for e in events]
    assert first.position == pytest.approx(1.0, abs=1e-6)
    assert second.position == pytest.approx(1.0 - first.length, abs=1e-6)
    assert conveyor.snapshot().reader  # the first jams across the reader's eye
    conveyor.machine.clear_jam(first)
    assert events_until(conveyor, K.ITEM_AT_DIVERTER)[-1].index == 1


def test_a_slipping_item_goes_past_the_fired_diverter(make: Callable[[str], SimConveyor]) -> None:
    conveyor = running(make("diverters=1.6"))
    (item,) = conveyor.machine.feed([item_tag("B0007")])
    conveyor.machine.slip(item)
    events_until(conveyor, K.ITEM_AT_DIVERTER)
    conveyor.fire(1, 0.5)
    events_until(conveyor, K.END_CLEAR)
    assert item.fate is Fate.IN_EXCEPTION_BIN and conveyor.machine.counts[1] == 0


def test_full_sensors_trip_at_capacity_by_hand_and_clear_when_emptied(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = running(make("diverters=1.6,2.4&capacity=2"))
    conveyor.machine.feed([item_tag(f"B01{n}") for n in range(2)])
    for _ in range(2):
        while events_until(conveyor, K.ITEM_AT_DIVERTER)[-1].index != 1:
            pass
        conveyor.fire(1, 0.3)
    assert events_until(conveyor, K.BIN_FULL)[-1].index == 1
    assert conveyor.snapshot().full == (True, False)
    assert conveyor.machine.empty_bin(1) == 2
    assert events_until(conveyor, K.BIN_NOT_FULL)[-1].index == 1
    conveyor.machine.trip_full(2)
    assert events_until(conveyor, K.BIN_FULL)[-1].index == 2


def test_a_second_item_put_in_too_soon_reads_as_one_long_block(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = running(make("length=0.25&intake=0.1&reader=0.6&zone=0.3"))
    reader = reader_on(conveyor)
    tags = [item_tag("B0008"), item_tag("B0009")]
    conveyor.machine.feed(tags, every=0.1)
    events = events_until(conveyor, K.INTAKE_CLEAR)
    assert [e.kind for e in events].count(K.ITEM_AT_INTAKE) == 1
    conveyor.advance(1.5 - conveyor.now())
    # The two touch on the belt: both tags in the field at once, one block at the eye.
    assert sorted(seen.uid for seen in reader.inventory()) == sorted(t.uid for t in tags)
    events = events_until(conveyor, K.READER_CLEAR)
    assert [e.kind for e in events].count(K.ITEM_AT_READER) == 1


def test_the_shutter_holds_items_until_it_opens(make: Callable[[str], SimConveyor]) -> None:
    conveyor = make("")
    conveyor.belt(True)
    (item,) = conveyor.machine.feed([item_tag("B0010")], at=0.5)
    assert conveyor.poll(5.0) is None
    assert item.fate is Fate.WAITING
    conveyor.shutter(True)
    event = conveyor.poll(0.0)
    assert event is not None and event.kind is K.ITEM_AT_INTAKE
    assert event.at == pytest.approx(5.0)


def test_a_link_drop_stops_the_belt_fails_commands_and_comes_back(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = running(make(""))
    conveyor.machine.drop_link()
    event = conveyor.poll(0.0)
    assert event is not None and event.kind is K.LINK_LOST
    assert conveyor.state is DeviceState.UNAVAILABLE
    snapshot = conveyor.snapshot()
    assert not snapshot.link_up and not snapshot.belt_running and not snapshot.shutter_open
    with pytest.raises(DeviceUnavailable):
        conveyor.belt(True)
    with pytest.raises(DeviceUnavailable):
        conveyor.fire(1, 0.3)
    conveyor.machine.restore_link()
    event = conveyor.poll(0.0)
    assert event is not None and event.kind is K.LINK_BACK
    conveyor.belt(True)
    assert conveyor.snapshot().belt_running and conveyor.state is DeviceState.READY


def test_a_200_item_drop_sorts_every_item_once(make: Callable[[str], SimConveyor]) -> None:
    conveyor = running(make("diverters=1.6,2.4,3.2"))
    items = conveyor.machine.feed([item_tag(f"D{n:04}") for n in range(200)])
    while (event := conveyor.poll(10.0)) is not None:
        if event.kind is K.ITEM_AT_DIVERTER and event.at // 1 % 4 == event.index:
            conveyor.fire(event.index, 0.3)
    machine = conveyor.machine
    assert all(i.fate in (Fate.IN_BIN, Fate.IN_EXCEPTION_BIN) for i in items)
    assert sum(machine.counts.values()) + len(machine.exception_bin) == 200
    assert sum(machine.counts.values()) > 0 and machine.exception_bin
    # The pace of the drop is the belt's floor: one item per spacing.
    last_in = max(i.entered_at or 0.0 for i in items)
    assert last_in == pytest.approx(199 * 1.0 / 0.5)


def test_items_that_waited_at_the_closed_shutter_go_in_one_behind_the_other(
    make: Callable[[str], SimConveyor],
) -> None:
    conveyor = make("diverters=1.6&spacing=1.0&speed=0.5")
    conveyor.belt(True)  # the shutter stays closed (a held belt's intake)
    items = conveyor.machine.feed([item_tag(f"Q{n}") for n in range(4)], every=0.5)
    conveyor.advance(10.0)
    assert all(i.fate is Fate.WAITING for i in items)
    opened = conveyor.now()
    conveyor.shutter(True)
    while conveyor.poll(20.0) is not None:
        pass
    # All were due long ago: they go in at the spacing's pace (2 s), not at once in a pile.
    assert [i.entered_at for i in items] == pytest.approx([opened + 2.0 * n for n in range(4)])
    assert all(i.fate is Fate.IN_EXCEPTION_BIN for i in items)


def test_a_machine_lists_only_the_last_items_that_left_yet_counts_every_one(
    make: Callable[[str], SimConveyor],
) -> None:
    # A harness feeding thousands of items keeps a bounded memory (issue 15).
    conveyor = running(make("diverters=1.6"))
    machine = conveyor.machine
    machine.keep_left = 3
    tags = [item_tag(f"K{n:03}") for n in range(12)]
    items = machine.feed(tags)
    arrivals = itertools.count()
    while (event := conveyor.poll(10.0)) is not None:
        # Items cannot pass each other: the n-th arrival at the eye is the n-th item.
        if event.kind is K.ITEM_AT_DIVERTER and next(arrivals) % 2 == 0:
            conveyor.fire(1, 0.3)
    assert all(i.fate in (Fate.IN_BIN, Fate.IN_EXCEPTION_BIN) for i in items)
    assert (machine.counts[1], machine.exception_count) == (6, 6)
    assert machine.items == items[-3:]
    assert machine.exception_bin == [i for i in items[-3:] if i.fate is Fate.IN_EXCEPTION_BIN]
    assert machine.bin_items(1) == [i for i in items[-3:] if i.fate is Fate.IN_BIN]
    # Nor does the reader's field keep the forgotten items' tags as departed ones.
    assert machine.field is not None
    assert set(machine.field.departed) == {t.uid for t in tags[-3:]}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    gaps=st.lists(st.floats(0.05, 4.0), min_size=1, max_size=8),
    fires=st.lists(st.tuples(st.integers(1, 2), st.floats(0.05, 1.0)), max_size=8),
    jam=st.one_of(st.none(), st.floats(0.3, 3.5)),
)
def test_every_item_ends_in_one_place_and_eyes_alternate(
    make: Callable[[str], SimConveyor],
    gaps: list[float],
    fires: list[tuple[int, float]],
    jam: float | None,
) -> None:
    conveyor = running(make("diverters=1.6,2.4"))
    machine = conveyor.machine
    at = 0.0
    items = []
    for gap in gaps:
        items += machine.feed([item_tag(f"H{len(items)}")], at=at)
        at += gap
    if jam is not None:
        machine.jam(items[0], jam)
    levels: dict[tuple[str, int], bool] = {}
    pending = list(fires)
    while (event := conveyor.poll(15.0)) is not None:
        blocked = event.kind.name.startswith("ITEM_AT")
        if blocked or event.kind.name.endswith("_CLEAR"):
            place = event.kind.name.removeprefix("ITEM_AT_").removesuffix("_CLEAR")
            key = (place, event.index)
            assert levels.get(key, False) != blocked, f"{event} repeats a level"
            levels[key] = blocked
        if event.kind is K.ITEM_AT_DIVERTER and pending:
            diverter, seconds = pending.pop(0)
            conveyor.fire(diverter, seconds)
    in_bins = sum(machine.counts.values())
    ended = [i for i in items if i.fate in (Fate.IN_BIN, Fate.IN_EXCEPTION_BIN)]
    assert in_bins + len(machine.exception_bin) == len(ended)
    for bin_, count in machine.counts.items():
        assert count == len(machine.bin_items(bin_))
    if jam is None:
        assert len(ended) == len(items)


def test_bad_urls_are_refused_with_the_reason() -> None:
    with pytest.raises(DeviceUrlError, match="diverters"):
        open_device("conveyor+sim://bad1?diverters=1,x")
    with pytest.raises(DeviceUrlError, match="in that order"):
        open_device("conveyor+sim://bad2?reader=5&end=4")
    with pytest.raises(DeviceUrlError, match="clock"):
        open_device("conveyor+sim://bad3?clock=fast")
    with pytest.raises(ValueError, match="no diverter 4"):
        open_device("conveyor+sim://bad4").fire(4, 0.3)
    for name in ("bad1", "bad2", "bad3", "bad4"):
        ConveyorMachine.forget(name)
        TagField.forget(name)


def test_the_real_clock_runs_faster_by_its_rate(make: Callable[[str], SimConveyor]) -> None:
    conveyor = running(make("clock=real&rate=20&diverters=1.6"))
    wall = time.monotonic()
    (item,) = conveyor.machine.feed([item_tag("B0011")])
    event = events_until(conveyor, K.ITEM_AT_DIVERTER, limit=60.0)[-1]
    # 1.35 m at 0.5 m/s: 2.7 simulated seconds, exact in the model; 0.135 s of wall time
    # at rate 20 (a loaded machine may wake late, never 20 times late).
    assert item.entered_at is not None
    assert event.at - item.entered_at == pytest.approx(2.7, abs=1e-6)
    assert time.monotonic() - wall < 2.7
    assert conveyor.now() >= event.at
    end = events_until(conveyor, K.END_CLEAR, limit=60.0)[-1]
    assert end.at - item.entered_at == pytest.approx(4.0 / 0.5, abs=1e-6)  # trailing edge 0 → 4 m
    assert item.fate is Fate.IN_EXCEPTION_BIN


def test_firing_on_the_travel_time_from_the_reader_eye_diverts_without_diverter_eyes(
    make: Callable[[str], SimConveyor],
) -> None:
    # The way a machine without diverter eyes is run: reader eye + travel time.
    conveyor = running(make("reader=0.6&diverters=1.6,2.4"))
    geometry = conveyor.machine.geometry
    (item,) = conveyor.machine.feed([item_tag("B0012")])
    seen = events_until(conveyor, K.ITEM_AT_READER)[-1]
    due = seen.at + geometry.travel(geometry.reader, geometry.diverters[1])
    assert due - seen.at == pytest.approx(3.6)
    while conveyor.now() < due:
        conveyor.poll(due - conveyor.now())
    conveyor.fire(2, 0.2)
    events_until(conveyor, K.DIVERTER_CLEAR)
    assert (item.fate, item.bin) == (Fate.IN_BIN, 2)
