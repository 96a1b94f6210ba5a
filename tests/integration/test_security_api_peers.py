"""The local API socket refuses users it does not know (SO_PEERCRED), on a real Unix socket.

The engine's own user is always let in; others only when listed in
``detection.api_users``. A refused peer gets one ``not_allowed`` line, the socket
is closed, the daemon logs one line and publishes ``api_peer_refused``.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.events import EventBus
from engine.jsonlines import JsonLinesServer
from engine.security.api_peers import PeerGate, allowed_uids, peer_uid
from engine.security.reporter import SecurityReporter
from ilssim.server import SimServerThread
from ilssim.store import Store
from tests.engine.harness import Kiosk, ils_simulator, write_config

COMMANDS = {"ping": lambda target, args: {"pong": True}}


def security(bus: EventBus) -> list[dict[str, Any]]:
    return [e for e in bus.history() if e["event"] == "security"]


def ask(path: Path) -> dict[str, Any] | None:
    """Send a ping; the first line answered, None when the socket closed without one."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        try:
            sock.sendall(b'{"id": 1, "cmd": "ping"}\n')
            line = sock.makefile("rb").readline()
        except OSError:  # refused and closed before the request was written
            return None
    return json.loads(line) if line else None


@pytest.fixture
def ils(tmp_path: Path) -> Iterator[tuple[SimServerThread, Store]]:
    with ils_simulator(tmp_path / "ils.sqlite") as running:
        yield running


def test_the_engines_own_user_is_served(tmp_path: Path, ils: tuple[SimServerThread, Store]) -> None:
    kiosk = Kiosk(write_config(tmp_path, ils[0].port, extra="[detection]\napi_users = []\n"))
    try:
        assert kiosk.call("ping") == {"pong": True}  # the harness's own client: our uid
        assert ask(kiosk.config.device.api_socket) == {
            "id": 1,
            "ok": True,
            "result": {"pong": True},
        }
        assert security(kiosk.engine.bus) == []
    finally:
        kiosk.close()


def test_a_user_not_on_the_list_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon's "own" uid and the list both leave out the test's uid."""
    me = os.geteuid()
    bus = EventBus()
    gate = PeerGate(allowed_uids(["4000000001"], own=me + 1), SecurityReporter(bus))
    path = tmp_path / "api.sock"
    server = JsonLinesServer(path, None, bus, COMMANDS, admits=gate.admits)
    server.serve_in_thread()
    try:
        with caplog.at_level(logging.WARNING, logger="engine.security.api_peers"):
            # One line saying why, then the socket is closed (or just closed, if the line
            # lost the race with the close): never an answer to the ping.
            answer = ask(path)
            assert answer is None or answer["error"]["code"] == "not_allowed"
            again = ask(path)
            assert again is None or again["error"]["code"] == "not_allowed"
        [refused] = security(bus)
        assert refused["threat"] == "api_peer_refused" and refused["peer_uid"] == me
        assert refused["count"] == 1  # the second was counted, not published again
        lines = [r.getMessage() for r in caplog.records if "refused a connection" in r.message]
        assert lines == [
            f"local API: refused a connection from uid {me} (not the daemon's user "
            "nor in detection.api_users)"
        ]
    finally:
        server.close()


def test_peer_uid_reads_the_kernels_credentials() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert peer_uid(left) == os.geteuid()
    with socket.socket() as tcp:
        assert peer_uid(tcp) is None  # not a Unix socket: no credentials, so not admitted


def test_unknown_user_names_are_skipped_numbers_kept() -> None:
    assert allowed_uids(["no-such-user-here", "4242"], own=7) == frozenset({7, 4242})


NOBODY = "nobody"
# Another user cannot run the virtualenv's interpreter (it lives under root's home here).
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
@pytest.mark.parametrize("listed", [False, True], ids=["refused", "listed"])
def test_another_real_user(tmp_path: Path, listed: bool) -> None:
    """A process of another user (nobody) connects; the socket's mode lets it (0666 here),
    so only the peer check stands between it and the API."""
    nobody = pwd.getpwnam(NOBODY).pw_uid
    bus = EventBus()
    gate = PeerGate(allowed_uids([NOBODY] if listed else []), SecurityReporter(bus))
    # pytest's own folders are root's alone (0700): the socket goes where nobody can reach.
    folder = Path(tempfile.mkdtemp(prefix="muontra-peer-"))
    folder.chmod(0o755)
    path = folder / "api.sock"
    server = JsonLinesServer(path, None, bus, COMMANDS, admits=gate.admits)
    path.chmod(0o666)
    server.serve_in_thread()
    client = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])\n"
        "try:\n"
        '    s.sendall(b\'{"id": 1, "cmd": "ping"}\\n\')\n'
        "    line = s.makefile('rb').readline()\n"
        "except OSError:  # refused and closed before the request was written\n"
        "    line = b''\n"
        "print(line.decode().strip())\n"
    )
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, "-I", "-c", client, str(path)],
            user=nobody,
            capture_output=True,
            text=True,
            timeout=30,
            cwd="/",
            check=False,
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout) if done.stdout.strip() else None
        if listed:
            assert answer == {"id": 1, "ok": True, "result": {"pong": True}}
            assert security(bus) == []
        else:
            assert answer is None or answer["error"]["code"] == "not_allowed"
            [refused] = security(bus)
            assert refused["peer_uid"] == nobody
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
