"""A simulated reader on the far end of a real pseudo-terminal.

The driver under test opens ``link`` (a symlink to the pty's slave, like a
``/dev/serial/by-id/…`` path) through pyserial, exactly as it opens a USB
reader. ``unplug()`` closes the master and removes the link — the driver sees
the device vanish; ``replug()`` makes a fresh pty behind the same link. The
field's ``noise`` and ``corrupt_answers`` faults garble what goes back.

A pty moves bytes at memory speed. Given a ``line``, the peer answers when a
real reader would: after the request's bytes on that line, the command's air
time (the firmware's ``air_time``) and the answer's bytes; ``busy_seconds``
adds it up, so benchmarks can set the engine's time against it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.sim.field import TagField
from drivers.sim.timing import SerialLine

log = logging.getLogger(__name__)

NOISE = b"\x13\x00\xff\x02"  # junk that even starts like a frame


class SerialPeer:
    def __init__(
        self,
        link: Path,
        field: TagField,
        parser_factory: Callable[[], Any],
        firmware: Any,
        *,
        line: SerialLine | None = None,
    ) -> None:
        self.link = Path(link)
        self.line = line
        self.busy_seconds = 0.0
        self.field = field
        self._parser_factory = parser_factory
        self.firmware = firmware
        self.requests = 0
        self._thread: threading.Thread | None = None
        self._master = -1
        self._slave = -1
        self._stop_r, self._stop_w = -1, -1

    def start(self) -> SerialPeer:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        slave_name = os.ttyname(self._slave)
        if self.link.is_symlink() or self.link.exists():
            self.link.unlink()
        self.link.symlink_to(slave_name)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-{self.link.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        self._thread = None
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.link.is_symlink():
            self.link.unlink()

    unplug = stop

    def replug(self) -> None:
        self.stop()
        self.start()

    def _serve(self) -> None:
        parser = self._parser_factory()
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            for frame in parser.feed(data):
                if hasattr(frame, "reason"):
                    continue  # a real reader ignores a frame with a bad CRC
                self.requests += 1
                answer = self.firmware.answer(frame)
                encoded = answer.encode()
                if self.line is not None:
                    busy = (
                        self.line.seconds(len(frame.encode()))
                        + self.firmware.air_time(frame, answer)
                        + self.line.seconds(len(encoded))
                    )
                    self.busy_seconds += busy
                    time.sleep(busy)
                self._send(encoded)

    def _send(self, answer: bytes) -> None:
        faults = self.field.faults
        with self.field.lock:
            if faults.noise:
                answer = NOISE + answer
            if faults.corrupt_answers > 0:
                faults.corrupt_answers -= 1
                answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
        os.write(self._master, answer)
