"""`muontra kiosk` as systemd runs it: READY=1, a watchdog fed while healthy, SIGTERM."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from tests.engine.harness import KioskProcess, ils_simulator, write_config


def test_ready_watchdog_and_clean_stop(tmp_path: Path) -> None:
    notify = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(20)
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        config = write_config(tmp_path, sim.port)
        engine = KioskProcess(
            config,
            tmp_path / "kiosk.sock",
            env={"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "400000"},
        )
        try:
            messages = [listener.recv(256).decode()]
            while "WATCHDOG=1" not in messages:
                messages.append(listener.recv(256).decode())
            assert messages[0] == "READY=1"
            status = engine.client.result("status")
            assert status["reader"] == "ready" and status["ils_online"] is True
            engine.process.send_signal(signal.SIGTERM)
            assert engine.process.wait(15) == 0
            while "STOPPING=1" not in messages:
                messages.append(listener.recv(256).decode())
        finally:
            engine.stop()
            listener.close()


def test_a_bad_config_names_the_key_and_exits_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "kiosk.toml"
    config.write_text(
        write_config(tmp_path, 6001).read_text().replace("pin_attempts", "x")
        + "\n[patron2]\nfoo = 1\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "muontra", "kiosk", "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    line = config.read_text().splitlines().index("[patron2]") + 1
    assert f"{line}: patron2: unknown section" in result.stderr
