"""A simulated reader on the far end of a real pseudo-terminal.

The driver under test opens ``link`` (a symlink to the pty's slave, like a
``/dev/serial/by-id/…`` path) through pyserial, exactly as it opens a USB
reader. ``unplug()`` closes the master and removes the link — the driver sees
the device vanish; ``replug()`` makes a fresh pty behind the same link. The
field's ``noise`` and ``corrupt_answers`` faults garble what goes back.

A pty moves bytes at memory speed. Given a ``line``, the peer answers when a
real reader would: after the request's bytes on that line, the command's air
time (the firmware's ``air_time``) and the answer's bytes; ``busy_seconds``
adds it up, so benchmarks can set the engine's time against it. The field is
looked at when the request has crossed the line (when a real reader puts it on
the air), not when its first byte reaches the pty.

A firmware that is ``notifying`` (FEIG's notification mode) runs its own rounds
in a thread of the peer at air speed, whatever the host does, and pushes what a
round found once the round is over and the frame has crossed the line; a host
request waits for the round under way (one antenna) and is answered between
rounds.
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
UNPACED_ROUND = 0.002
"""A notifying firmware's round without a line to pace it: short, but never a spin."""


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
        self._antenna = threading.Lock()
        self._write = threading.Lock()
        self._halt = threading.Event()
        self._wanted = threading.Event()
        """A host request waits for the antenna: the reader's own rounds let it go first
        (a lock alone is not fair: the rounds would take it back at once)."""
        self._served = threading.Event()
        self._loop: threading.Thread | None = None
        self.pushed = 0
        """Frames the firmware sent unasked (notifications), counted once written."""

    def start(self) -> SerialPeer:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        slave_name = os.ttyname(self._slave)
        if self.link.is_symlink() or self.link.exists():
            self.link.unlink()
        self.link.symlink_to(slave_name)
        self._stop_r, self._stop_w = os.pipe()
        self._halt.clear()
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-{self.link.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        os.write(self._stop_w, b"x")
        self._halt.set()
        self._thread.join(timeout=5)
        self._thread = None
        if self._loop is not None:
            self._loop.join(timeout=5)
            self._loop = None
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
                heard = 0.0
                if self.line is not None:
                    # The field is asked once the request is on the air, after its
                    # bytes crossed the line: a tag arriving meanwhile answers this round.
                    heard = self.line.seconds(len(frame.encode()))
                    time.sleep(heard)
                self._served.clear()
                self._wanted.set()
                with self._antenna:  # after the reader's own round under way, if any
                    self._wanted.clear()
                    answer = self.firmware.answer(frame)
                    encoded = answer.encode()
                    if self.line is not None:
                        air = self.firmware.air_time(frame, answer)
                        busy = air + self.line.seconds(len(encoded))
                        self.busy_seconds += heard + busy
                        time.sleep(busy)
                self._served.set()
                self._send(encoded)
                self._follow_mode()

    def _follow_mode(self) -> None:
        """Start the reader's own rounds when the host switched it to notification mode."""
        if not getattr(self.firmware, "notifying", False):
            return
        if self._loop is not None and self._loop.is_alive():
            return
        self._loop = threading.Thread(
            target=self._rounds, name=f"sim-{self.link.name}-rounds", daemon=True
        )
        self._loop.start()

    def _rounds(self) -> None:
        firmware = self.firmware
        while not self._halt.is_set() and firmware.notifying:
            if self._wanted.is_set():
                self._served.wait(0.05)
                continue
            with self._antenna:
                air, frame = firmware.notify_round()
                time.sleep(air if self.line is not None else max(air, UNPACED_ROUND))
            if frame is None:
                continue
            encoded = frame.encode()
            if self.line is None:
                self._push(encoded)
                continue
            # The UART sends while the next round is on the air.
            timer = threading.Timer(self.line.seconds(len(encoded)), self._push, (encoded,))
            timer.daemon = True
            timer.start()

    def _push(self, frame: bytes) -> None:
        self._send(frame)
        self.pushed += 1  # counted once its bytes are on the driver's side

    def _send(self, answer: bytes) -> None:
        faults = self.field.faults
        with self.field.lock:
            if faults.noise:
                answer = NOISE + answer
            if faults.corrupt_answers > 0:
                faults.corrupt_answers -= 1
                answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
        with self._write:  # an answer and a pushed frame never interleave their bytes
            if self._halt.is_set():
                return
            with contextlib.suppress(OSError):
                os.write(self._master, answer)
