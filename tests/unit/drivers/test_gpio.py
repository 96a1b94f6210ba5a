"""GpioOutputs and GpioInputs on gpiozero's mock pins: what the pins do, what poll() reports."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from drivers import gpio
from drivers.gpio import GpioInputs, GpioOutputs
from drivers.interfaces import DeviceUnavailable, InputEvent, Inputs, Outputs
from drivers.registry import DeviceUrlError, open_device


@pytest.fixture(autouse=True)
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    previous = Device.pin_factory
    Device.pin_factory = factory
    yield factory
    Device.pin_factory = previous


@pytest.fixture
def opened() -> Iterator[Callable[[str], object]]:
    """open_device that closes what it opened when the test ends."""
    devices: list[GpioOutputs | GpioInputs] = []

    def open_(url: str) -> object:
        device = open_device(url)
        assert isinstance(device, GpioOutputs | GpioInputs)
        devices.append(device)
        return device

    yield open_
    for device in devices:
        device.close()


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def outputs(opened: Callable[[str], object], url: str) -> GpioOutputs:
    device = opened(url)
    assert isinstance(device, GpioOutputs) and isinstance(device, Outputs)
    return device


def inputs(opened: Callable[[str], object], url: str) -> GpioInputs:
    device = opened(url)
    assert isinstance(device, GpioInputs) and isinstance(device, Inputs)
    return device


def test_set_drives_the_named_pins(opened: Callable[[str], object], pins: MockFactory) -> None:
    lights = outputs(opened, "gpio://?red=17&green=27&relay=23&active_low=relay")
    assert lights.names == ("red", "green", "relay")
    lights.open()
    assert not pins.pin(17).state and not pins.pin(27).state
    assert pins.pin(23).state  # active low: off is high
    lights.set("red", True)
    lights.set("relay", True)
    assert pins.pin(17).state and not pins.pin(27).state and not pins.pin(23).state
    assert lights.is_on("red") and lights.is_on("relay") and not lights.is_on("green")
    lights.set("red", False)
    assert not pins.pin(17).state


def test_pulse_returns_at_once_and_ends_on_time(
    opened: Callable[[str], object], pins: MockFactory
) -> None:
    buzzer = outputs(opened, "gpio://?buzzer=22")
    pin = pins.pin(22)
    changes = len(pin.states)
    buzzer.pulse("buzzer", 1.0)
    # Did not wait for the pulse: it has not ended on return (no timed assert, which a
    # loaded machine could break).
    assert all(change.state for change in pin.states[changes:])
    wait_for(lambda: bool(pin.state))
    wait_for(lambda: not pin.state, timeout=10.0)
    on, off = pin.states[-2:]
    assert on.state and not off.state
    assert 0.95 <= off.timestamp < 5.0  # seconds the pin stayed high


def test_pulse_on_an_active_low_output(opened: Callable[[str], object], pins: MockFactory) -> None:
    bin1 = outputs(opened, "gpio://?bin1=5&active_low=bin1")
    bin1.pulse("bin1", 0.05)
    wait_for(lambda: not pins.pin(5).state)
    wait_for(lambda: bool(pins.pin(5).state))
    assert not bin1.is_on("bin1")


def test_set_cancels_a_running_pulse(opened: Callable[[str], object], pins: MockFactory) -> None:
    red = outputs(opened, "gpio://?red=17")
    red.pulse("red", 0.1)
    red.set("red", True)
    # Nothing may switch it off once the pulse would have ended.
    threading.Event().wait(0.3)
    assert pins.pin(17).state
    assert [s.state for s in pins.pin(17).states] == [False, True]


def test_unknown_names_are_named(opened: Callable[[str], object]) -> None:
    lights = outputs(opened, "gpio://?red=17&green=27")
    with pytest.raises(ValueError, match="'blue'; known: red, green"):
        lights.set("blue", True)
    with pytest.raises(ValueError, match="known: red, green"):
        lights.pulse("blue", 1)
    with pytest.raises(ValueError, match="more than 0 seconds"):
        lights.pulse("red", 0)
    beams = inputs(opened, "gpio+in://?beam_a=5")
    with pytest.raises(ValueError, match="'beam_b'; known: beam_a"):
        beams.is_active("beam_b")


@pytest.mark.parametrize(
    "url",
    [
        "gpio://",
        "gpio://?mock=1",
        "gpio://?red=",
        "gpio://?red=17&active_low=blue",
        "gpio+in://?beam=5&invert=other",
        "gpio+in://?beam=5&bounce=-1",
        "gpio+in://?beam=5&pull_up=maybe",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(DeviceUrlError):
        open_device(url)


def test_a_pin_in_use_is_unavailable_and_released_again(opened: Callable[[str], object]) -> None:
    lights = outputs(opened, "gpio://?red=17")
    lights.open()
    clash = outputs(opened, "gpio://?green=27&red_too=17")
    with pytest.raises(DeviceUnavailable, match="pin 17 for 'red_too'"):
        clash.open()
    lights.close()
    clash.open()  # green was released when red_too failed, and pin 17 is free now
    clash.set("red_too", True)


def test_mock_flag_uses_the_shared_mock_factory(opened: Callable[[str], object]) -> None:
    lights = outputs(opened, "gpio://?red=17&mock=1")
    lights.set("red", True)
    assert gpio.mock_factory().pin(17).state
    beam = inputs(opened, "gpio+in://?beam=6&mock=1")
    beam.open()
    gpio.mock_factory().pin(6).drive_high()
    event = beam.poll(1.0)
    assert event is not None and event.name == "beam" and event.active


def test_inputs_report_changes_in_order(opened: Callable[[str], object], pins: MockFactory) -> None:
    sensors = inputs(opened, "gpio+in://?beam_a=5&beam_b=6&bin_full=13")
    sensors.open()
    assert sensors.poll(0) is None  # no event for the levels found at start
    before = time.monotonic()
    pins.pin(5).drive_high()
    pins.pin(6).drive_high()
    pins.pin(5).drive_low()
    pins.pin(6).drive_low()
    pins.pin(13).drive_high()
    events = [sensors.poll(1.0) for _ in range(5)]
    assert [(e.name, e.active) for e in events if e] == [
        ("beam_a", True),
        ("beam_b", True),
        ("beam_a", False),
        ("beam_b", False),
        ("bin_full", True),
    ]
    stamps = [e.timestamp for e in events if isinstance(e, InputEvent)]
    assert stamps == sorted(stamps) and stamps[0] >= before
    assert sensors.poll(0.01) is None
    assert sensors.is_active("bin_full") and not sensors.is_active("beam_a")


def test_pull_up_and_invert(opened: Callable[[str], object], pins: MockFactory) -> None:
    sensors = inputs(opened, "gpio+in://?full=13&beam=5&pull_up=1&invert=beam")
    sensors.open()
    # Pulled up and idle: "full" (switch to ground) is inactive, inverted "beam" active.
    assert not sensors.is_active("full") and sensors.is_active("beam")
    pins.pin(13).drive_low()
    pins.pin(5).drive_low()
    assert sensors.poll(1.0) == InputEvent("full", True, pytest.approx(time.monotonic(), abs=1))
    event = sensors.poll(1.0)
    assert event is not None and (event.name, event.active) == ("beam", False)


def test_bounce_is_one_event(opened: Callable[[str], object], pins: MockFactory) -> None:
    beam = inputs(opened, "gpio+in://?beam=5&bounce=0.2")
    beam.open()
    pin = pins.pin(5)
    for _ in range(5):
        pin.drive_high()
        pin.drive_low()
    pin.drive_high()
    event = beam.poll(1.0)
    assert event is not None and (event.name, event.active) == ("beam", True)
    # It settled where it was reported: nothing more after the bounce window.
    assert beam.poll(0.5) is None


def test_bounce_ending_elsewhere_is_reported_after_the_window(
    opened: Callable[[str], object], pins: MockFactory
) -> None:
    beam = inputs(opened, "gpio+in://?beam=5&bounce=0.1")
    beam.open()
    pin = pins.pin(5)
    pin.drive_high()
    pin.drive_low()  # within the window: ignored for now
    first = beam.poll(1.0)
    assert first is not None and first.active
    settled = beam.poll(2.0)
    assert settled is not None and (settled.name, settled.active) == ("beam", False)
    assert settled.timestamp >= first.timestamp
    assert not beam.is_active("beam")
    # After the window, edges are reported at once again.
    pin.drive_high()
    again = beam.poll(1.0)
    assert again is not None and again.active


def test_close_releases_the_input_pins(opened: Callable[[str], object], pins: MockFactory) -> None:
    beam = inputs(opened, "gpio+in://?beam=5")
    beam.open()
    beam.close()
    lights = outputs(opened, "gpio://?lamp=5")
    lights.set("lamp", True)
    assert pins.pin(5).state
