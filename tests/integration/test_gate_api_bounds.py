"""The gate's local API shares the kiosk's limits (engine.jsonlines): a real gate and socket."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.jsonlines import MAX_LINE
from gates.api import GateApiServer
from kiosk.api import ApiClient
from tests.integration.test_gate import DEADLINE, Harness, make_gate

__all__ = ["make_gate"]  # the fixture, used by name below


def answer_lines(sock: socket.socket) -> list[dict[str, Any]]:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return [json.loads(line) for line in data.splitlines()]


def test_gate_api_closes_an_endless_line_and_checks_argument_types(
    make_gate: Callable[..., Harness], tmp_path: Path
) -> None:
    gate = make_gate()
    path = tmp_path / "gate.sock"
    server = GateApiServer(path, gate.controller)
    server.serve_in_thread()
    client = ApiClient(path, timeout=DEADLINE)
    hostile = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hostile.settimeout(DEADLINE)
    hostile.connect(str(path))
    try:

        def flood() -> None:
            with contextlib.suppress(OSError):
                for _ in range(64):
                    hostile.sendall(b"{" * 65536)
                hostile.shutdown(socket.SHUT_WR)

        writer = threading.Thread(target=flood, daemon=True)
        writer.start()
        answers = answer_lines(hostile)
        writer.join(DEADLINE)
        assert [a["error"]["code"] for a in answers] == ["line_too_long"]
        assert str(MAX_LINE) in answers[0]["error"]["en"]
        # The other connection is served; bad types are bad_arguments, not internal.
        assert client.result("status")["gate"] == "gate-test"
        for cmd, args in [
            ("hourly", {"hours": "all"}),
            ("hourly", {"hours": True}),
            ("hourly", {"hours": -1}),
            ("counts", {"since": 20261201}),
            ("missing", {"item_id": ["A0001"]}),
            ("missing", {"item_id": "A0001", "missing": "false"}),
        ]:
            error = client.call(cmd, **args)["error"]
            assert error["code"] == "bad_arguments", (cmd, args, error)
        assert client.result("missing", item_id="A0001", missing=False) == {
            "item_id": "A0001",
            "missing": False,
        }
    finally:
        hostile.close()
        client.close()
        server.close()
