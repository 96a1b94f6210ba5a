"""The engine's local API: JSON lines over a Unix socket (documented in docs/kiosk-api.md).

A client sends ``{"id": 1, "cmd": "identify", "args": {"method": "barcode",
"value": "P0001"}}`` and gets ``{"id": 1, "ok": true, "result": {…}}`` or
``{"id": 1, "ok": false, "error": {"code": …, "vi": …, "en": …}}``. After
``{"cmd": "subscribe"}`` the connection also receives every event as
``{"event": "item", "seq": 42, …}``. The touchscreen, scripts, tests and the
scenario runner all use this same door. The socket is created mode 0660 so
only the engine's user and group (the UI) can reach it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
from pathlib import Path
from typing import Any

from engine.jsonlines import (
    MAX_ANSWER_LINE,
    Command,
    JsonLinesServer,
    LineTooLong,
    optional_string_arg,
    read_line,
    string_arg,
)
from engine.security.api_peers import PeerGate, allowed_uids
from kiosk.core import Engine
from kiosk.simcontrol import SimControl

log = logging.getLogger(__name__)

COMMANDS: dict[str, Command] = {
    # The touchscreen's heartbeat: answered by the connection's own thread without
    # touching the engine, so it costs nothing and proves the process and its API alive.
    "ping": lambda e, a: {"pong": True},
    "status": lambda e, a: e.status(),
    "statistics": lambda e, a: e.statistics(),
    # Every argument's type is checked before the engine sees it (string_arg): an
    # integer card number is a bad request, not an internal error.
    "identify": lambda e, a: e.identify(string_arg(a, "method"), string_arg(a, "value")),
    "pin": lambda e, a: e.pin(string_arg(a, "pin")),
    "language": lambda e, a: e.set_language(string_arg(a, "language")),
    "extend": lambda e, a: e.extend(),
    "account": lambda e, a: e.account(),
    "renew": lambda e, a: e.renew(optional_string_arg(a, "item_id")),
    "done": lambda e, a: e.done(),
    "receipt": lambda e, a: e.receipt(optional_string_arg(a, "method") or "none"),
    "cancel": lambda e, a: e.cancel(),
    "return_mode": lambda e, a: e.return_mode(),
    "staff": lambda e, a: e.staff(string_arg(a, "action")),
    "history": lambda e, a: {"events": e.bus.history()},
    "journal": lambda e, a: {
        "transactions": [
            {
                "txn": t.id,
                "kind": t.kind,
                "state": t.state,
                "item_id": t.item_id,
                "offline": t.offline,
                "outcome": t.outcome,
                "detail": t.detail,
                "uids": [u.hex().upper() for u in t.tag_uids],
            }
            for t in e.journal.all()
        ]
    },
}


class ApiServer(JsonLinesServer):
    """The kiosk engine's local API (and its simulator controls, ``sim_*``)."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.engine = engine
        self.sim = SimControl(engine)

        def simulator(name: str) -> Command | None:
            return self.sim.command(name) if name.startswith("sim_") else None

        gate = PeerGate(allowed_uids(engine.config.detection.api_users), engine.security)
        super().__init__(path, engine, engine.bus, COMMANDS, fallback=simulator, admits=gate.admits)


class ApiClient:
    """A small blocking client of the local API (scripts, tests, the scenario runner).

    A reader thread takes every line off the socket: answers go to the caller
    waiting for that id, events to :attr:`events` (and :meth:`next_event`), so a
    timeout while waiting never leaves half a line behind.
    """

    def __init__(self, path: Path | str, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.sock.settimeout(None)
        self.timeout = timeout
        self._file = self.sock.makefile("rb")
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._incoming: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._next = 0
        self.closed = False
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, name="api-client", daemon=True).start()

    def _read(self) -> None:
        try:
            while line := read_line(self._file, MAX_ANSWER_LINE):
                message = json.loads(line)
                if not isinstance(message, dict):
                    continue  # no answer and no event: a peer's bug, skipped like an unknown id
                if "event" in message:
                    self._incoming.put(message)
                    continue
                ident = message.get("id")  # ours are ints; a list would be unhashable here
                waiting = self._answers.get(ident) if type(ident) is int else None
                if waiting is not None:
                    waiting.put(message)
        except LineTooLong:
            log.warning("the engine sent a line over %d bytes; hanging up", MAX_ANSWER_LINE)
        except (OSError, ValueError, RecursionError):
            pass
        self.closed = True
        self._incoming.put(None)
        for waiting in list(self._answers.values()):
            waiting.put({"ok": False, "error": {"code": "closed"}, "closed": True})

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        with self._lock:
            self._next += 1
            ident = self._next
            waiting: queue.Queue[dict[str, Any]] = queue.Queue()
            self._answers[ident] = waiting
        if self.closed:
            raise ConnectionError("the engine closed the connection")
        try:
            self.sock.sendall((json.dumps({"id": ident, "cmd": cmd, "args": args}) + "\n").encode())
            answer = waiting.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer to {cmd} within {self.timeout} s") from None
        finally:
            self._answers.pop(ident, None)
        if answer.get("closed"):
            raise ConnectionError("the engine closed the connection")
        self._drain()
        return answer

    def _drain(self) -> None:
        while True:
            try:
                event = self._incoming.get_nowait()
            except queue.Empty:
                return
            if event is not None:
                self.events.append(event)

    def result(self, cmd: str, **args: Any) -> Any:
        answer = self.call(cmd, **args)
        if not answer["ok"]:
            raise CommandFailed(answer["error"])
        return answer["result"]

    def subscribe(self) -> None:
        self.result("subscribe")

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event to arrive, also kept in :attr:`events`; None on timeout.

        Events that arrived while :meth:`call` waited for an answer are already in
        :attr:`events` (it moves them there) and are not handed out here: a caller
        waiting for a given event looks in :attr:`events` first, then here (as
        tests/engine/harness.py and bench/footprint.py do). An event can come before
        the answer to the command that caused it.
        """
        try:
            event = self._incoming.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if event is None:
            raise ConnectionError("the engine closed the connection")
        self.events.append(event)
        return event

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class CommandFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("en") or error.get("code"))
        self.error = error
