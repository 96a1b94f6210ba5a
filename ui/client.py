"""The touchscreen's link to the engine: JSON lines on the engine's Unix socket, reconnecting.

The screen must survive the engine going away (an upgrade, a crash, systemd
restarting it): instead of dying it says "out of service" and keeps knocking,
and carries on as soon as the socket answers again — no restart of the UI.

This module has no Qt in it. One reader thread owns the socket; everything it
receives (answers and events) and every change of the connection goes to
callbacks, which the Qt adapter re-posts onto the GUI thread. Requests never
block the caller: the answer comes back through the callback given with it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Message = dict[str, Any]
AnswerCallback = Callable[[Message], None]

CLOSED: Message = {
    "ok": False,
    "error": {
        "code": "engine_away",
        "vi": "Máy tạm ngừng phục vụ",
        "en": "The kiosk is out of service",
    },
}


class EngineLink:
    """A reconnecting client of the local API; answers and events come back by callback."""

    def __init__(
        self,
        path: Path | str,
        on_event: Callable[[Message], None],
        on_connection: Callable[[bool], None],
        *,
        retry_min: float = 0.1,
        retry_max: float = 2.0,
    ) -> None:
        self.path = str(path)
        self.on_event = on_event
        self.on_connection = on_connection
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.connected = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._pending: dict[int, AnswerCallback] = {}
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ui-engine-link", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._drop()
        if self._thread is not None:
            self._thread.join(5)

    def send(
        self, cmd: str, args: Message | None = None, on_answer: AnswerCallback | None = None
    ) -> None:
        """Send a request; ``on_answer`` gets the answer (or :data:`CLOSED` if the engine left)."""
        ident = next(self._ids)
        line = (json.dumps({"id": ident, "cmd": cmd, "args": args or {}}) + "\n").encode()
        with self._lock:
            sock = self._sock
            if sock is not None and on_answer is not None:
                self._pending[ident] = on_answer
        if sock is None:
            if on_answer is not None:
                on_answer(dict(CLOSED))
            return
        try:
            sock.sendall(line)
        except OSError:
            self._drop()

    # --- the reader thread ------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.retry_min
        while not self._stop.is_set():
            sock = self._connect()
            if sock is None:
                self._stop.wait(delay)
                delay = min(self.retry_max, delay * 2)
                continue
            delay = self.retry_min
            self._read(sock)
            self._drop()

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
        with self._lock:
            self._sock = sock
            self.connected = True
        log.info("connected to the engine at %s", self.path)
        self.on_connection(True)
        return sock

    def _read(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError), sock.makefile("rb") as lines:
            for raw in lines:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    continue
                if "event" in message:
                    self.on_event(message)
                    continue
                with self._lock:
                    callback = self._pending.pop(message.get("id", -1), None)
                if callback is not None:
                    callback(message)

    def _drop(self) -> None:
        """Close the socket and fail every request still waiting: the engine is gone."""
        with self._lock:
            sock, self._sock = self._sock, None
            waiting, self._pending = self._pending, {}
            was_connected, self.connected = self.connected, False
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for callback in waiting.values():
            callback(dict(CLOSED))
        if was_connected:
            log.warning("the engine went away; retrying")
            self.on_connection(False)
