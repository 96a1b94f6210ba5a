"""Home Assistant discovery through a real mosquitto with the shipped ACL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from central.homeassistant import HomeAssistantLink, counters_topic, discovery, node_id
from central.settings_ops import HomeAssistantSection
from engine.mqtt.link import LinkState, MqttLink
from engine.mqtt.outbox import Outbox
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt.topics import TopicError
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_link import SITE, Broker, settings

ACL = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "muontra.acl"
PASSWORDS = {
    "muontra_central": "central-secret",
    "homeassistant": "ha-secret",
    "gate-a": "gate-a-secret",
}
HA = HomeAssistantSection(enabled=True)


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


class Login:
    """A paho client for one login; collects messages of its filters."""

    def __init__(
        self,
        broker: Broker,
        user: str,
        filters: list[str],
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()
        self._filters = filters
        self._hook = on_connect
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{user}")
        self.client.tls_set(ca_certs=str(broker.tls.cert))
        self.client.username_pw_set(user, PASSWORDS[user])
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self._subscribed = 0
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self.wait(lambda: self._subscribed >= 1, f"{user}'s subscription")

    def _on_connect(self, *_: Any) -> None:
        if self._hook is not None:
            self._hook()
        if self._filters:
            self.client.subscribe([(f, 1) for f in self._filters])

    def _on_subscribe(self, *_: Any) -> None:
        with self._cond:
            self._subscribed += 1
            self._cond.notify_all()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload)))
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out waiting for {what}")

    def topics(self) -> list[str]:
        with self._cond:
            return [t for t, _ in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        stop_loop(self.client)


def test_discovery_payload_for_a_gate() -> None:
    messages = dict(discovery(HA, "muontra", SITE, "gate-a", "gate"))
    node = f"muontra_{SITE}_gate-a"
    alarm = json.loads(messages[f"homeassistant/binary_sensor/{node}/alarm/config"])
    assert alarm["state_topic"] == f"muontra/v1/{SITE}/gate-a/events/alarm"
    assert alarm["off_delay"] == 30 and alarm["device_class"] == "safety"
    assert alarm["availability"][0]["topic"] == f"muontra/v1/{SITE}/gate-a/state"
    assert alarm["device"]["identifiers"] == [node] and alarm["unique_id"] == f"{node}_alarm"
    people = json.loads(messages[f"homeassistant/sensor/{node}/people_in/config"])
    assert people["state_topic"] == f"muontra/central/{SITE}/gate-a/counters"
    assert sorted(t.split("/")[3] for t in messages) == sorted(
        ["health", "outbox", "uptime", "security", "alarm", "people_in", "people_out", "alarms"]
    )
    # An unknown role gets only what every device has.
    assert len(discovery(HA, "muontra", SITE, "x", None)) == 4


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_node_ids_are_safe_and_distinct(site: str, device: str) -> None:
    try:
        messages = discovery(HA, "muontra", site, device)
    except TopicError:
        return  # not a clean topic level: no device can have it
    node = node_id(HA, site, device)
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in node)
    assert all(topic.split("/")[2] == node for topic, _ in messages)
    if node_id(HA, site + "x", device) == node:
        pytest.fail("two devices got one node id")


def test_announced_then_again_when_home_assistant_restarts(broker: Broker) -> None:
    central_client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central")
    link = HomeAssistantLink(central_client, HA, "muontra")
    central = _central(broker, central_client, link)
    ha = Login(broker, "homeassistant", ["homeassistant/+/+/+/config", "muontra/central/#"])
    try:
        assert link.seen(SITE, "gate-a", "gate")
        assert not link.seen(SITE, "gate-a", None)  # known: nothing sent again
        ha.wait(lambda: len(ha.messages) == 8, "the gate's eight entities")
        link.counters(SITE, "gate-a", {"people_in": 4, "people_out": 3, "evil": 9, "alarms": True})
        ha.wait(lambda: len(ha.messages) == 9, "the counters")
        assert ha.messages[-1] == (
            counters_topic("muontra", SITE, "gate-a"),
            b'{"people_in":4,"people_out":3}',
        )
        ha.client.publish("homeassistant/status", b"online", qos=1).wait_for_publish(5)
        ha.wait(lambda: len(ha.messages) == 17, "the announcement again")
        assert set(ha.topics()[9:]) == set(ha.topics()[:8])
    finally:
        ha.close()
        central.close()


def test_home_assistant_reads_the_gate_and_a_gate_cannot_announce(broker: Broker) -> None:
    ha = Login(
        broker, "homeassistant", ["muontra/v1/+/+/state", "homeassistant/#", "muontra/central/#"]
    )
    with Outbox.open(None) as outbox:
        gate = MqttLink(
            settings(broker, device="gate-a", username="gate-a", password=PASSWORDS["gate-a"]),
            outbox,
        )
        gate.start()
        try:
            assert gate.wait_state(LinkState.ONLINE)
            ha.wait(lambda: f"muontra/v1/{SITE}/gate-a/state" in ha.topics(), "the gate's birth")
            # With the gate's password one cannot pose as central to Home Assistant:
            # these are dropped by the broker, and the birth below proves they came first.
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rogue")
            client.tls_set(ca_certs=str(broker.tls.cert))
            client.username_pw_set("gate-a", PASSWORDS["gate-a"])
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            try:
                for topic, payload in discovery(HA, "muontra", SITE, "gate-a", "gate"):
                    client.publish(topic, payload, qos=1).wait_for_publish(5)
                client.publish(
                    counters_topic("muontra", SITE, "gate-a"), b'{"alarms":0}', qos=1
                ).wait_for_publish(5)
                client.publish(f"muontra/v1/{SITE}/gate-a/state", b"probe", qos=1).wait_for_publish(
                    5
                )
                ha.wait(lambda: ha.messages[-1][1] == b"probe", "the probe")
            finally:
                client.disconnect()
                stop_loop(client)
            assert not [t for t in ha.topics() if not t.endswith("/state")]
        finally:
            gate.stop()
            ha.close()


def _central(broker: Broker, client: mqtt.Client, link: HomeAssistantLink) -> Login:
    """Log central in with ``client`` (the link's), subscribed to HA's status."""
    done = threading.Event()
    client.tls_set(ca_certs=str(broker.tls.cert))
    client.username_pw_set("muontra_central", PASSWORDS["muontra_central"])
    client.on_connect = lambda *_: link.subscribe()
    client.on_subscribe = lambda *_: done.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert done.wait(10), "central never subscribed"

    class Closer(Login):
        def __init__(self) -> None:
            self.client = client

    return Closer()
