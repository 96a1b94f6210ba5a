"""The ACL shipped in config/mosquitto/muontra.acl, enforced by a real mosquitto.

The broker runs with exactly that file and one login per device: a gate's
credentials cannot command a kiosk, a device reads no other device's commands
and publishes under no other device's topics, a device cannot command even
itself, staff read events but command nothing, and central monitoring's
account commands. mosquitto drops a refused PUBLISH (MQTT 3.1.1 has no way to
say no) after acknowledging it, so every "never arrives" below is proven by a
later message that does arrive on the same path: the broker handles one
client's messages in order and a refused one would have come first.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from engine.mqtt.link import CommandOutcome, LinkState, MqttLink
from engine.mqtt.outbox import Outbox
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope, Event
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_link import SITE, Broker, settings

ACL = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "muontra.acl"
PASSWORDS = {
    "muontra_central": "central-secret",
    "muontra_staff": "staff-secret",
    "kiosk-01": "kiosk-01-secret",
    "kiosk-02": "kiosk-02-secret",
    "gate-01": "gate-01-secret",
}
BASE = f"muontra/v1/{SITE}"


@pytest.fixture
def broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    folder = tmp_path / "broker"
    folder.mkdir()
    running = Broker(folder, tls_files, acl=ACL, users=PASSWORDS)
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Client:
    """One login at the broker, collecting what it receives."""

    def __init__(self, broker: Broker, user: str, filters: list[str]) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.granted: list[int] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{user}")
        self.client.tls_set(ca_certs=str(broker.tls.cert))
        self.client.username_pw_set(user, PASSWORDS[user])
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        if filters:
            self.client.subscribe([(f, 1) for f in filters])
            self.wait(lambda: len(self.granted) == len(filters), "the subscriptions")

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        with self._cond:
            self.granted += [int(getattr(code, "value", code)) for code in codes]
            self._cond.notify_all()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload)))
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
        if not self.poll(predicate, timeout):
            raise AssertionError(f"timed out waiting for {what}")

    def poll(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Whether ``predicate`` came true within ``timeout`` s (for a wait that may try again)."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def topics(self) -> list[str]:
        with self._cond:
            return [topic for topic, _ in self.messages]

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1, acknowledged by the broker (which then has routed it, or dropped it)."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        stop_loop(self.client)


def command(device: str, name: str = "lock") -> bytes:
    envelope = Envelope(payloads.new_id(), payloads.iso_time(time.time()), device, SITE)
    return payloads.encode(Command(envelope, name))


def checkout(device: str, item_id: str) -> bytes:
    envelope = Envelope(payloads.new_id(), payloads.iso_time(time.time()), device, SITE)
    data = {"item_id": item_id, "kind": "checkout", "outcome": "checked_out"}
    return payloads.encode(Event(envelope, "checkout", data))


@pytest.fixture
def kiosk(broker: Broker) -> Iterator[tuple[MqttLink, list[str]]]:
    """kiosk-01's real link, logged in as itself, recording the commands it runs."""
    ran: list[str] = []

    def handle(cmd: Command) -> CommandOutcome:
        ran.append(json.dumps([cmd.name, cmd.envelope.id]))
        return CommandOutcome(True, "done")

    with Outbox.open(None) as outbox:
        link = MqttLink(
            settings(broker, username="kiosk-01", password=PASSWORDS["kiosk-01"]),
            outbox,
            on_command=handle,
        )
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        try:
            yield link, ran
        finally:
            link.stop()


def _has(client: Client, topic: str) -> Callable[[], bool]:
    return lambda: topic in client.topics()


def _ran(ran: list[str]) -> list[str]:
    return [json.loads(entry)[0] for entry in ran]


def test_a_gate_cannot_command_a_kiosk_but_central_can(
    broker: Broker, kiosk: tuple[MqttLink, list[str]]
) -> None:
    link, ran = kiosk
    gate = Client(broker, "gate-01", [])
    staff = Client(broker, "muontra_staff", [])
    central = Client(broker, "muontra_central", [f"{BASE}/kiosk-01/results/+"])
    kiosk_itself = Client(broker, "kiosk-01", [])
    try:
        # The link subscribes right after connecting: wait until central's command gets
        # through, so that what is refused below is refused by the ACL, not by timing.
        # Each try waits a second for an answer, then sends again (the first may have come
        # before the subscription); a slow answer is not a failure, only no answer in 30 s.
        deadline = time.monotonic() + 30
        while not ran:
            assert time.monotonic() < deadline, "central's command never reached the kiosk"
            central.publish(f"{BASE}/kiosk-01/commands/message", command("kiosk-01", "message"))
            central.poll(lambda: bool(central.messages) or bool(ran), timeout=1)
        first = len(ran)
        gate.publish(f"{BASE}/kiosk-01/commands/lock", command("kiosk-01", "lock"))
        staff.publish(f"{BASE}/kiosk-01/commands/lock", command("kiosk-01", "lock"))
        # Not even the kiosk's own login may write commands (a stolen kiosk password
        # cannot unlock the kiosk it came from, or give itself orders).
        kiosk_itself.publish(f"{BASE}/kiosk-01/commands/unlock", command("kiosk-01", "unlock"))
        central.publish(f"{BASE}/kiosk-01/commands/reload", command("kiosk-01", "reload"))
        deadline = time.monotonic() + 10
        while len(ran) < first + 1:
            assert time.monotonic() < deadline, "central's reload never reached the kiosk"
            time.sleep(0.01)
        # The gate's and staff's locks never arrived (a late copy of the "message" tries
        # above may still come in between, and says nothing about the ACL).
        assert [name for name in _ran(ran)[first:] if name != "message"] == ["reload"]
        central.wait(lambda: len(central.topics()) >= first + 1, "the results")
        assert link.state is LinkState.ONLINE
    finally:
        for client in (gate, staff, central, kiosk_itself):
            client.close()


