"""Out of file descriptors, the local API's accept loop pauses instead of spinning at 100 % CPU.

The server runs in a subprocess whose RLIMIT_NOFILE is lowered with
``resource.setrlimit`` to leave room for three connections; the test opens
more. Before the fix every refused accept was retried at once (the waiting
connection keeps the listening socket readable): thousands a second and no
word in the log. Now the refusals are spaced by a growing pause, logged once,
and the waiting clients are served as soon as descriptors come back.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

BOUND = 15.0  # only reached when the test fails

SERVER = textwrap.dedent(
    """
    import json, logging, os, resource, sys, time
    from pathlib import Path

    import engine.jsonlines as jsonlines
    from engine.events import EventBus

    # Short pauses keep the test quick; the rule under test is the same.
    jsonlines.ACCEPT_BACKOFF_FIRST = 0.02
    jsonlines.ACCEPT_BACKOFF_MAX = 0.2
    refused = []
    messages = []

    class Recording(logging.Handler):
        def emit(self, record):
            messages.append((record.levelname, record.getMessage()))

    logging.getLogger("engine.jsonlines").addHandler(Recording())
    logging.getLogger("engine.jsonlines").setLevel(logging.INFO)

    class Counting(jsonlines.JsonLinesServer):
        def get_request(self):
            try:
                return super().get_request()
            except OSError:
                refused.append(time.monotonic())
                raise

    server = Counting(Path(sys.argv[1]), None, EventBus(), {"ping": lambda t, a: {"pong": True}})
    open_now = len(os.listdir("/proc/self/fd"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 3, hard))
    server.serve_in_thread()
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps({"refused": refused, "log": messages}), flush=True)
    """
)


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(BOUND)
    sock.connect(str(path))
    return sock


def ping(sock: socket.socket) -> dict[str, Any]:
    sock.sendall(b'{"id": 1, "cmd": "ping"}\n')
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        assert chunk, "closed without an answer"
        data += chunk
    answer: dict[str, Any] = json.loads(data)
    return answer


def test_out_of_descriptors_the_accept_loop_backs_off_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None

    def report() -> dict[str, Any]:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("report\n")
        child.stdin.flush()
        answer: dict[str, Any] = json.loads(child.stdout.readline())
        return answer

    held: list[socket.socket] = []
    waiting: list[socket.socket] = []
    try:
        assert child.stdout.readline().strip() == "ready"
        # Up to three connections fit; each answers, so each holds a descriptor there.
        for _ in range(3):
            sock = connect(path)
            held.append(sock)
            assert ping(sock)["result"] == {"pong": True}
        # Two more: the kernel queues them, the server cannot accept them.
        waiting = [connect(path) for _ in range(2)]
        deadline = time.monotonic() + BOUND
        while len((state := report())["refused"]) < 4:
            assert time.monotonic() < deadline, f"accepts never refused: {state}"
            time.sleep(0.05)
        refused = state["refused"]
        # Each refusal waits out a pause that doubles (0.02, 0.04, 0.08 s …): the first
        # four span at least 0.04 + 0.08 + 0.16 s. Spinning, they came microseconds apart.
        assert refused[3] - refused[0] >= 0.25, refused[:4]
        warnings = [m for level, m in state["log"] if "cannot accept" in m]
        assert len(warnings) == 1 and "Too many open files" in warnings[0]
        # Descriptors come back: the queued clients are served.
        for sock in held:
            sock.close()
        for sock in waiting:
            assert ping(sock)["result"] == {"pong": True}
        assert any("accepts connections again" in m for _, m in report()["log"])
    finally:
        for sock in held + waiting:
            sock.close()
        child.stdin.close()
        child.wait(BOUND)
        child.stdout.close()
