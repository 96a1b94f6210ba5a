"""The touchscreen's link to the engine: JSON lines on the engine's Unix socket, reconnecting.

The screen must survive the engine going away (an upgrade, a crash, systemd
restarting it): instead of dying it says "out of service" and keeps knocking,
and carries on as soon as the socket answers again — no restart of the UI.

An engine can also hang with its socket open (a deadlocked API thread, a
process stopped with SIGSTOP): the socket never closes, so the link keeps a
heartbeat. After ``heartbeat`` seconds without a word from the engine it sends
``ping``; after ``dead_after`` seconds of silence it hangs up as if the
engine had closed the socket, and reconnects. A connection counts as up only
once the engine has said something on it (the answer to ``subscribe``):
connecting to a stopped process succeeds — the kernel queues the connection —
so connecting alone proves nothing.

This module has no Qt in it. One reader thread owns the socket; everything it
receives (answers and events) and every change of the connection goes to
callbacks, which the Qt adapter re-posts onto the GUI thread. A second, small
thread keeps the heartbeat; it never touches the callbacks, so the connection
callbacks always come from the reader thread, in order. Requests never block
the caller: the answer comes back through the callback given with it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Message = dict[str, Any]
AnswerCallback = Callable[[Message], None]

# The longest line taken from the engine. The screen asks for nothing long (the
# biggest answers, ``history`` and ``journal``, are for scripts), and a line that
# never ends must not grow the screen's memory: past this, hang up and reconnect.
MAX_LINE = 16 * 1024 * 1024

CLOSED: Message = {
    "ok": False,
    "error": {
        "code": "engine_away",
        "vi": "Máy tạm ngừng phục vụ",
        "en": "The kiosk is out of service",
    },
}


class EngineLink:
    """A reconnecting client of the local API; answers and events come back by callback.

    Why two silences. The engine's API server gives each connection one thread
    that runs its commands one after another, while events are written by a
    separate forwarding thread. So while one of our commands runs, our ``ping``
    queues behind it, and events flow only if the engine happens to publish
    some: ``done`` waits up to 30 s for items in flight; one ILS call at the
    default settings (10 s per answer, three connection attempts of up to 5 s,
    a login, up to 20 s waiting for the pooled connection) can take most of a
    minute without a word. Silence is then normal, so while a request of ours
    waits only ``busy_dead_after`` (default 120 s, twice the slowest single ILS
    call) ends it; the usual ``dead_after`` (15 s, three heartbeats) applies
    when nothing of ours is waiting, when a live engine answers a ping in
    milliseconds. The price: a hang in the middle of a command is noticed
    later, not never (the engine's systemd watchdog, 30 s, restarts a stopped
    engine anyway); and ``renew`` of many loans against a hung ILS, silent for
    one timeout per loan, can still outlast 120 s — the screen then goes out of
    service and comes straight back, as the engine answers the new connection.
    """

    def __init__(
        self,
        path: Path | str,
        on_event: Callable[[Message], None],
        on_connection: Callable[[bool], None],
        *,
        retry_min: float = 0.1,
        retry_max: float = 2.0,
        heartbeat: float = 5.0,
        dead_after: float = 15.0,
        busy_dead_after: float = 120.0,
    ) -> None:
        if not 0 < heartbeat < dead_after <= busy_dead_after:
            raise ValueError("need 0 < heartbeat < dead_after <= busy_dead_after")
        self.path = str(path)
        self.on_event = on_event
        self.on_connection = on_connection
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.heartbeat = heartbeat
        self.dead_after = dead_after
        self.busy_dead_after = busy_dead_after
        self.connected = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        # The heartbeat thread sleeps on this until its next deadline; it is woken when
        # that deadline may have moved earlier (a socket opened, the first answer, the
        # end of a silence with a ping out) or the socket is gone (dropped, stopped).
        self._watch = threading.Condition(self._lock)
        # Two threads write (the caller's requests, the heartbeat's pings): one line at a time.
        self._write_lock = threading.Lock()
        # Every request still waiting for its answer (None: nobody wants the answer).
        # Pings are not in it, so "is a command of ours running?" is "is it non-empty?".
        self._pending: dict[int, AnswerCallback | None] = {}
        self._ids = itertools.count(1)
        self._last_life = 0.0  # monotonic time the engine last said anything
        self._pinged = False  # a ping went out in the current silence
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ui-engine-link", daemon=True)
        self._watcher = threading.Thread(
            target=self._keep_heartbeat, name="ui-engine-heartbeat", daemon=True
        )
        self._thread.start()
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        self._drop()  # also wakes the heartbeat thread
        for thread in (self._thread, self._watcher):
            if thread is not None:
                thread.join(5)

    def send(
        self, cmd: str, args: Message | None = None, on_answer: AnswerCallback | None = None
    ) -> None:
        """Send a request; ``on_answer`` gets the answer (or :data:`CLOSED` if the engine left)."""
        ident = next(self._ids)
        line = (json.dumps({"id": ident, "cmd": cmd, "args": args or {}}) + "\n").encode()
        with self._lock:
            # Until the engine has answered on this connection it is not "up": a request
            # sent into a socket nobody reads would wait for dead_after for nothing.
            sock = self._sock if self.connected else None
            if sock is not None:
                self._pending[ident] = on_answer
        if sock is None:
            if on_answer is not None:
                on_answer(dict(CLOSED))
            return
        self._write(sock, line)

    # --- the reader thread ------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.retry_min
        while not self._stop.is_set():
            sock = self._connect()
            if sock is not None:
                self._read(sock)
                answered = self.connected
                self._drop()
                if answered:
                    delay = self.retry_min
                    continue
            # Not reachable, or it never answered (still hung): back off before knocking again.
            self._stop.wait(delay)
            delay = min(self.retry_max, delay * 2)

    def _connect(self) -> socket.socket | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(2.0)
            sock.connect(self.path)
            sock.settimeout(None)
            sock.sendall(b'{"id": 0, "cmd": "subscribe"}\n')
        except OSError:
            sock.close()
            return None
        with self._watch:
            if self._stop.is_set():  # stop() ran while we connected: its _drop missed this one
                sock.close()
                return None
            self._sock = sock
            self._last_life = time.monotonic()
            self._pinged = False
            self._watch.notify_all()
        log.info("connected to the engine at %s; waiting for its answer", self.path)
        return sock

    def _read(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError, RecursionError), sock.makefile("rb") as lines:
            while raw := lines.readline(MAX_LINE + 1):
                if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                    log.warning("the engine sent a line over %d bytes; reconnecting", MAX_LINE)
                    return
                with self._watch:
                    self._last_life = time.monotonic()
                    first, self.connected = not self.connected, True
                    if first or self._pinged:
                        # The heartbeat thread sleeps until the deadline of a silence that
                        # just ended; the next ping may now be due sooner than that.
                        self._watch.notify_all()
                    self._pinged = False
                if first:
                    # The subscribe's answer (or anything else) proves someone is home.
                    log.info("the engine answers")
                    self.on_connection(True)
                message = json.loads(raw)
                if not isinstance(message, dict):
                    continue
                if "event" in message:
                    self.on_event(message)
                    continue
                ident = message.get("id")  # ours are ints; a list is unhashable (dropped)
                with self._lock:
                    callback = self._pending.pop(ident, None) if type(ident) is int else None
                if callback is not None:
                    callback(message)

    def _drop(self) -> None:
        """Close the socket and fail every request still waiting: the engine is gone."""
        with self._watch:
            sock, self._sock = self._sock, None
            waiting, self._pending = self._pending, {}
            was_connected, self.connected = self.connected, False
            self._watch.notify_all()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for callback in waiting.values():
            if callback is not None:
                callback(dict(CLOSED))
        if was_connected:
            log.warning("the engine went away; retrying")
            self.on_connection(False)

    # --- writing ----------------------------------------------------------------------------

    def _write(self, sock: socket.socket, line: bytes) -> None:
        try:
            with self._write_lock:
                sock.sendall(line)
        except OSError:
            self._hang_up(sock)

    @staticmethod
    def _hang_up(sock: socket.socket) -> None:
        """End the reader's wait on ``sock``; the reader thread then runs :meth:`_drop`.

        Leaving the drop to the reader keeps "down" before the next "up": a drop
        run here could report the engine gone after the reader reconnected.
        """
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    # --- the heartbeat thread ---------------------------------------------------------------

    def _keep_heartbeat(self) -> None:
        while not self._stop.is_set():
            ping: socket.socket | None = None
            dead: socket.socket | None = None
            with self._watch:
                # Checked under the lock that stop() notifies with, so no wake-up is missed.
                if self._stop.is_set():
                    return
                sock, was_up = self._sock, self.connected
                if sock is None:
                    self._watch.wait()
                    continue
                silent = time.monotonic() - self._last_life
                limit = self.busy_dead_after if self._pending else self.dead_after
                if silent >= limit:
                    dead = sock
                elif was_up and not self._pinged and silent >= self.heartbeat:
                    # One ping per silence: any word from the engine re-arms it.
                    self._pinged, ping = True, sock
                else:
                    # Before the first answer there is nothing to ping; after a ping, only
                    # the deadline is left to wait for.
                    due = limit if self._pinged or not was_up else self.heartbeat
                    self._watch.wait(due - silent)
            if dead is not None:
                if was_up:
                    log.warning(
                        "no word from the engine at %s for %.1f s: treating it as hung",
                        self.path,
                        silent,
                    )
                else:
                    log.info("the engine at %s does not answer; trying again", self.path)
                self._hang_up(dead)
                with self._watch:
                    # The reader clears _sock once it has dropped this socket.
                    while self._sock is dead and not self._stop.is_set():
                        self._watch.wait(self.heartbeat)
            elif ping is not None:
                # An id of its own that no callback waits for; an engine without
                # ``ping`` answers unknown_command, which is just as much a sign of life.
                ident = next(self._ids)
                self._write(ping, (json.dumps({"id": ident, "cmd": "ping"}) + "\n").encode())
