"""central's client acknowledges by hand (after the store commits); the staff side's own
subscriptions must be acknowledged too, or the broker would hold them in flight and hand them
back at every reconnection (and stop sending once the receive window is full)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from central.db import make_engine, migrate
from central.service import CentralService
from central.settings import CentralSettings
from engine.mqtt.paho_loop import stop_loop
from tests.central.conftest import USERS, CentralBroker
from tests.central.test_ingest import mqtt_settings


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(made)
    try:
        yield made
    finally:
        made.dispose()


class Central:
    """A CentralService with Home Assistant on; the status messages its handler saw, in order."""

    def __init__(self, broker: CentralBroker, engine: Engine) -> None:
        settings = CentralSettings(
            mqtt=mqtt_settings(broker, "central-acks"),
            homeassistant={"enabled": True},  # type: ignore[arg-type]
        )
        self.service = CentralService(settings, engine)
        self.heard: list[str] = []
        self.cond = threading.Condition()
        link = self.service.staff.homeassistant
        assert link is not None

        def announce_all() -> int:  # what Home Assistant's "online" sets off
            with self.cond:
                self.heard.append("online")
                self.cond.notify_all()
            return 0

        link.announce_all = announce_all  # type: ignore[method-assign]
        self.service.start()
        # The ingest's, the commands' and Home Assistant's subscriptions.
        assert self.service.ingest.wait_subscribed(20, connections=3)

    def wait_heard(self, count: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.heard) >= count, 20), self.heard


def publish_status(broker: CentralBroker, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ha-test")
    client.tls_set(ca_certs=str(broker.tls.cert))
    client.username_pw_set("device", USERS["device"])
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        info = client.publish("homeassistant/status", payload, qos=1)
        info.wait_for_publish(20)
        assert info.is_published()
    finally:
        client.disconnect()
        stop_loop(client)


def test_a_handled_status_is_not_handed_back_after_a_reconnection(
    central_broker: CentralBroker, engine: Engine
) -> None:
    central = Central(central_broker, engine)
    try:
        publish_status(central_broker, b"online")
        central.wait_heard(1)
    finally:
        central.service.stop()
    # The same session, resumed by a plain client: a message central left unacknowledged
    # is handed back at once, before the marker published after the connection.
    got: list[bytes] = []
    cond = threading.Condition()
    connected = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with cond:
            got.append(bytes(message.payload))
            cond.notify_all()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="central-acks", protocol=mqtt.MQTTv5
    )
    client.tls_set(ca_certs=str(central_broker.tls.cert))
    client.username_pw_set("central", USERS["central"])
    client.on_message = on_message
    client.on_connect = lambda *_: connected.set()
    client.connect("127.0.0.1", central_broker.port, clean_start=False)
    client.loop_start()
    try:
        assert connected.wait(20)
        publish_status(central_broker, b"marker")
        with cond:
            assert cond.wait_for(lambda: b"marker" in got, 20), got
            assert got == [b"marker"]
    finally:
        client.disconnect()
        stop_loop(client)
