"""Lights, buzzer, relays, bin diverters, light beams and bin-full switches on GPIO, by name.

URLs name each line after what it drives and give its BCM pin number (or any
pin name gpiozero accepts, such as ``BOARD11``)::

    gpio://?red=17&green=27&buzzer=22&relay=23&bin1=5&active_low=relay,bin1
    gpio+in://?beam_a=5&beam_b=6&bin_full=13&pull_up=1&bounce=0.02&invert=beam_b

``active_low=`` lists outputs that are on when their pin is low (most relay
boards). Inputs use the Pi's pull-down unless ``pull_up=1`` (then a switch to
ground reads active, gpiozero's convention); ``invert=`` lists inputs whose
sense is the other way round; ``bounce=`` is seconds of contact bounce to
ignore. ``mock=1`` uses gpiozero's mock pins, for demos on a PC.

gpiozero picks the pin library on a Pi (lgpio, RPi.GPIO, …); tests set
``gpiozero.Device.pin_factory = MockFactory()``. Pins are claimed on ``open()``
or first use, not when the URL is parsed, so checking a configuration never
takes the pins from a running daemon.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice, GPIOZeroError

from drivers.interfaces import DeviceUnavailable, InputEvent
from drivers.registry import DeviceUrl, DeviceUrlError

log = logging.getLogger(__name__)


@functools.cache
def mock_factory() -> Any:
    """The one mock pin factory of this process, shared by every ``mock=1`` device.

    Shared so that a demo's outputs and inputs on the same mock pins see each
    other, and so that tests can reach the pins a ``mock=1`` device drives.
    """
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


def _pins(url: DeviceUrl, reserved: frozenset[str]) -> dict[str, int | str]:
    pins: dict[str, int | str] = {}
    for name, value in url.params.items():
        if name in reserved:
            continue
        if not value:
            raise DeviceUrlError(f"{url.raw}: {name} has no pin number")
        pins[name] = int(value) if value.isdigit() else value
    if not pins:
        raise DeviceUrlError(f"{url.raw}: names no pins (e.g. {url.scheme}://?red=17)")
    return pins


def _subset(url: DeviceUrl, key: str, names: tuple[str, ...]) -> frozenset[str]:
    listed = frozenset(n for n in url.params.get(key, "").split(",") if n)
    unknown = sorted(listed - set(names))
    if unknown:
        raise DeviceUrlError(
            f"{url.raw}: {key} names {', '.join(unknown)}, not among {', '.join(names)}"
        )
    return listed


def _claim(url: str, name: str, pin: int | str, build: Any) -> Any:
    """The gpiozero device for one line, or DeviceUnavailable saying which pin and why."""
    try:
        return build()
    except (GPIOZeroError, OSError) as error:
        raise DeviceUnavailable(
            f"{url}: cannot use pin {pin} for {name!r}: {error}"
            " (on a machine without GPIO, add mock=1 to the URL)"
        ) from error


def _close_all(devices: list[Any]) -> None:
    for device in devices:
        try:
            device.close()
        except GPIOZeroError:
            log.debug("closing %r failed", device, exc_info=True)


class GpioOutputs:
    """Named outputs; ``pulse`` runs on gpiozero's blink thread, so callers never wait."""

    RESERVED = frozenset({"active_low", "mock"})

    def __init__(self, url: DeviceUrl) -> None:
        self.url = url.raw
        self._pins = _pins(url, self.RESERVED)
        self.names: tuple[str, ...] = tuple(self._pins)
        self._active_low = _subset(url, "active_low", self.names)
        self._factory = mock_factory() if url.flag("mock") else None
        self._devices: dict[str, Any] = {}
        self._lock = threading.Lock()

    def open(self) -> None:
        """Claim every pin, all outputs off; a pin that cannot be had releases the others."""
        with self._lock:
            if self._devices:
                return
            try:
                for name, pin in self._pins.items():
                    self._devices[name] = _claim(
                        self.url,
                        name,
                        pin,
                        functools.partial(
                            DigitalOutputDevice,
                            pin,
                            active_high=name not in self._active_low,
                            initial_value=False,
                            pin_factory=self._factory,
                        ),
                    )
            except DeviceUnavailable:
                _close_all(self._take())
                raise
        log.info("outputs %s ready: %s", self.url, ", ".join(self.names))

    def set(self, name: str, on: bool) -> None:
        """On or off until told otherwise; cancels a pulse still running on that output."""
        device = self._device(name)
        if on:
            device.on()
        else:
            device.off()

    def pulse(self, name: str, seconds: float) -> None:
        """On now, off after ``seconds``, without blocking; a new pulse restarts the time."""
        if not seconds > 0:
            raise ValueError(f"a pulse lasts more than 0 seconds, not {seconds}")
        device = self._device(name)
        # On in this thread, so that it is on when pulse() returns (a diverter must move
        # now): gpiozero's background blink sets the pin in its own thread, which a busy
        # machine may start late. The blink then keeps it on and turns it off on time.
        device.on()
        device.blink(on_time=seconds, off_time=0, n=1, background=True)

    def is_on(self, name: str) -> bool:
        return bool(self._device(name).is_active)

    def close(self) -> None:
        """Every output off and every pin released."""
        with self._lock:
            devices = self._take()
        _close_all(devices)

    def _take(self) -> list[Any]:
        devices, self._devices = self._devices, {}
        return list(devices.values())

    def _device(self, name: str) -> Any:
        if name not in self._pins:
            raise ValueError(
                f"{self.url}: no output named {name!r}; known: {', '.join(self.names)}"
            )
        if not self._devices:
            self.open()
        return self._devices[name]


