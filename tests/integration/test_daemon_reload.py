"""`muontra gate` reloads on a command from central monitoring: through a real mosquitto,
a broken file is refused and the daemon goes on; a valid one restarts it in place (same
process id, READY again to systemd) on the new settings — and the command runs once."""

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
from tests.integration.test_gate import GATE_TOML
from tests.integration.test_mqtt_link import SITE, USERS, Broker, Watcher, broker

__all__ = ["broker"]  # a fixture used here

DEVICE = "kiosk-01"  # the broker's test user; the gate logs in as it

MQTT = """
[mqtt]
host = "127.0.0.1"
port = {port}
ca_file = "{ca}"
username = "{device}"
password_env = "GATE_MQTT_PASSWORD"
"""


def gate_toml(tmp_path: Path, broker: Broker, alarm_seconds: float, antenna: str) -> str:
    text = GATE_TOML.format(data=tmp_path / "data", socket=tmp_path / "run" / "gate.sock")
    text = text.replace('id = "gate-cli"', f'id = "{DEVICE}"')
    text = text.replace("sim://gate-cli?", f"sim://{antenna}?")
    text = text.replace("[gate]\n", f"[gate]\nalarm_seconds = {alarm_seconds}\n")
    return text + MQTT.format(port=broker.port, ca=broker.tls.cert, device=DEVICE)


def reload_command() -> tuple[Command, bytes]:
    command = Command(
        Envelope(payloads.new_id(), payloads.iso_time(time.time()), DEVICE, SITE), "reload"
    )
    return command, payloads.encode(command)


def test_reload_refuses_a_broken_file_then_restarts_in_place(
    tmp_path: Path, broker: Broker
) -> None:
    config = tmp_path / "gate.toml"
    config.write_text(gate_toml(tmp_path, broker, 3.0, "antenna-a"))
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    watcher = Watcher(
        broker, [f"muontra/v1/{SITE}/{DEVICE}/results/+", f"muontra/v1/{SITE}/{DEVICE}/state"]
    )

    def results() -> list[payloads.Result]:
        with watcher._cond:
            return [payloads.decode_result(p) for t, p, _ in watcher.messages if "/results/" in t]

    def online() -> int:
        return sum(1 for state, _ in watcher.states() if state == "online")

    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(notify_path),
        "GATE_MQTT_PASSWORD": USERS[DEVICE],
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "gate", "--config", str(config), "--no-ils"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    topic = f"muontra/v1/{SITE}/{DEVICE}/commands/reload"
    try:
        assert notify.recv(256) == b"READY=1"
        pid = process.pid
        watcher.wait(lambda: online() >= 1, "the gate online at the broker")

        # A file with a mistake: refused with the key named, and the gate goes on.
        config.write_text(gate_toml(tmp_path, broker, -1, "antenna-b"))
        refused, wire = reload_command()
        watcher.client.publish(topic, wire, qos=1)
        watcher.wait(lambda: len(results()) >= 1, "the refused reload's result")
        result = results()[0]
        assert (result.command_id, result.ok) == (refused.envelope.id, False)
        assert "alarm_seconds" in (result.detail or "")
        assert process.poll() is None

        # A valid file: the gate answers, stops, and starts again in the same process.
        config.write_text(gate_toml(tmp_path, broker, 3.0, "antenna-b"))
        accepted, wire = reload_command()
        watcher.client.publish(topic, wire, qos=1)
        watcher.wait(lambda: len(results()) >= 2, "the accepted reload's result")
        result = results()[1]
        assert (result.command_id, result.ok) == (accepted.envelope.id, True)
        messages = [notify.recv(256).decode()]
        while messages[-1] != "READY=1":
            messages.append(notify.recv(256).decode())
        assert "STOPPING=1" in messages
        assert process.pid == pid and process.poll() is None
        client = ApiClient(tmp_path / "run" / "gate.sock", timeout=10)
        try:
            readers = client.result("status")["readers"]
            assert [url.split("?")[0] for url in readers] == ["sim://antenna-b"]
        finally:
            client.close()
        # Restarted, the gate must not take the same reload again (a loop of restarts). A
        # redelivered command would come before anything newer (QoS 1 keeps the order), so
        # once the answer to a newer command is in, the reload has had its one chance.
        watcher.wait(lambda: online() >= 2, "the restarted gate online again")
        message = Command(
            Envelope(payloads.new_id(), payloads.iso_time(time.time()), DEVICE, SITE),
            "message",
            {"text": "Kiểm tra cổng / gate check"},
        )
        watcher.client.publish(
            f"muontra/v1/{SITE}/{DEVICE}/commands/message", payloads.encode(message), qos=1
        )
        watcher.wait(lambda: len(results()) >= 3, "the message's result")
        assert [r.command for r in results()] == ["reload", "reload", "message"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        notify.close()
        watcher.close()
