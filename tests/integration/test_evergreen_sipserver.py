"""Interoperability with Evergreen's standalone SIPServer, when its source is at hand.

CI cannot fetch it, so this runs only where SIPSERVER_SRC points to a checkout
(see docs/interop-evergreen.md); the captured transcripts are tested everywhere
in tests/unit/protocols/test_evergreen_transcripts.py. The helpers here (the
skip marker, the doctor run, a server kept running) serve the return machine's
test too (test_evergreen_sipserver_sorter.py).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "interop" / "evergreen-sipserver.sh"
PATRON, PIN = "djfiander", "6789"
"""The bundled test ILS's patron (ILS/Patron.pm)."""
ITEMS = {"1565921879": "Perl 5 desktop reference", "0440242746": "The deep blue alibi"}
"""Two of the bundled test ILS's items (ILS/Item.pm), media type 001, no location."""
STARTED = 120.0
"""Seconds for the script to install what is missing and start the server."""

needs_sipserver = pytest.mark.skipif(
    not (Path(os.environ.get("SIPSERVER_SRC", "/nonexistent")) / "SIPServer.pm").exists(),
    reason="SIPSERVER_SRC does not point to a checkout of Evergreen's SIPServer",
)


def script_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "MUONTRA": str(Path(sys.executable).parent / "muontra"), **extra}


LOGIN_PASSWORD_ENV = "SIPSERVER_LOGIN_PASSWORD"
"""Where a configuration finds the test ILS's login password (SIPconfig.xml: clientpwd)."""


def ils_url(port: int, *, password_in_url: bool = True) -> str:
    """The URL the doctor recommends for this server, for the test ILS's login; without
    the password, for an [ils] section that takes it from LOGIN_PASSWORD_ENV."""
    login = "scclient:clientpwd" if password_in_url else "scclient"
    return (
        f"sip2://{login}@127.0.0.1:{port}"
        "?institution=UWOLS&profile=evergreen&verify_checksum=0&timeout=5"
    )


def run_doctor(**env: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    done = subprocess.run(
        ["bash", str(SCRIPT), "--json"],
        capture_output=True,
        text=True,
        timeout=STARTED + 60,
        check=False,
        env=script_env(**env),
    )
    return json.loads(done.stdout), done


@dataclass
class RunningSipServer:
    port: int
    stderr: list[str] = field(default_factory=list)
    """The script's stderr lines; complete (with the server's errors) once it has stopped."""

    def errors(self) -> list[str]:
        """The server's errors, which the script lists under "server errors:" as it stops."""
        if "server errors:" not in self.stderr:
            raise AssertionError(f"the script did not list the server's errors: {self.stderr}")
        return self.stderr[self.stderr.index("server errors:") + 1 :]


@contextmanager
def running_sipserver(**env: str) -> Iterator[RunningSipServer]:
    """SIPServer with its test ILS on a free loopback port (the script's --serve mode)."""
    process = subprocess.Popen(
        ["bash", str(SCRIPT), "--serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=script_env(**env),
        start_new_session=True,  # its server and that server's children stop with it
    )
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    server = RunningSipServer(port=0)
    try:
        while not server.port:
            try:
                line = lines.get(timeout=STARTED)
            except queue.Empty:
                raise AssertionError(f"SIPServer did not start: {server.stderr}") from None
            if line is None:
                raise AssertionError(f"SIPServer did not start: {server.stderr}")
            server.stderr.append(line)
            started = re.search(r"SIPServer \(test ILS\) on 127\.0\.0\.1:(\d+)", line)
            if started:
                server.port = int(started.group(1))
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        reader.join(timeout=30)
        while not lines.empty() and (line := lines.get_nowait()) is not None:
            server.stderr.append(line)


@pytest.mark.interop
@needs_sipserver
def test_doctor_against_the_test_ils_as_shipped() -> None:
    report, done = run_doctor(SIPSERVER_AS_SHIPPED="1")
    steps = {step["name"]: step["ok"] for step in report["steps"]}
    # What works with the bundled test ILS, and what its missing methods break.
    assert steps["connect and log in"] and steps["SC status"] and steps["patron status"]
    assert steps["checkout"]
    assert not steps["patron information"] and not steps["item information"]
    assert not steps["checkin"]
    assert "internal_id" in done.stderr and "destination_loc" in done.stderr
    assert report["dialect"]["checksums"]["ok"] == 0 and report["dialect"]["checksums"]["bad"] > 0
    assert "verify_checksum=0" in report["recommended"]["url_parameters"]
    assert done.returncode == 1


@pytest.mark.interop
@needs_sipserver
def test_doctor_against_the_completed_test_ils() -> None:
    report, done = run_doctor()
    steps = {step["name"]: step["ok"] for step in report["steps"]}
    # With the missing methods added (scripts/interop/evergreen-test-ils-compat.pm) every
    # step passes, the checkin too, and the server process no longer dies.
    assert all(steps.values()), steps
    assert "Can't locate" not in done.stderr
    assert report["dialect"]["checksums"]["ok"] == 0  # still AZ0000 on every answer
    assert "verify_checksum=0" in report["recommended"]["url_parameters"]
    assert done.returncode == 0
