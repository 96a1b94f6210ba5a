"""gpio+conveyor:// on gpiozero's mock pins: relays driven, sensor edges become events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from drivers.conveyor import Conveyor, ConveyorEvent, ConveyorEventKind
from drivers.conveyor_gpio import GpioConveyor
from drivers.interfaces import DeviceUnavailable
from drivers.registry import DeviceUrlError, open_device

K = ConveyorEventKind
URL = (
    "gpio+conveyor://?diverters=17,27&belt=22&shutter=23"
    "&intake=5&reader=6&at=12,13&end=19&full=20,21"
)


@pytest.fixture(autouse=True)
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    previous = Device.pin_factory
    Device.pin_factory = factory
    yield factory
    Device.pin_factory = previous


@pytest.fixture
def opened() -> Iterator[Callable[[str], GpioConveyor]]:
    made: list[GpioConveyor] = []

    def open_(url: str) -> GpioConveyor:
        conveyor = open_device(url)
        assert isinstance(conveyor, GpioConveyor) and isinstance(conveyor, Conveyor)
        conveyor.open()
        made.append(conveyor)
        return conveyor

    yield open_
    for conveyor in made:
        conveyor.close()


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def next_event(conveyor: GpioConveyor) -> ConveyorEvent:
    event = conveyor.poll(3.0)
    assert event is not None, "no event in 3 s"
    return event


def test_outputs_drive_the_relays(opened: Callable[[str], GpioConveyor], pins: MockFactory) -> None:
    conveyor = opened(URL)
    assert conveyor.diverters == 2
    assert not any(pins.pin(p).state for p in (17, 27, 22, 23))
    conveyor.belt(True)
    conveyor.shutter(True)
    assert pins.pin(22).state and pins.pin(23).state
    snapshot = conveyor.snapshot()
    assert snapshot.belt_running and snapshot.shutter_open
    conveyor.belt(False)
    assert not pins.pin(22).state and not conveyor.snapshot().belt_running


def test_active_low_relays_are_off_when_high(
    opened: Callable[[str], GpioConveyor], pins: MockFactory
) -> None:
    conveyor = opened(URL + "&active_low=1")
    assert all(pins.pin(p).state for p in (17, 27, 22, 23))
    conveyor.belt(True)
    assert not pins.pin(22).state


def test_fire_returns_at_once_and_the_diverter_comes_back(
    opened: Callable[[str], GpioConveyor], pins: MockFactory
) -> None:
    conveyor = opened(URL)
    before = time.monotonic()
    conveyor.fire(2, 1.0)
    # Still out on return: fire() did not wait for the pulse (no timed assert, which
    # a loaded machine could break).
    assert pins.pin(27).state and not pins.pin(17).state
    wait_for(lambda: not pins.pin(27).state, timeout=10.0)
    assert time.monotonic() - before >= 1.0
    with pytest.raises(ValueError, match="no diverter 3"):
        conveyor.fire(3, 0.2)
    with pytest.raises(ValueError, match="more than 0"):
        conveyor.fire(1, 0)


def test_a_sensor_edge_becomes_an_event(
    opened: Callable[[str], GpioConveyor], pins: MockFactory
) -> None:
    conveyor = opened(URL)
    assert conveyor.poll(0.0) is None
    before = conveyor.now()
    pins.pin(5).drive_high()
    event = next_event(conveyor)
    assert event.kind is K.ITEM_AT_INTAKE and before <= event.at <= conveyor.now()
    pins.pin(5).drive_low()
    assert next_event(conveyor).kind is K.INTAKE_CLEAR
    assert conveyor.poll(0.05) is None  # one edge, one event


def test_edges_arrive_in_order_with_their_index(
    opened: Callable[[str], GpioConveyor], pins: MockFactory
) -> None:
    conveyor = opened(URL)
    for pin, level in ((5, True), (5, False), (6, True), (13, True), (21, True), (19, True)):
        if level:
            pins.pin(pin).drive_high()
        else:
            pins.pin(pin).drive_low()
    got = [next_event(conveyor) for _ in range(6)]
    assert [(e.kind, e.index) for e in got] == [
        (K.ITEM_AT_INTAKE, 0),
        (K.INTAKE_CLEAR, 0),
        (K.ITEM_AT_READER, 0),
        (K.ITEM_AT_DIVERTER, 2),
        (K.BIN_FULL, 2),
        (K.ITEM_AT_END, 0),
    ]
    snapshot = conveyor.snapshot()
    assert (
        snapshot.reader and snapshot.at_diverter == (False, True) and snapshot.full == (False, True)
    )


def test_inverted_full_sensor_reads_full_when_low(
    opened: Callable[[str], GpioConveyor], pins: MockFactory
) -> None:
    conveyor = opened(URL + "&invert=full1")
    assert conveyor.snapshot().full == (True, False)
    pins.pin(20).drive_high()
    event = next_event(conveyor)
    assert (event.kind, event.index) == (K.BIN_NOT_FULL, 1)


def test_bad_urls_name_the_problem() -> None:
    with pytest.raises(DeviceUrlError, match="no diverter pins"):
        open_device("gpio+conveyor://?belt=22&shutter=23")
    with pytest.raises(DeviceUrlError, match="shutter"):
        open_device("gpio+conveyor://?diverters=17&belt=22")
    with pytest.raises(DeviceUrlError, match="1 pins for 2 diverters"):
        open_device("gpio+conveyor://?diverters=17,27&belt=22&shutter=23&at=12")
    with pytest.raises(DeviceUrlError, match="pin 22 is used twice"):
        open_device("gpio+conveyor://?diverters=17,27&belt=22&shutter=23&intake=22")


def test_a_pin_already_taken_makes_the_machine_unavailable_and_releases_the_rest(
    opened: Callable[[str], GpioConveyor], pins: MockFactory
) -> None:
    opened("gpio+conveyor://?diverters=5&belt=8&shutter=9")
    other = open_device(URL)
    with pytest.raises(DeviceUnavailable, match="pin 5"):
        other.open()
    # The relays it had claimed are free again.
    again = opened("gpio+conveyor://?diverters=17,27&belt=22&shutter=23")
    again.belt(True)
    assert pins.pin(22).state
