"""modbus+tcp:// against pymodbus's own Modbus TCP server on loopback, wired to the simulator."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from drivers.conveyor import ConveyorEvent, ConveyorEventKind
from drivers.conveyor_modbus import ModbusConveyor, PlcMap
from drivers.interfaces import DeviceError, DeviceState, DeviceUnavailable
from drivers.registry import DeviceUrlError, open_device, parse_url
from drivers.sim.conveyor import ConveyorMachine, Fate, Geometry
from drivers.sim.conveyor_plc import SimPlc, standard_plc
from drivers.sim.field import TagField
from drivers.sim.reader import item_tag

K = ConveyorEventKind
_names = itertools.count()


@dataclass
class Rig:
    machine: ConveyorMachine
    plc: SimPlc
    conveyor: ModbusConveyor


@pytest.fixture
def rig() -> Iterator[Rig]:
    name = f"plc-belt{next(_names)}"
    machine = ConveyorMachine.named(name)
    machine.configure(Geometry(diverters=(1.6, 2.4)), TagField.named(name))
    machine.run_realtime(rate=2.0)  # a diverter catches an item for 0.3 s of wall time
    plc = standard_plc(machine, watchdog=0.5)
    plc.start()
    conveyor = open_device(plc.url(poll="0.01", timeout="0.3"))
    assert isinstance(conveyor, ModbusConveyor)
    conveyor.open()
    yield Rig(machine, plc, conveyor)
    conveyor.close()
    plc.close()
    machine.stop_realtime()
    ConveyorMachine.forget(name)
    TagField.forget(name)


def next_event(
    conveyor: ModbusConveyor, kind: ConveyorEventKind, limit: float = 10.0
) -> ConveyorEvent:
    """The next event of ``kind`` (others are skipped); fails after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while (left := deadline - time.monotonic()) > 0:
        event = conveyor.poll(left)
        if event is not None and event.kind is kind:
            return event
    raise AssertionError(f"no {kind} in {limit} s")


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_commands_switch_the_plc_coils_and_the_machine(rig: Rig) -> None:
    conveyor, machine = rig.conveyor, rig.machine
    assert conveyor.state is DeviceState.READY and conveyor.diverters == 2
    conveyor.belt(True)
    conveyor.shutter(True)
    assert machine.outputs["belt"] and machine.outputs["shutter"]
    conveyor.fire(2, 0.3)
    assert machine.diverter_out(2) and not machine.diverter_out(1)
    wait_for(lambda: not machine.diverter_out(2))
    conveyor.belt(False)
    assert not machine.outputs["belt"]
    wait_for(lambda: not conveyor.snapshot().belt_running)


def test_items_are_seen_through_the_plc_and_diverted_by_it(rig: Rig) -> None:
    conveyor, machine = rig.conveyor, rig.machine
    conveyor.shutter(True)
    conveyor.belt(True)
    # 1.5 m apart: the first is in bin 2 before the second reaches diverter 1.
    first, second = machine.feed([item_tag("M0001"), item_tag("M0002")], every=3.0)
    wanted = [2, 1]  # the first item to bin 2, the second to bin 1
    next_event(conveyor, K.ITEM_AT_INTAKE)
    next_event(conveyor, K.ITEM_AT_READER)
    while wanted:
        event = next_event(conveyor, K.ITEM_AT_DIVERTER)
        if event.index == wanted[0]:
            conveyor.fire(wanted.pop(0), 0.15)
    wait_for(lambda: first.fate is Fate.IN_BIN and second.fate is Fate.IN_BIN)
    assert (first.bin, second.bin) == (2, 1)
    assert machine.counts == {1: 1, 2: 1}


def test_the_heartbeat_keeps_the_plc_watchdog_quiet_until_the_driver_stops(rig: Rig) -> None:
    conveyor, machine, plc = rig.conveyor, rig.machine, rig.plc
    # A watchdog a loaded test machine cannot trip by stalling the driver's thread
    # (0.5 s did once in CI); the point here is that beats keep it quiet at all.
    plc.watchdog = 2.5
    conveyor.belt(True)
    beats = plc.heartbeats
    wait_for(lambda: plc.heartbeats >= beats + 20)
    assert plc.watchdog_trips == 0 and machine.outputs["belt"]
    # A muontra that goes quiet without switching anything off: the PLC's watchdog does it.
    conveyor._stop.set()
    wait_for(lambda: plc.watchdog_trips == 1, timeout=10.0)
    assert not machine.outputs["belt"]