def test_a_device_reads_no_other_devices_commands(broker: Broker) -> None:
    central = Client(broker, "muontra_central", [])
    spy = Client(
        broker,
        "kiosk-02",
        [f"{BASE}/kiosk-01/commands/+", "muontra/v1/#", f"{BASE}/kiosk-02/commands/+"],
    )
    try:
        central.publish(f"{BASE}/kiosk-01/commands/lock", command("kiosk-01"))
        central.publish(f"{BASE}/kiosk-02/commands/lock", command("kiosk-02"))
        # kiosk-01's command went first: had the broker passed it on, it would be here first.
        spy.wait(lambda: bool(spy.topics()), "kiosk-02's own command")
        assert set(spy.topics()) == {f"{BASE}/kiosk-02/commands/lock"}
    finally:
        central.close()
        spy.close()


def test_a_device_publishes_only_under_its_own_topics(broker: Broker) -> None:
    central = Client(broker, "muontra_central", ["muontra/v1/#"])
    gate = Client(broker, "gate-01", [f"{BASE}/+/events/checkout"])
    staff = Client(broker, "muontra_staff", [f"{BASE}/+/events/#", f"{BASE}/+/state"])
    forger = Client(broker, "kiosk-02", [])
    try:
        # kiosk-02 poses as kiosk-01: a checkout (which would open the gate's grace window),
        # an "offline" state, a result, telemetry; and an event under another site's kiosk-01.
        forged = [
            (f"{BASE}/kiosk-01/events/checkout", checkout("kiosk-01", "G0001")),
            (f"{BASE}/kiosk-01/state", b"{}"),
            (f"{BASE}/kiosk-01/results/{'a' * 32}", b"{}"),
            (f"{BASE}/kiosk-01/telemetry", b"{}"),
            (f"muontra/v1/{SITE}/gate-01/events/alarm", b"{}"),
        ]
        for topic, wire in forged:
            forger.publish(topic, wire)
        own = f"{BASE}/kiosk-02/events/checkout"
        forger.publish(own, checkout("kiosk-02", "L0001"))
        for client in (central, gate, staff):
            client.wait(_has(client, own), "kiosk-02's own event")
            assert client.topics() == [own]
    finally:
        for client in (central, gate, staff, forger):
            client.close()


def test_staff_read_events_and_states_but_not_commands(broker: Broker) -> None:
    staff = Client(broker, "muontra_staff", ["muontra/v1/#"])
    central = Client(broker, "muontra_central", [])
    kiosk = Client(broker, "kiosk-01", [])
    try:
        central.publish(f"{BASE}/kiosk-01/commands/lock", command("kiosk-01"))
        kiosk.publish(f"{BASE}/kiosk-01/telemetry", b"{}")
        kiosk.publish(f"{BASE}/kiosk-01/events/checkout", checkout("kiosk-01", "L0002"))
        staff.wait(lambda: bool(staff.topics()), "the kiosk's event")
        assert staff.topics() == [f"{BASE}/kiosk-01/events/checkout"]
    finally:
        for client in (staff, central, kiosk):
            client.close()


def test_a_device_does_all_its_own_work_under_the_acl(broker: Broker) -> None:
    central = Client(broker, "muontra_central", ["muontra/v1/#"])
    try:
        with Outbox.open(None) as outbox:
            link = MqttLink(
                settings(broker, username="kiosk-01", password=PASSWORDS["kiosk-01"]), outbox
            )
            outbox.add(f"{BASE}/kiosk-01/events/checkout", checkout("kiosk-01", "L0003"))
            link.start()
            assert link.wait_state(LinkState.ONLINE)
            assert link.wait_drained()
            assert link.publish_telemetry(1.0)
            central.wait(lambda: len(central.topics()) >= 3, "birth, event and telemetry")
            link.stop()  # a clean stop says "offline" itself
            central.wait(lambda: len(central.topics()) >= 4, "the offline state")
        assert sorted(central.topics()) == sorted(
            [
                f"{BASE}/kiosk-01/state",
                f"{BASE}/kiosk-01/events/checkout",
                f"{BASE}/kiosk-01/telemetry",
                f"{BASE}/kiosk-01/state",
            ]
        )
    finally:
        central.close()
