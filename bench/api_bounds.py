"""What a hostile local-API client costs the kiosk engine: RSS before and after.

Runs `muontra kiosk` as a real process on simulators (the ILS simulator over
TCP) and measures its resident memory (VmRSS, /proc) at rest — the baseline —
then after each attack, in the same run:

- one connection sends 100 MB without a newline (before the line cap this grew
  an engine to 1.39 GB);
- one connection subscribes and never reads while 100,000 events are published
  through the API (``language``: one event each, requests pipelined on another
  connection); before the subscriber limit that cost 24 MB per 100,000 events.

After each attack the engine must still answer ``ping`` on another
connection. Figures only; the tests assert the bounds (tests/engine/test_api_bounds.py).

    .venv/bin/python bench/api_bounds.py
"""

from __future__ import annotations

import contextlib
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine.harness import KioskProcess, ils_simulator, write_config


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def endless_line(path: Path, megabytes: int) -> int:
    """Send ``megabytes`` MB without a newline; return how many bytes the engine took."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sent = 0
    chunk = b"x" * (1 << 20)
    with contextlib.suppress(OSError):
        for _ in range(megabytes):
            sock.sendall(chunk)
            sent += len(chunk)
    sock.close()
    return sent


def stalled_subscriber(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(b'{"id": 1, "cmd": "subscribe"}\n')
    return sock  # never read again


def publish_events(path: Path, count: int) -> None:
    """``count`` language changes, pipelined on one connection: one event each."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    answers = sock.makefile("rb")

    def read() -> None:
        for _ in range(count):
            answers.readline()

    reader = threading.Thread(target=read)
    reader.start()
    line = b'{"id": 1, "cmd": "language", "args": {"language": "vi"}}\n'
    for _ in range(count // 1000):
        sock.sendall(line * 1000)
    reader.join()
    sock.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        with ils_simulator(tmp / "ils.sqlite") as (sim, _store):
            config = write_config(tmp, sim.port)
            socket_path = tmp / "kiosk.sock"
            kiosk = KioskProcess(config, socket_path)
            pid = kiosk.process.pid
            try:
                kiosk.client.result("ping")
                time.sleep(1)
                print(f"baseline at rest            {rss_mb(pid):8.1f} MB")
                sent = endless_line(socket_path, 100)
                assert kiosk.client.result("ping") == {"pong": True}
                print(
                    f"after a 100 MB line         {rss_mb(pid):8.1f} MB "
                    f"({sent / 2**20:.0f} MB sent before the engine closed it)"
                )
                stalled = stalled_subscriber(socket_path)
                started = time.monotonic()
                publish_events(socket_path, 100_000)
                print(
                    f"after 100,000 events, one subscriber never reading "
                    f"{rss_mb(pid):8.1f} MB ({time.monotonic() - started:.0f} s)"
                )
                stalled.close()
                assert kiosk.client.result("ping") == {"pong": True}
            finally:
                kiosk.stop()


if __name__ == "__main__":
    main()