def test_plc_stopped_mid_drop_link_lost_then_back(rig: Rig) -> None:
    conveyor, machine, plc = rig.conveyor, rig.machine, rig.plc
    conveyor.shutter(True)
    conveyor.belt(True)
    machine.feed([item_tag(f"M01{n}") for n in range(3)], every=0.5)
    next_event(conveyor, K.ITEM_AT_READER)
    plc.stop()
    lost = next_event(conveyor, K.LINK_LOST, limit=5.0)
    assert conveyor.state is DeviceState.UNAVAILABLE and not conveyor.snapshot().link_up
    with pytest.raises(DeviceUnavailable, match="link is down"):
        conveyor.belt(False)
    with pytest.raises(DeviceUnavailable):
        conveyor.fire(1, 0.2)
    # The PLC's watchdog stops the belt while nobody can reach it.
    wait_for(lambda: not machine.outputs["belt"])
    plc.start()
    back = next_event(conveyor, K.LINK_BACK, limit=10.0)
    assert back.at > lost.at and conveyor.state is DeviceState.READY
    conveyor.belt(True)
    assert machine.outputs["belt"]
    # The items that were on the belt move again and are seen again.
    next_event(conveyor, K.ITEM_AT_DIVERTER)


def test_a_plc_absent_at_open_is_reported_and_joined_when_it_comes(rig: Rig) -> None:
    machine = rig.machine
    later = standard_plc(machine, watchdog=None)
    later.start()
    port = later.port
    later.stop()
    conveyor = open_device(later.url(poll="0.01", timeout="0.3"))
    assert isinstance(conveyor, ModbusConveyor)
    try:
        with pytest.raises(DeviceUnavailable, match="not answering"):
            conveyor.open()
        said = conveyor.poll(1.0)
        assert said is not None and said.kind is K.LINK_LOST
        later.start()
        assert later.port == port
        next_event(conveyor, K.LINK_BACK)
        conveyor.belt(True)
        assert machine.outputs["belt"]
    finally:
        conveyor.close()
        later.close()


def test_a_map_the_plc_does_not_have_is_refused_at_open_not_called_absent(rig: Rig) -> None:
    bad = open_device(rig.plc.url(poll="0.01").replace("belt=0", "belt=900"))
    assert isinstance(bad, ModbusConveyor)
    try:
        with pytest.raises(DeviceError, match=r"refused.*register map") as refused:
            bad.open()
        assert not isinstance(refused.value, DeviceUnavailable)
    finally:
        bad.close()


def test_a_write_the_plc_refuses_fails_clearly_and_keeps_the_link(rig: Rig) -> None:
    conveyor, machine = rig.conveyor, rig.machine
    machine.drop_link()  # here: the PLC's drive fault, it answers but refuses to switch
    try:
        with pytest.raises(DeviceError, match="refused") as refused:
            conveyor.belt(True)
        assert not isinstance(refused.value, DeviceUnavailable)
        assert conveyor.state is DeviceState.READY and conveyor.snapshot().link_up
    finally:
        machine.restore_link()
    conveyor.belt(True)
    assert machine.outputs["belt"]


def test_the_standard_map_and_explicit_addresses() -> None:
    standard = PlcMap.from_url(parse_url("modbus+tcp://plc:502?bins=3"))
    assert standard == PlcMap.standard(3)
    assert standard.coils == {
        "belt": 0,
        "shutter": 1,
        "diverter1": 16,
        "diverter2": 17,
        "diverter3": 18,
    }
    assert standard.inputs["full3"] == 34 and standard.heartbeat == 0
    own = PlcMap.from_url(
        parse_url("modbus+tcp://plc?belt=5&shutter=6&diverters=7,8&intake=0&full=3,4&heartbeat=-1")
    )
    assert own.coils == {"belt": 5, "shutter": 6, "diverter1": 7, "diverter2": 8}
    assert own.inputs == {"intake": 0, "full1": 3, "full2": 4} and own.heartbeat is None
    mixed = PlcMap.from_url(parse_url("modbus+tcp://plc?bins=2&belt=100"))
    assert mixed.coils["belt"] == 100 and mixed.coils["diverter2"] == 17


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "bins=N"),
        ("diverters=1,2&belt=0", "shutter"),
        ("bins=2&diverters=1,2,3", "bins=2 but"),
        ("bins=2&at=20", "1 inputs for 2 bins"),
        ("bins=2&belt=16", "coil 16 is mapped twice"),
        ("bins=2&full=x", "not a list"),
        ("bins=2&belt=70000", "outside"),
        ("bins=2&reader=0&intake=5000", "span more than"),
    ],
)
def test_bad_maps_name_the_problem(query: str, problem: str) -> None:
    with pytest.raises(DeviceUrlError, match=problem):
        open_device(f"modbus+tcp://plc:502?{query}")
    with pytest.raises(DeviceUrlError, match="names no PLC"):
        open_device("modbus+tcp://?bins=2")
