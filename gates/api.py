"""The gate's local API: the kiosk's JSON-lines protocol over a Unix socket.

The same wire format as :mod:`kiosk.engine.api` (``{"id", "cmd", "args"}`` in,
``{"id", "ok", "result" | "error"}`` out, events after ``subscribe``), so the
staff console, scripts and :class:`kiosk.engine.api.ApiClient` talk to a gate
as they talk to a kiosk. Its own small server because the kiosk's is bound to
the kiosk engine. The socket is mode 0660: the gate's user and group only.
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
from datetime import datetime
from pathlib import Path
from typing import Any

from gates.controller import GateController

log = logging.getLogger(__name__)

Command = Callable[[GateController, dict[str, Any]], Any]


def _counts(gate: GateController, args: dict[str, Any]) -> Any:
    since = args.get("since")
    return gate.counts(datetime.fromisoformat(since) if since else None)


def _kiosk_event(gate: GateController, args: dict[str, Any]) -> Any:
    gate.kiosk_event(dict(args))
    return {"accepted": True}


def _missing(gate: GateController, args: dict[str, Any]) -> Any:
    gate.report_missing(str(args["item_id"]), bool(args.get("missing", True)))
    return {"item_id": args["item_id"], "missing": bool(args.get("missing", True))}


COMMANDS: dict[str, Command] = {
    "status": lambda g, a: g.status(),
    "counts": _counts,
    "hourly": lambda g, a: {"hours": g.hourly(float(a.get("hours", 24)))},
    "history": lambda g, a: {"events": g.bus.history()},
    "kiosk_event": _kiosk_event,
    "missing": _missing,
}


class _Handler(socketserver.StreamRequestHandler):
    server: GateApiServer

    def handle(self) -> None:
        write_lock = threading.Lock()
        subscription: queue.Queue[dict[str, Any]] | None = None
        bus = self.server.gate.bus

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


class GateApiServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, gate: GateController) -> None:
        self.gate = gate
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
        command = COMMANDS.get(name)
        if command is None:
            return {
                "id": ident,
                "ok": False,
                "error": {"code": "unknown_command", "en": f"unknown command {name!r}"},
            }
        try:
            return {"id": ident, "ok": True, "result": command(self.gate, args)}
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
        thread = threading.Thread(target=self.serve_forever, name="gate-api", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
