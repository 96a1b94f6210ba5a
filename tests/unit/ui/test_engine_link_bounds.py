"""The touchscreen's link caps a line from the engine: a line that never ends costs a reconnect,
not the screen's memory. The peer is a real Unix socket server of the test's own."""

from __future__ import annotations

import json
import queue
import socket
import threading
from pathlib import Path

import pytest

import ui.client
from ui.client import EngineLink

BOUND = 5.0  # only reached when the test fails
LIMIT = 256 * 1024


def test_a_line_over_the_limit_hangs_up_and_reconnects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller cap keeps the test quick; the rule is the same at 16 MB.
    monkeypatch.setattr(ui.client, "MAX_LINE", LIMIT, raising=False)
    path = tmp_path / "engine.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    accepted: queue.Queue[socket.socket] = queue.Queue()
    sent = threading.Event()

    def serve() -> None:
        first = True
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.put(conn)
            conn.recv(4096)  # the subscribe request
            conn.sendall(b'{"id": 0, "ok": true, "result": {"subscribed": true}}\n')
            if first:
                first = False
                try:
                    for _ in range(8):  # 4 × the cap, and never a newline
                        conn.sendall(b"x" * (LIMIT // 2))
                except OSError:
                    pass  # the link hung up: what we want
                sent.set()

    threading.Thread(target=serve, daemon=True).start()
    changes: queue.Queue[bool] = queue.Queue()
    link = EngineLink(
        path,
        on_event=lambda event: None,
        on_connection=changes.put,
        retry_min=0.01,
        heartbeat=60,
        dead_after=120,
        busy_dead_after=120,
    )
    link.start()
    try:
        assert changes.get(timeout=BOUND) is True
        assert changes.get(timeout=BOUND) is False, "the link kept reading the endless line"
        assert changes.get(timeout=BOUND) is True  # reconnected to the same engine
        assert accepted.qsize() == 2
    finally:
        link.stop()
        listener.close()
        while not accepted.empty():
            accepted.get().close()


def test_an_answer_with_an_unhashable_id_is_skipped(tmp_path: Path) -> None:
    """An answer whose id is a list or an object matches no request and is skipped; the
    link reads on (its reader thread once died on it while a request was waiting: TypeError,
    unhashable, and it never reconnected)."""
    path = tmp_path / "engine.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    accepted: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        accepted.append(conn)
        lines = conn.makefile("rb")
        lines.readline()  # the subscribe request
        conn.sendall(b'{"id": 0, "ok": true, "result": {"subscribed": true}}\n')
        ident = json.loads(lines.readline())["id"]
        answer = {"id": ident, "ok": True, "result": "pong"}
        conn.sendall(
            json.dumps({"id": [ident], "ok": True}).encode()
            + b"\n"
            + json.dumps({"id": {"n": ident}, "ok": True}).encode()
            + b"\n"
            + json.dumps(answer).encode()
            + b"\n"
        )

    threading.Thread(target=serve, daemon=True).start()
    changes: queue.Queue[bool] = queue.Queue()
    answers: queue.Queue[dict[str, object]] = queue.Queue()
    link = EngineLink(
        path,
        on_event=lambda event: None,
        on_connection=changes.put,
        retry_min=0.01,
        heartbeat=60,
        dead_after=120,
        busy_dead_after=120,
    )
    link.start()
    try:
        assert changes.get(timeout=BOUND) is True
        link.send("ping", on_answer=answers.put)
        assert answers.get(timeout=BOUND)["result"] == "pong"
    finally:
        link.stop()
        listener.close()
        for conn in accepted:
            conn.close()
