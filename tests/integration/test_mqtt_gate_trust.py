"""The gate's grace window opens only for its own site's listed kiosks, through a real broker.

The gate is wired as `muontra gate` wires it (:func:`engine.mqtt.service.start_mqtt`
with its site-event handler). With the grace window on, a checkout event
forged under an invented device, or under a listed kiosk's topic with a payload
claiming another sender, must not keep the gate quiet about a book never lent;
the same event from a listed kiosk of the site does.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.sim.field import TagField
from drivers.sim.reader import item_tag
from engine.config.model import parse_config
from engine.events import EventBus
from engine.mqtt.link import LinkState
from engine.mqtt.service import start_mqtt
from gates.controller import GateController
from gates.mqtt_commands import gate_commands, kiosk_event_for_gate
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Envelope, Event
from tests.integration.test_gate import Harness
from tests.integration.test_mqtt_link import SITE, USERS, Broker, Watcher, broker

__all__ = ["broker"]  # a fixture used here

GATE_TOML = """
[device]
id = "gate-01"
site = "VN-HN0001"
role = "gate"
data_dir = "{data}"

[ils]
url = "sip2+sim://"

[gate]
readers = ["sim://{antenna}?timing=0"]
alarm_outputs = []
grace_minutes = 5
trusted_devices = ["kiosk-01"]

[mqtt]
host = "127.0.0.1"
port = {port}
ca_file = "{ca}"
username = "watcher"
password_env = "T_GATE_MQTT_PASSWORD"
"""


@pytest.fixture
def gate(broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("T_GATE_MQTT_PASSWORD", USERS["watcher"])
    antenna = f"gate-{uuid.uuid4().hex[:8]}"
    config = parse_config(
        GATE_TOML.format(
            data=tmp_path / "gate", antenna=antenna, port=broker.port, ca=broker.tls.cert
        )
    )
    bus = EventBus()
    controller = GateController(config, bus)
    controller.start()
    # As gates/cli.py wires it.
    mqtt = start_mqtt(
        config,
        bus,
        gate_commands(bus),
        on_site_event=lambda kind, event: controller.kiosk_event(kiosk_event_for_gate(kind, event)),
        site_event_kinds=("checkout", "checkin", "error"),
    )
    assert mqtt is not None
    try:
        assert mqtt.link.wait_state(LinkState.ONLINE)
        yield Harness(controller, bus, [TagField.named(antenna)])
    finally:
        mqtt.stop()
        controller.stop()
        TagField.forget(antenna)


def checkout(item_id: str, device: str, site: str = SITE) -> bytes:
    event = Event(
        Envelope(payloads.new_id(), payloads.iso_time(time.time()), device, site),
        "checkout",
        {
            "item_id": item_id,
            "kind": "checkout",
            "outcome": "checked_out",
            "patron_ref": "p-0123456789abcdef",
        },
    )
    return payloads.encode(event)


def test_forged_checkouts_do_not_silence_the_gate(
    broker: Broker, gate: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    forger = Watcher(broker, [f"muontra/v1/{SITE}/gate-01/state"])
    caplog.set_level(logging.INFO)
    base = f"muontra/v1/{SITE}"
    try:
        # An invented device of the site; a listed kiosk's topic with a payload naming another
        # device; a listed kiosk's id in the payload under an invented device's topic.
        for topic, wire in [
            (f"{base}/kiosk-99/events/checkout", checkout("G0001", "kiosk-99")),
            (f"{base}/kiosk-01/events/checkout", checkout("G0002", "kiosk-98")),
            (f"{base}/kiosk-97/events/checkout", checkout("G0003", "kiosk-01")),
            (f"{base}/kiosk-01/events/checkout", checkout("G0004", "kiosk-01", "VN-HCM0002")),
        ]:
            forger.client.publish(topic, wire, qos=1).wait_for_publish(5)
        # Then the real kiosk's own checkout (QoS 1 from one client keeps the order: once the
        # gate has this one, it has heard the forged ones before it).
        forger.client.publish(f"{base}/kiosk-01/events/checkout", checkout("L0001", "kiosk-01"))
        deadline = time.monotonic() + 10
        while "L0001" not in gate.controller.decider._checked_out:
            assert time.monotonic() < deadline, "the gate never heard the listed kiosk"
            time.sleep(0.01)
        # Every tag still secured: the lent one keeps quiet, the others alarm.
        gate.field.place(item_tag("L0001"))
        time.sleep(0.05)
        for item in ("G0001", "G0002", "G0003", "G0004"):
            gate.field.place(item_tag(item))
        for item in ("G0001", "G0002", "G0003", "G0004"):
            assert gate.alarm_for(item)["reason"] == "secured"
        assert gate.alarms("L0001") == []
    finally:
        forger.close()
    ignored = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    dropped = [r.getMessage() for r in caplog.records if "claiming to come from" in r.getMessage()]
    assert any("VN-HN0001/kiosk-99" in line for line in ignored)
    assert len(dropped) == 3  # the payloads that named another sender than their topic
    assert all("p-0123456789abcdef" not in r.getMessage() for r in caplog.records)
