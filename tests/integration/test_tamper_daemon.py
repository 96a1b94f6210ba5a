"""`muontra gate` with a ``[tamper]`` section, through a real mosquitto: a config file edited
and reloaded is no tampering; one edited and left is reported as ``config_changed`` on
``events/security``, a valid fleet event that names no setting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from protocols.mqtt import payloads
from tests.integration.test_daemon_reload import DEVICE, gate_toml, reload_command
from tests.integration.test_mqtt_link import SITE, USERS, Broker, Watcher, broker

__all__ = ["broker"]  # a fixture used here

CHECK_EVERY = 1.0
"""config_check_every: an edit is reported between one and two of these after it."""

TAMPER = f"""
[tamper]
config_check_every = {CHECK_EVERY}
check_every = 0.2
"""


def test_an_edit_left_unreloaded_is_reported_a_reloaded_one_is_not(
    tmp_path: Path, broker: Broker
) -> None:
    config = tmp_path / "gate.toml"
    config.write_text(gate_toml(tmp_path, broker, 3.0, "tamper-a") + TAMPER)
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    base = f"muontra/v1/{SITE}/{DEVICE}"
    watcher = Watcher(broker, [f"{base}/events/security", f"{base}/results/+", f"{base}/state"])

    def security() -> list[payloads.Event]:
        with watcher._cond:
            return [payloads.decode_event(p) for t, p, _ in watcher.messages if "/events/" in t]

    def results() -> int:
        with watcher._cond:
            return sum(1 for t, _, _ in watcher.messages if "/results/" in t)

    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "GATE_MQTT_PASSWORD": USERS[DEVICE]}
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "gate", "--config", str(config), "--no-ils"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert notify.recv(256) == b"READY=1"
        watcher.wait(
            lambda: any(state == "online" for state, _ in watcher.states()),
            "the gate online at the broker",
        )
        # Staff edit the file and reload it at once: the daemon restarts on it.
        config.write_text(gate_toml(tmp_path, broker, 4.0, "tamper-b") + TAMPER)
        _, wire = reload_command()
        watcher.client.publish(f"{base}/commands/reload", wire, qos=1)
        watcher.wait(lambda: results() >= 1, "the reload's result")
        messages = [notify.recv(256).decode()]
        while messages[-1] != "READY=1":
            messages.append(notify.recv(256).decode())
        # Someone edits it and leaves it: reported within two checks.
        edited_at = time.monotonic()
        config.write_text(gate_toml(tmp_path, broker, 4.0, "tamper-c") + TAMPER)
        watcher.wait(lambda: len(security()) >= 1, "config_changed", timeout=20)
        assert time.monotonic() - edited_at >= CHECK_EVERY  # the reload's chance first
        (event,) = security()
        assert event.data["threat"] == "config_changed"
        assert event.data["detail"] == "changed" and event.data["severity"] == "warning"
        assert "tamper-c" not in str(event.data)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        notify.close()
        watcher.close()
