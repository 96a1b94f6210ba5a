"""Issue 12's reproduction on a kiosk: `muontra kiosk` restarted, the same lock again.

Through a real mosquitto, central's ``lock`` puts the kiosk out of service;
the daemon is stopped and started on the same data_dir (it comes back in
service: the lock is not kept across a restart) and the very same command is
delivered again. It is answered as a duplicate, and the kiosk stays in service.
"""

from __future__ import annotations

import time
from pathlib import Path

from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope
from tests.engine.harness import KioskProcess, ils_simulator, write_config
from tests.integration.test_mqtt_link import SITE, USERS, Broker, Watcher, broker

__all__ = ["broker"]  # a fixture used here

DEVICE = "kiosk-01"

MQTT = """
[mqtt]
host = "127.0.0.1"
port = {port}
ca_file = "{ca}"
username = "{device}"
password_env = "T_KIOSK_MQTT_PASSWORD"
"""


def test_a_lock_runs_once_across_a_kiosk_restart(tmp_path: Path, broker: Broker) -> None:
    key = tmp_path / "site-key"
    key.write_text("3b" * 32 + "\n")
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        path = write_config(tmp_path, sim.port)
        text = path.read_text().replace('id = "kiosk-test"', f'id = "{DEVICE}"')
        text = text.replace('site = "MUONTRA"\n', f'site = "{SITE}"\nsite_key_file = "{key}"\n')
        path.write_text(text + MQTT.format(port=broker.port, ca=broker.tls.cert, device=DEVICE))
        env = {"T_KIOSK_MQTT_PASSWORD": USERS[DEVICE]}
        watcher = Watcher(
            broker, [f"muontra/v1/{SITE}/{DEVICE}/results/+", f"muontra/v1/{SITE}/{DEVICE}/state"]
        )

        def results() -> list[payloads.Result]:
            with watcher._cond:
                return [
                    payloads.decode_result(p) for t, p, _ in watcher.messages if "/results/" in t
                ]

        def online() -> int:
            return sum(1 for state, _ in watcher.states() if state == "online")

        lock = Command(
            Envelope(payloads.new_id(), payloads.iso_time(time.time()), DEVICE, SITE), "lock"
        )
        topic = f"muontra/v1/{SITE}/{DEVICE}/commands/lock"
        kiosk = KioskProcess(path, tmp_path / "kiosk.sock", env)
        try:
            watcher.wait(lambda: online() >= 1, "the kiosk online")
            watcher.client.publish(topic, payloads.encode(lock), qos=1)
            watcher.wait(lambda: len(results()) >= 1, "the lock's answer")
            assert (results()[0].ok, results()[0].detail) == (True, "out of service")
            assert kiosk.client.result("status")["out_of_service"] is True
            kiosk.stop()

            kiosk = KioskProcess(path, tmp_path / "kiosk.sock", env)
            assert kiosk.client.result("status")["out_of_service"] is False
            watcher.wait(lambda: online() >= 2, "the restarted kiosk online")
            watcher.client.publish(topic, payloads.encode(lock), qos=1)  # the same bytes
            watcher.wait(lambda: len(results()) >= 2, "the repeat's answer")
            again = results()[1]
            assert again.command_id == lock.envelope.id
            assert again.detail is not None and again.detail.startswith("duplicate")
            assert kiosk.client.result("status")["out_of_service"] is False
        finally:
            kiosk.stop()
            watcher.close()
