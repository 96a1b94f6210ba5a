"""A request/answer link to a reader on a serial port that comes and goes.

USB-serial readers vanish when unplugged or power-cycled; the port path (best a
stable ``/dev/serial/by-id/…`` link) comes back later, maybe as a new device.
The link opens lazily, turns every OS error into :class:`DeviceUnavailable`,
closes the port and retries on a later call after a backoff — never in a loop
of its own. An answer whose CRC is bad is skipped and waited past; no answer
within the timeout raises :class:`DeviceTimeout`.
"""

from __future__ import annotations

import contextlib
import logging
import termios
import time
from collections.abc import Callable
from typing import Any

import serial

from drivers.backoff import Backoff
from drivers.interfaces import DeviceState, DeviceTimeout, DeviceUnavailable

log = logging.getLogger(__name__)


class SerialLink:
    def __init__(self, port: str, baudrate: int, timeout: float, *, parity: str = "N") -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.parity = parity
        self.state = DeviceState.CLOSED
        self.bad_frames = 0
        self._serial: Any = None
        self._backoff = Backoff()

    def open(self) -> None:
        if self._serial is not None:
            return
        if not self._backoff.ready():
            raise DeviceUnavailable(
                f"{self.port}: not available; next try in {self._backoff.remaining():.1f} s"
            )
        self.state = DeviceState.CONNECTING
        try:
            self._serial = serial.serial_for_url(
                self.port, baudrate=self.baudrate, parity=self.parity, timeout=0.05
            )
            self._serial.reset_input_buffer()
        except (serial.SerialException, OSError, ValueError, termios.error) as error:
            self._lost(error)
        self._backoff.succeeded()
        if self.state is not DeviceState.READY:
            log.info("%s: connected", self.port)
        self.state = DeviceState.READY

    def close(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._serial.close()
        self._serial = None
        self.state = DeviceState.CLOSED

    def _lost(self, error: BaseException) -> None:
        if self.state is not DeviceState.UNAVAILABLE:
            log.warning("%s: reader unavailable (%s)", self.port, error)
        if self._serial is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._serial.close()
        self._serial = None
        self.state = DeviceState.UNAVAILABLE
        self._backoff.failed()
        raise DeviceUnavailable(f"{self.port}: {error}") from error

    def exchange(
        self,
        request: bytes,
        parser: Any,
        accept: Callable[[Any], bool],
        retries: int = 2,
        *,
        aside: Callable[[Any], None] | None = None,
    ) -> Any:
        """Send ``request``; the first frame ``accept`` takes, read through ``parser``.

        An answer garbled on the line (bad CRC) makes us ask again, up to ``retries``
        times: every command we send is safe to repeat (a write writes the same bytes).
        ``aside``: the reader also sends unasked (notification mode), so nothing waiting
        is thrown away: every good frame ``accept`` does not take goes there.
        """
        self.open()
        port = self._serial
        try:
            if aside is None:
                port.reset_input_buffer()
            port.write(request)
            deadline = time.monotonic() + self.timeout
            while True:
                chunk = port.read(max(1, port.in_waiting))
                # A quiet line while part of a frame is held: that frame's start was noise.
                frames = parser.feed(chunk) if chunk else parser.resync() if parser.pending else []
                for frame in frames:
                    if hasattr(frame, "reason"):
                        self.bad_frames += 1
                        log.debug("%s: bad frame (%s)", self.port, frame.reason)
                        if retries > 0:
                            retries -= 1
                            port.write(request)
                            deadline = time.monotonic() + self.timeout
                        continue
                    if accept(frame):
                        return frame
                    if aside is not None:
                        aside(frame)
                if time.monotonic() >= deadline:
                    raise DeviceTimeout(f"{self.port}: no answer within {self.timeout:.2f} s")
        except (serial.SerialException, OSError, termios.error) as error:
            self._lost(error)
            raise  # unreachable: _lost raises

    def receive(self, parser: Any, timeout: float) -> list[Any]:
        """The good frames the reader sent unasked within ``timeout`` (as soon as there are
        some); an empty list when it kept quiet."""
        self.open()
        port = self._serial
        deadline = time.monotonic() + timeout
        try:
            while True:
                # The port's read returns with the first byte (or after its 50 ms
                # timeout), then takes what else has arrived: no wait for a frame.
                chunk = port.read(max(1, port.in_waiting))
                frames = parser.feed(chunk) if chunk else parser.resync() if parser.pending else []
                good = []
                for frame in frames:
                    if hasattr(frame, "reason"):
                        self.bad_frames += 1
                        log.debug("%s: bad frame (%s)", self.port, frame.reason)
                    else:
                        good.append(frame)
                if good or time.monotonic() >= deadline:
                    return good
        except (serial.SerialException, OSError, termios.error) as error:
            self._lost(error)
            raise  # unreachable: _lost raises


class LinkedReader:
    """A reader driver whose device sits behind one :class:`SerialLink`."""

    link: SerialLink

    @property
    def state(self) -> DeviceState:
        return self.link.state

    def open(self) -> None:
        self.link.open()

    def close(self) -> None:
        self.link.close()
