"""The local API's server: JSON lines on a Unix socket, commands in, answers and events out.

Shared by the kiosk engine and the gate (documented in docs/kiosk-api.md): a
request ``{"id", "cmd", "args"}`` gets ``{"id", "ok", "result" | "error"}``;
after ``subscribe`` the connection also receives every event of the daemon's
bus. The socket is created mode 0660 so only the daemon's user and group (the
touchscreen, staff tools) can reach it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.engine.events import EventBus

log = logging.getLogger(__name__)

Command = Callable[[Any, dict[str, Any]], Any]


class Refusal(Exception):
    """A command the daemon refuses; ``message`` is what the client shows (code, vi, en)."""

    message: dict[str, str]


class _Handler(socketserver.StreamRequestHandler):
    server: JsonLinesServer

    def handle(self) -> None:
        write_lock = threading.Lock()
        subscription: queue.Queue[dict[str, Any]] | None = None
        bus = self.server.bus

        def send(message: dict[str, Any]) -> bool:
            data = (json.dumps(message, ensure_ascii=False, default=str) + "\n").encode()
            with write_lock:
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                    return True
                except OSError:
                    return False

        def forward(events: queue.Queue[dict[str, Any]]) -> None:
            while True:
                event = events.get()
                if not event or not send(event):
                    return

        try:
            for raw in self.rfile:
                try:
                    request = json.loads(raw)
                    if not isinstance(request, dict):
                        raise ValueError("not an object")
                except ValueError:
                    send({"ok": False, "error": {"code": "bad_json"}})
                    continue
                if request.get("cmd") == "subscribe":
                    if subscription is None:
                        subscription = bus.subscribe()
                        threading.Thread(target=forward, args=(subscription,), daemon=True).start()
                    send({"id": request.get("id"), "ok": True, "result": {"subscribed": True}})
                    continue
                send(self.server.dispatch(request))
        finally:
            if subscription is not None:
                bus.unsubscribe(subscription)
                subscription.put({})  # ends the forwarding thread


class JsonLinesServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(
        self,
        path: Path,
        target: Any,
        bus: EventBus,
        commands: dict[str, Command],
        *,
        fallback: Callable[[str], Command | None] | None = None,
        name: str = "api",
    ) -> None:
        self.target = target
        self.bus = bus
        self.commands = commands
        self.fallback = fallback
        self.thread_name = name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_socket():
            path.unlink()
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o660)
        self.path = path

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        ident = request.get("id")
        name = str(request.get("cmd"))
        args = request.get("args") or {}
        command = self.commands.get(name)
        if command is None and self.fallback is not None:
            command = self.fallback(name)
        if command is None:
            return {
                "id": ident,
                "ok": False,
                "error": {"code": "unknown_command", "en": f"unknown command {name!r}"},
            }
        try:
            return {"id": ident, "ok": True, "result": command(self.target, args)}
        except Refusal as refusal:
            return {"id": ident, "ok": False, "error": refusal.message}
        except (KeyError, TypeError, ValueError) as error:
            return {
                "id": ident,
                "ok": False,
                "error": {"code": "bad_arguments", "en": f"{name}: {error}"},
            }
        except Exception as error:
            log.exception("command %s failed", name)
            return {"id": ident, "ok": False, "error": {"code": "internal", "en": str(error)}}

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=self.thread_name, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
