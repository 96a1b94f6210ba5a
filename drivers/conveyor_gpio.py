"""``gpio+conveyor://?…``: a small return machine on a Raspberry Pi's pins — relays and sensors.

A single chute with two or three bins needs no PLC: relays for the belt
motor, the intake shutter and each diverter's solenoid, and photo-eyes and
bin-full switches on inputs. Pins are BCM numbers (or any name gpiozero takes)::

    gpio+conveyor://?diverters=17,27&belt=22&shutter=23
        &intake=5&reader=6&at=12,13&end=19&full=20,21
        &active_low=1&pull_up=1&bounce=0.005&invert=full1,full2

Outputs: ``diverters=`` (one pin per diverter, in belt order; their number
sets how many diverters there are), ``belt=``, ``shutter=`` (all required).
``active_low=1`` for relay boards that switch on a low pin (most do).
Inputs, each optional: ``intake=``, ``reader=``, ``end=`` photo-eyes,
``at=`` one eye per diverter, ``full=`` one full sensor per bin. A machine
without diverter eyes fires on the travel time from the reader instead.
``pull_up=1`` when the sensors switch to ground; ``invert=`` lists inputs
that read the other way round (``intake``, ``at2``, ``full1``…); ``bounce=``
seconds of contact bounce to ignore. ``mock=1`` uses gpiozero's mock pins.

Built on :mod:`drivers.gpio`'s named outputs and debounced inputs, so pulses
run on gpiozero's own thread and edges are timed when gpiozero sees them.
There is no link to lose: a pin that cannot be had raises DeviceUnavailable
on ``open``.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

from drivers.conveyor import (
    ConveyorEvent,
    ConveyorSnapshot,
    check_diverter,
    edge_event,
    output_names,
    snapshot_of,
)
from drivers.gpio import GpioInputs, GpioOutputs
from drivers.interfaces import DeviceState
from drivers.registry import DeviceUrl, DeviceUrlError, parse_url

log = logging.getLogger(__name__)

_SINGLE_INPUTS = ("intake", "reader", "end")


def _pin_list(url: DeviceUrl, key: str) -> list[str]:
    return [part for part in url.params.get(key, "").split(",") if part]


class GpioConveyor:
    """The :class:`~drivers.conveyor.Conveyor` interface on relays and sensors."""

    def __init__(self, url: DeviceUrl | str) -> None:
        parts = parse_url(url) if isinstance(url, str) else url
        self.url = parts.raw
        diverter_pins = _pin_list(parts, "diverters")
        if not diverter_pins:
            raise DeviceUrlError(f"{self.url}: names no diverter pins (diverters=17,27)")
        self.diverters = len(diverter_pins)
        outputs: dict[str, str] = {}
        for name in ("belt", "shutter"):
            pin = parts.params.get(name)
            if not pin:
                raise DeviceUrlError(f"{self.url}: {name}= (the {name}'s relay pin) is missing")
            outputs[name] = pin
        for number, pin in enumerate(diverter_pins, start=1):
            outputs[f"diverter{number}"] = pin
        inputs: dict[str, str] = {n: parts.params[n] for n in _SINGLE_INPUTS if parts.params.get(n)}
        for key in ("at", "full"):
            pins = _pin_list(parts, key)
            if pins and len(pins) != self.diverters:
                raise DeviceUrlError(
                    f"{self.url}: {key}= lists {len(pins)} pins for {self.diverters} diverters"
                )
            for number, pin in enumerate(pins, start=1):
                inputs[f"{key}{number}"] = pin
        taken = [*outputs.values(), *inputs.values()]
        doubles = sorted({pin for pin in taken if taken.count(pin) > 1})
        if doubles:
            raise DeviceUrlError(f"{self.url}: pin {', '.join(doubles)} is used twice")
        mock = {"mock": "1"} if parts.flag("mock") else {}
        relay_query = dict(outputs, **mock)
        if parts.flag("active_low"):
            relay_query["active_low"] = ",".join(output_names(self.diverters))
        self._outputs = GpioOutputs(parse_url("gpio://?" + urlencode(relay_query)))
        self._inputs: GpioInputs | None = None
        if inputs:
            sensor_query = dict(inputs, **mock)
            for key in ("pull_up", "bounce", "invert"):
                if key in parts.params:
                    sensor_query[key] = parts.params[key]
            self._inputs = GpioInputs(parse_url("gpio+in://?" + urlencode(sensor_query)))
        self.input_names: tuple[str, ...] = self._inputs.names if self._inputs else ()
        self._state = DeviceState.CLOSED

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        if self._state is DeviceState.READY:
            return
        self._outputs.open()
        try:
            if self._inputs is not None:
                self._inputs.open()
        except Exception:
            self._outputs.close()
            raise
        self._state = DeviceState.READY
        log.info("conveyor %s ready: %d diverters", self.url, self.diverters)

    def close(self) -> None:
        if self._state is DeviceState.CLOSED:
            return
        self._state = DeviceState.CLOSED
        for name in self._outputs.names:
            self._outputs.set(name, False)
        self._outputs.close()
        if self._inputs is not None:
            self._inputs.close()

    def now(self) -> float:
        return time.monotonic()

    def belt(self, run: bool) -> None:
        self._ready()
        self._outputs.set("belt", run)

    def shutter(self, open_: bool) -> None:
        self._ready()
        self._outputs.set("shutter", open_)

    def fire(self, diverter: int, seconds: float) -> None:
        check_diverter(self.url, diverter, self.diverters, seconds)
        self._ready()
        self._outputs.pulse(f"diverter{diverter}", seconds)

    def snapshot(self) -> ConveyorSnapshot:
        self._ready()
        outputs = {name: self._outputs.is_on(name) for name in self._outputs.names}
        inputs = (
            {name: self._inputs.is_active(name) for name in self._inputs.names}
            if self._inputs is not None
            else {}
        )
        return snapshot_of(inputs, outputs, self.diverters, link_up=True)

    def poll(self, timeout: float) -> ConveyorEvent | None:
        self._ready()
        if self._inputs is None:
            time.sleep(max(0.0, timeout))  # no sensors wired: nothing can ever happen
            return None
        seen = self._inputs.poll(timeout)
        return None if seen is None else edge_event(seen.name, seen.active, seen.timestamp)

    def _ready(self) -> None:
        if self._state is not DeviceState.READY:
            self.open()
