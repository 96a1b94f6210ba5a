"""The same cases against every Conveyor: the simulator, relays on mock pins, a PLC over Modbus TCP.

Each rig gives the driver under test plus two hands on the far side: ``sense``
makes an input read active or not (a mock pin driven, or the simulated
machine's input stuck at a level, which the PLC serves over Modbus), and
``output`` reads what the machine's output really is (the pin, or the
simulated machine). ``until`` waits for a condition on the rig's own clock:
virtual time for the simulator, the wall clock for the others.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from drivers.conveyor import Conveyor, ConveyorEvent, ConveyorEventKind
from drivers.interfaces import DeviceState
from drivers.registry import open_device
from drivers.sim.conveyor import ConveyorMachine, Geometry, SimConveyor
from drivers.sim.conveyor_plc import standard_plc
from drivers.sim.field import TagField

K = ConveyorEventKind
_names = itertools.count()


@dataclass
class Rig:
    conveyor: Conveyor
    sense: Callable[[str, bool], None]
    output: Callable[[str], bool]
    until: Callable[[Callable[[], bool], float], None]


def _wall_until(condition: Callable[[], bool], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"not so within {limit} s"
        time.sleep(0.005)


@contextmanager
def _machine(name: str) -> Iterator[ConveyorMachine]:
    machine = ConveyorMachine.named(name)
    machine.configure(Geometry(diverters=(1.6, 2.4)), TagField.named(name))
    try:
        yield machine
    finally:
        machine.stop_realtime()
        ConveyorMachine.forget(name)
        TagField.forget(name)


def _machine_output(machine: ConveyorMachine) -> Callable[[str], bool]:
    def output(name: str) -> bool:
        if name.startswith("diverter"):
            return machine.diverter_out(int(name.removeprefix("diverter")))
        return machine.outputs[name]

    return output


@contextmanager
def sim_rig() -> Iterator[Rig]:
    name = f"contract{next(_names)}"
    with _machine(name) as machine:
        conveyor = open_device(f"conveyor+sim://{name}")
        assert isinstance(conveyor, SimConveyor)

        def until(condition: Callable[[], bool], limit: float) -> None:
            end = conveyor.now() + limit
            while not condition():
                assert conveyor.now() < end, f"not so within {limit} simulated s"
                conveyor.advance(0.01)

        conveyor.open()
        try:
            yield Rig(conveyor, machine.stick, _machine_output(machine), until)
        finally:
            conveyor.close()


GPIO_URL = (
    "gpio+conveyor://?diverters=17,27&belt=22&shutter=23"
    "&intake=5&reader=6&at=12,13&end=19&full=20,21"
)
GPIO_PINS = {
    "belt": 22, "shutter": 23, "diverter1": 17, "diverter2": 27,
    "intake": 5, "reader": 6, "at1": 12, "at2": 13, "end": 19, "full1": 20, "full2": 21,
}  # fmt: skip


@contextmanager
def gpio_rig() -> Iterator[Rig]:
    factory = MockFactory()
    previous = Device.pin_factory
    Device.pin_factory = factory
    conveyor = open_device(GPIO_URL)

    def sense(name: str, level: bool) -> None:
        pin = factory.pin(GPIO_PINS[name])
        if level:
            pin.drive_high()
        else:
            pin.drive_low()

    try:
        conveyor.open()
        yield Rig(
            conveyor, sense, lambda name: bool(factory.pin(GPIO_PINS[name]).state), _wall_until
        )
    finally:
        conveyor.close()
        Device.pin_factory = previous


@contextmanager
def modbus_rig() -> Iterator[Rig]:
    name = f"contract-plc{next(_names)}"
    with _machine(name) as machine:
        machine.run_realtime(rate=1.0)
        plc = standard_plc(machine, watchdog=None)
        plc.start()
        conveyor = open_device(plc.url(poll="0.01", timeout="0.3"))
        try:
            conveyor.open()
            yield Rig(conveyor, machine.stick, _machine_output(machine), _wall_until)
        finally:
            conveyor.close()
            plc.close()


RIGS = {"sim": sim_rig, "gpio": gpio_rig, "modbus": modbus_rig}


@pytest.fixture(params=list(RIGS))
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    with RIGS[request.param]() as made:
        yield made


def next_event(conveyor: Conveyor, limit: float = 5.0) -> ConveyorEvent:
    event = conveyor.poll(limit)
    assert event is not None, f"no event within {limit} s"
    return event


def test_it_is_a_conveyor_ready_with_everything_off(rig: Rig) -> None:
    assert isinstance(rig.conveyor, Conveyor)
    assert rig.conveyor.state is DeviceState.READY and rig.conveyor.diverters == 2
    assert not any(rig.output(n) for n in ("belt", "shutter", "diverter1", "diverter2"))
    snapshot = rig.conveyor.snapshot()
    assert not snapshot.belt_running and not snapshot.shutter_open and snapshot.link_up


def test_belt_and_shutter_switch_and_the_snapshot_follows(rig: Rig) -> None:
    conveyor = rig.conveyor
    conveyor.belt(True)
    conveyor.shutter(True)
    assert rig.output("belt") and rig.output("shutter")
    rig.until(lambda: conveyor.snapshot().belt_running and conveyor.snapshot().shutter_open, 3.0)
    conveyor.belt(False)
    assert not rig.output("belt") and rig.output("shutter")
    rig.until(lambda: not conveyor.snapshot().belt_running, 3.0)


def test_fire_pushes_one_diverter_for_its_time_without_blocking(rig: Rig) -> None:
    conveyor = rig.conveyor
    # A pulse long enough that a loaded machine cannot let it end before the check: had
    # fire() waited for its end, the diverter would be back already (no timed assert).
    conveyor.fire(2, 1.0)
    assert rig.output("diverter2") and not rig.output("diverter1")
    rig.until(lambda: not rig.output("diverter2"), 5.0)


def test_diverters_that_do_not_exist_and_empty_pulses_are_refused(rig: Rig) -> None:
    for diverter in (0, 3):
        with pytest.raises(ValueError, match=f"no diverter {diverter}"):
            rig.conveyor.fire(diverter, 0.2)
    with pytest.raises(ValueError, match="more than 0"):
        rig.conveyor.fire(1, 0.0)
    assert not rig.output("diverter1")


def test_every_input_edge_is_one_event_of_its_kind_and_index(rig: Rig) -> None:
    conveyor = rig.conveyor
    steps = [
        ("intake", True, K.ITEM_AT_INTAKE, 0),
        ("intake", False, K.INTAKE_CLEAR, 0),
        ("reader", True, K.ITEM_AT_READER, 0),
        ("at2", True, K.ITEM_AT_DIVERTER, 2),
        ("reader", False, K.READER_CLEAR, 0),
        ("at2", False, K.DIVERTER_CLEAR, 2),
        ("end", True, K.ITEM_AT_END, 0),
        ("full1", True, K.BIN_FULL, 1),
        ("full1", False, K.BIN_NOT_FULL, 1),
    ]
    for point, level, kind, index in steps:
        before = conveyor.now()
        rig.sense(point, level)
        event = next_event(conveyor)
        assert (event.kind, event.index) == (kind, index), point
        assert before <= event.at <= conveyor.now()
    snapshot = conveyor.snapshot()
    assert snapshot.end and not snapshot.reader and snapshot.at_diverter == (False, False)
    assert snapshot.full == (False, False)


def test_poll_gives_none_when_nothing_changes(rig: Rig) -> None:
    conveyor = rig.conveyor
    before = conveyor.now()
    assert conveyor.poll(0.2) is None
    assert conveyor.now() - before >= 0.19


def test_close_stops_the_belt_and_shuts_the_intake(rig: Rig) -> None:
    rig.conveyor.belt(True)
    rig.conveyor.shutter(True)
    rig.conveyor.close()
    assert not rig.output("belt") and not rig.output("shutter")
    assert rig.conveyor.state is DeviceState.CLOSED