class GpioInputs:
    """Named inputs whose changes queue up as InputEvents, debounced here.

    The pin libraries disagree on bounce (lgpio waits for the level to settle,
    RPi.GPIO ignores edges for a while after one, the mock pins do nothing), so
    the filter lives here, the same everywhere and testable: the first edge is
    reported at once, edges within ``bounce`` seconds after it are ignored, and
    if the level at the end of that time differs from the one reported, that
    is reported too, so events always end up agreeing with ``is_active``.
    """

    RESERVED = frozenset({"pull_up", "bounce", "mock", "invert"})

    def __init__(self, url: DeviceUrl) -> None:
        self.url = url.raw
        self._pins = _pins(url, self.RESERVED)
        self.names: tuple[str, ...] = tuple(self._pins)
        self._inverted = _subset(url, "invert", self.names)
        self._pull_up = url.flag("pull_up")
        self._bounce = url.number("bounce", 0.0)
        if self._bounce < 0:
            raise DeviceUrlError(f"{url.raw}: bounce={self._bounce} is negative")
        self._factory = mock_factory() if url.flag("mock") else None
        self._devices: dict[str, Any] = {}
        self._events: queue.Queue[InputEvent] = queue.Queue()
        self._lock = threading.RLock()
        self._reported: dict[str, bool] = {}
        self._quiet_until: dict[str, float] = {}
        self._last_edge: dict[str, float] = {}
        self._timers: dict[str, threading.Timer] = {}

    def open(self) -> None:
        """Claim every pin; changes are queued from then on."""
        with self._lock:
            if self._devices:
                return
            try:
                for name, pin in self._pins.items():
                    device = _claim(
                        self.url,
                        name,
                        pin,
                        functools.partial(
                            DigitalInputDevice,
                            pin,
                            pull_up=self._pull_up,
                            pin_factory=self._factory,
                        ),
                    )
                    self._devices[name] = device
                    self._reported[name] = self._read(name)
                    self._quiet_until[name] = 0.0
                    device.when_activated = functools.partial(self._edge, name, True)
                    device.when_deactivated = functools.partial(self._edge, name, False)
            except DeviceUnavailable:
                _close_all(self._take())
                raise
        log.info("inputs %s ready: %s", self.url, ", ".join(self.names))

    def is_active(self, name: str) -> bool:
        """The level now, which may be ahead of the events not yet polled."""
        self._device(name)
        return self._read(name)

    def poll(self, timeout: float) -> InputEvent | None:
        if not self._devices:
            self.open()
        try:
            return self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        with self._lock:
            devices = self._take()
        # Outside the lock: closing may wait for gpiozero's event thread, which
        # may be waiting for the lock in _edge.
        _close_all(devices)

    def _take(self) -> list[Any]:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        devices, self._devices = self._devices, {}
        return list(devices.values())

    def _device(self, name: str) -> Any:
        if name not in self._pins:
            raise ValueError(f"{self.url}: no input named {name!r}; known: {', '.join(self.names)}")
        if not self._devices:
            self.open()
        return self._devices[name]

    def _read(self, name: str) -> bool:
        return bool(self._devices[name].is_active) != (name in self._inverted)

    def _edge(self, name: str, raw_active: bool) -> None:
        """gpiozero's callback, on its event thread (or the caller's, for mock pins)."""
        now = time.monotonic()
        active = raw_active != (name in self._inverted)
        with self._lock:
            if name not in self._devices:
                return
            self._last_edge[name] = now
            if now < self._quiet_until[name]:
                if name not in self._timers:
                    timer = threading.Timer(self._quiet_until[name] - now, self._settle, (name,))
                    timer.daemon = True
                    self._timers[name] = timer
                    timer.start()
                return
            if active != self._reported[name]:
                self._report(name, active, now)

    def _settle(self, name: str) -> None:
        """End of a bounce window: report the level if it is not the one last reported."""
        with self._lock:
            self._timers.pop(name, None)
            if name not in self._devices:
                return
            active = self._read(name)
            if active != self._reported[name]:
                self._report(name, active, self._last_edge[name])

    def _report(self, name: str, active: bool, seen: float) -> None:
        self._reported[name] = active
        self._quiet_until[name] = seen + self._bounce
        self._events.put(InputEvent(name, active, seen))
