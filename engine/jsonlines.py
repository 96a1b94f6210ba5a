"""The local API's server: JSON lines on a Unix socket, commands in, answers and events out.

Shared by the kiosk engine and the gate (documented in docs/kiosk-api.md): a
request ``{"id", "cmd", "args"}`` gets ``{"id", "ok", "result" | "error"}``;
after ``subscribe`` the connection also receives every event of the daemon's
bus. The socket is created mode 0660 so only the daemon's user and group (the
touchscreen, staff tools) can reach it.

Nothing a client does may cost the daemon more than that client's share:
a request line is at most :data:`MAX_LINE` bytes (a line that never ends grew
an engine to 1.39 GB), a subscriber that stops reading is dropped once
:data:`SUBSCRIBER_LIMIT` events wait for it, and when the process runs out of
file descriptors the accept loop pauses instead of spinning on the listening
socket.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import queue
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.events import EventBus

log = logging.getLogger(__name__)

Command = Callable[[Any, dict[str, Any]], Any]

# A request is a command name and a few short arguments; the ILS simulator caps a
# SIP2 message at the same size.
MAX_LINE = 64 * 1024
# What a client accepts from the daemon: answers can be long (``journal`` lists every
# transaction it keeps), but a peer that never ends a line must not fill our memory.
MAX_ANSWER_LINE = 16 * 1024 * 1024
# Events waiting for one API subscriber before it is dropped: a burst of a whole
# stack on the pad is a few hundred; at about 240 bytes an event this bounds a
# stalled client to a quarter of a megabyte.
SUBSCRIBER_LIMIT = 1000
# Connections served at once, each on a thread of its own (two when subscribed).
# Far above what a kiosk needs (the touchscreen, a staff tool, a script) and above
# the 1,000 clients it was tested with; beyond it a client is answered ``busy``
# and closed, so threads and descriptors stay within the unit's TasksMax and
# LimitNOFILE (systemd/*.service).
MAX_CONNECTIONS = 1024
# Pauses of the accept loop while the process has no file descriptor left.
ACCEPT_BACKOFF_FIRST = 0.05
ACCEPT_BACKOFF_MAX = 1.0
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Refusal(Exception):
    """A command the daemon refuses; ``message`` is what the client shows (code, vi, en)."""

    message: dict[str, str]


class LineTooLong(ValueError):
    """A line longer than its limit: the peer is broken or hostile."""


class Lines(Protocol):
    """A binary stream read line by line (a socket's file, a pipe)."""

    def readline(self, size: int | None = -1, /) -> bytes: ...


def read_line(stream: Lines, limit: int) -> bytes:
    """The next line of ``stream`` (b"" at its end); LineTooLong past ``limit`` bytes.

    Reads at most ``limit + 1`` bytes, so a peer that never sends a newline
    costs no more than that.
    """
    line = stream.readline(limit + 1)
    if len(line) > limit and not line.endswith(b"\n"):
        raise LineTooLong(f"a line longer than {limit} bytes")
    return line


def _argument_error(name: str, message: str) -> dict[str, Any]:
    return {"code": "bad_arguments", "en": f"{name}: {message}"}


class _Handler(socketserver.StreamRequestHandler):
    server: JsonLinesServer

    def handle(self) -> None:
        write_lock = threading.Lock()
        subscription: queue.Queue[dict[str, Any]] | None = None
        bus = self.server.bus
        connection: socket.socket = self.request

        def send(message: dict[str, Any]) -> bool:
            try:
                text = json.dumps(message, ensure_ascii=False, default=str)
            except (RecursionError, ValueError):
                # An answer nested too deeply to write (a result our command built):
                # say so rather than drop the connection.
                log.error("an answer could not be encoded")
                text = json.dumps({"ok": False, "error": {"code": "internal"}})
            data = (text + "\n").encode()
            with write_lock:
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                    return True
                except (OSError, ValueError):  # ValueError: the connection has ended
                    return False

        def forward(events: queue.Queue[dict[str, Any]]) -> None:
            while True:
                event = events.get()
                if not event or not send(event):
                    return

        def hang_up() -> None:
            # The bus dropped this subscriber: a client that reads no events gets no
            # more of our memory. Ends the read below and any write blocked on it.
            log.warning("an API client let %d events pile up unread; closing it", SUBSCRIBER_LIMIT)
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

        try:
            while True:
                try:
                    raw = read_line(self.rfile, self.server.max_line)
                except LineTooLong:
                    log.warning(
                        "an API client sent a line over %d bytes; closed", self.server.max_line
                    )
                    send(
                        {
                            "ok": False,
                            "error": {
                                "code": "line_too_long",
                                "en": f"a request longer than {self.server.max_line} bytes; "
                                "connection closed",
                            },
                        }
                    )
                    return
                except OSError as error:
                    log.info("an API connection ended: %s", error.strerror or error)
                    return
                if not raw:
                    return
                try:
                    request = json.loads(raw)
                    if not isinstance(request, dict):
                        raise ValueError("not an object")
                except RecursionError:
                    send(
                        {
                            "ok": False,
                            "error": {"code": "bad_request", "en": "the request nests too deeply"},
                        }
                    )
                    continue
                except ValueError:
                    send({"ok": False, "error": {"code": "bad_json"}})
                    continue
                ident = request.get("id")
                if isinstance(ident, (dict, list)):
                    # The id is echoed in the answer: only a number or a string is kept.
                    send({"ok": False, "error": {"code": "bad_request", "en": "id: not a value"}})
                    continue
                if request.get("cmd") == "subscribe":
                    if subscription is None:
                        subscription = bus.subscribe(self.server.subscriber_limit, hang_up)
                        threading.Thread(target=forward, args=(subscription,), daemon=True).start()
                    send({"id": request.get("id"), "ok": True, "result": {"subscribed": True}})
                    continue
                send(self.server.dispatch(request))
        finally:
            if subscription is not None:
                bus.unsubscribe(subscription)
                # Nothing feeds it any more: make room for the end mark whatever waits.
                with contextlib.suppress(queue.Empty):
                    while True:
                        subscription.get_nowait()
                subscription.put_nowait({})  # ends the forwarding thread


class JsonLinesServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    max_line = MAX_LINE
    subscriber_limit = SUBSCRIBER_LIMIT
    max_connections = MAX_CONNECTIONS

    def __init__(
        self,
        path: Path,
        target: Any,
        bus: EventBus,
        commands: dict[str, Command],
        *,
        fallback: Callable[[str], Command | None] | None = None,
        name: str = "api",
        admits: Callable[[socket.socket], bool] | None = None,
    ) -> None:
        self.target = target
        self.admits = admits
        """Asked about each accepted connection before it is served (who the peer is:
        engine.security.api_peers); None: whoever the socket's mode lets in."""
        self.bus = bus
        self.commands = commands
        self.fallback = fallback
        self.thread_name = name
        self._starved = 0  # accepts refused in a row for want of file descriptors
        self._connections = 0
        self._busy_logged = False
        self._count_lock = threading.Lock()
        self._closing = threading.Event()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_socket():
            path.unlink()
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o660)
        self.path = path

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            request = super().get_request()
        except OSError as error:
            if error.errno in _OUT_OF_DESCRIPTORS:
                self._back_off(error)
            raise
        if self._starved:
            log.info("%s accepts connections again (%d refused)", self.thread_name, self._starved)
            self._starved = 0
        return request

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # socketserver closes a connection refused here, before any thread or read.
        if self.admits is None or self.admits(request):
            return True
        refused = {
            "ok": False,
            "error": {"code": "not_allowed", "en": "this user may not use the local API"},
        }
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send((json.dumps(refused) + "\n").encode())
        return False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            full = self._connections >= self.max_connections
            if not full:
                self._connections += 1
        if full:
            self._refuse_busy(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._connection_ended()  # its thread never started
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connection_ended()

    def _connection_ended(self) -> None:
        with self._count_lock:
            self._connections -= 1
            if self._connections < self.max_connections:
                self._busy_logged = False

    def _refuse_busy(self, request: socket.socket) -> None:
        """Answer ``busy`` without a thread (never blocking the accept loop) and close."""
        if not self._busy_logged:
            self._busy_logged = True
            log.warning(
                "%s serves %d connections already; refusing more",
                self.thread_name,
                self.max_connections,
            )
        busy = {"ok": False, "error": {"code": "busy", "en": "too many connections; try again"}}
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send((json.dumps(busy) + "\n").encode())
        self.shutdown_request(request)

    def _back_off(self, error: OSError) -> None:
        """Pause before the next accept: the waiting connection keeps the socket readable,
        so without a pause the loop spins at full CPU until a descriptor is free."""
        self._starved += 1
        if self._starved == 1:
            log.warning(
                "%s cannot accept connections: %s; retrying less often until it can",
                self.thread_name,
                error.strerror,
            )
        delay = min(ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_FIRST * 2 ** (self._starved - 1))
        self._closing.wait(delay)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line for a connection the client broke; a traceback only for our own bugs."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.info("an API connection ended: %s", error.strerror or error)
        else:
            log.exception("an API connection failed")

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        ident = request.get("id")
        name = str(request.get("cmd"))
        args = request.get("args")
        if args is None:
            args = {}
        command = self.commands.get(name)
        if command is None and self.fallback is not None:
            command = self.fallback(name)
        if command is None:
            return {
                "id": ident,
                "ok": False,
                "error": {"code": "unknown_command", "en": f"unknown command {name!r}"},
            }
        if not isinstance(args, dict):
            return {
                "id": ident,
                "ok": False,
                "error": _argument_error(name, "args must be an object"),
            }
        try:
            return {"id": ident, "ok": True, "result": command(self.target, args)}
        except Refusal as refusal:
            return {"id": ident, "ok": False, "error": refusal.message}
        except (KeyError, TypeError, ValueError) as error:
            return {"id": ident, "ok": False, "error": _argument_error(name, str(error))}
        except Exception as error:
            log.exception("command %s failed", name)
            return {"id": ident, "ok": False, "error": {"code": "internal", "en": str(error)}}

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=self.thread_name, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self._closing.set()
        self.shutdown()
        self.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def string_arg(args: dict[str, Any], key: str) -> str:
    """The string argument ``key``; a ValueError or TypeError (answered ``bad_arguments``)
    when it is missing or of another type.

    Commands check their argument types here, before the daemon sees them: an
    integer where a string belongs would otherwise fail deep inside and be
    answered ``internal``.
    """
    value = optional_string_arg(args, key)
    if value is None:
        raise ValueError(f"{key} is missing")
    return value


def optional_string_arg(args: dict[str, Any], key: str) -> str | None:
    """The string argument ``key``, None when absent or null; TypeError for another type."""
    value = args.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} must be a string, got {type(value).__name__}")
    return value
