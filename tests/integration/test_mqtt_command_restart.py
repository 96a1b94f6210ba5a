"""A command id is taken once, across a real restart of the daemon on the same data_dir.

`muontra gate` runs against a real mosquitto; central's ``message`` command is
shown, the daemon stops (SIGTERM) and starts again on the same data_dir, and
the very same command bytes are published again (what a retained command, a
broker re-sending, or anyone replaying a captured message does): the device
answers "duplicate" and does not run it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kiosk.api import ApiClient
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope
from tests.integration.test_daemon_reload import DEVICE, gate_toml
from tests.integration.test_mqtt_link import SITE, USERS, Broker, Watcher, broker

__all__ = ["broker"]  # a fixture used here


def _start(config: Path, notify: socket.socket) -> subprocess.Popen[bytes]:
    """Start the gate and wait for its READY=1 to systemd (a socket standing in for it)."""
    env = {
        **os.environ,
        "GATE_MQTT_PASSWORD": USERS[DEVICE],
        "NOTIFY_SOCKET": notify.getsockname(),
    }
    log = (config.parent / "gate.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "gate", "--config", str(config), "--no-ils"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    while notify.recv(256) != b"READY=1":
        pass
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_a_command_runs_once_across_a_restart(tmp_path: Path, broker: Broker) -> None:
    config = tmp_path / "gate.toml"
    config.write_text(gate_toml(tmp_path, broker, 3.0, "antenna-r"))
    watcher = Watcher(
        broker, [f"muontra/v1/{SITE}/{DEVICE}/results/+", f"muontra/v1/{SITE}/{DEVICE}/state"]
    )

    def results() -> list[payloads.Result]:
        with watcher._cond:
            return [payloads.decode_result(p) for t, p, _ in watcher.messages if "/results/" in t]

    def online() -> int:
        return sum(1 for state, _ in watcher.states() if state == "online")

    def shown() -> list[str]:
        client = ApiClient(tmp_path / "run" / "gate.sock", timeout=10)
        try:
            events = client.result("history")["events"]
        finally:
            client.close()
        return [e["text"] for e in events if e["event"] == "staff_message"]

    command = Command(
        Envelope(payloads.new_id(), payloads.iso_time(time.time()), DEVICE, SITE),
        "message",
        {"text": "Đóng cổng lúc 17:00 / gate closes at 17:00"},
    )
    wire = payloads.encode(command)
    topic = f"muontra/v1/{SITE}/{DEVICE}/commands/message"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    process = _start(config, notify)
    try:
        watcher.wait(lambda: online() >= 1, "the gate online")
        watcher.client.publish(topic, wire, qos=1)
        watcher.wait(lambda: len(results()) >= 1, "the first answer")
        assert (results()[0].ok, results()[0].detail) == (True, "shown")
        assert shown() == ["Đóng cổng lúc 17:00 / gate closes at 17:00"]
        _stop(process)

        process = _start(config, notify)  # the same data_dir
        watcher.wait(lambda: online() >= 2, "the restarted gate online")
        watcher.client.publish(topic, wire, qos=1)  # the same command id, byte for byte
        watcher.wait(lambda: len(results()) >= 2, "the answer to the repeat")
        again = results()[1]
        assert again.command_id == command.envelope.id
        assert again.detail is not None and again.detail.startswith("duplicate")
        assert shown() == []  # not run in the restarted daemon
        _stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        notify.close()
        watcher.close()
