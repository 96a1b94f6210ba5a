"""Kiosk and gate through a real mosquitto: a failed kiosk security write reaches the gate.

The kiosk engine's events go through its outbox and MQTT link; the gate's link
listens to the site's kiosk events. When the kiosk lends an item whose tag
would not take the 'on loan' AFI, the gate later alarms on it as "kiosk
security write failed — item is on loan", not as theft.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.sim.field import uid_for
from drivers.sim.reader import item_tag
from engine.mqtt.link import LinkState, MqttLink, bridge
from engine.mqtt.outbox import Outbox
from gates.mqtt_commands import kiosk_event_for_gate
from tests.engine.harness import Kiosk, ils_simulator, write_config
from tests.integration.test_gate import Harness, make_gate, wait_until
from tests.integration.test_mqtt_link import SITE, USERS, Broker, Watcher, broker, settings

__all__ = ["broker", "make_gate"]  # fixtures used here


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        k = Kiosk(write_config(tmp_path, sim.port))
        yield k
        k.close()


def test_gate_marks_a_kiosk_write_failure_not_theft(
    broker: Broker, kiosk: Kiosk, make_gate: Callable[..., Harness], tmp_path: Path
) -> None:
    gate = make_gate()
    gate_link = MqttLink(
        settings(broker, device="gate-01", username="watcher", password=USERS["watcher"]),
        Outbox.open(tmp_path / "gate-outbox.sqlite"),
        on_site_event=lambda kind, event: gate.controller.kiosk_event(
            kiosk_event_for_gate(kind, event)
        ),
        site_event_kinds=("checkout", "checkin", "error"),
    )
    gate_outbox = gate_link.outbox
    gate_copier = bridge(gate.bus, gate_outbox, "gate-01", SITE)
    staff = Watcher(broker, [f"muontra/v1/{SITE}/+/events/alarm"])
    kiosk_outbox = Outbox.open(tmp_path / "kiosk-outbox.sqlite")
    kiosk_link = MqttLink(settings(broker), kiosk_outbox)
    copier = bridge(kiosk.engine.bus, kiosk_outbox, "kiosk-01", SITE)
    gate_link.start()
    kiosk_link.start()
    try:
        assert gate_link.wait_state(LinkState.ONLINE) and kiosk_link.wait_state(LinkState.ONLINE)
        kiosk.call("identify", method="typed", value="P0001")
        kiosk.call("pin", pin="1234")
        kiosk.call("sim_fault", name="silent_write_fail", uid=uid_for("B0002").hex(), value=10)
        kiosk.call("sim_place", item_id="B0002")
        kiosk.event("item", outcome="security_failed", item_id="B0002")
        decider = gate.controller.decider
        wait_until(lambda: "B0002" in decider._write_failed, "the gate hearing of the failure")
        gate.field.place(item_tag("B0002", "VN-HN0001", afi=0x07))
        alarm = gate.alarm_for("B0002")
        assert alarm["reason"] == "kiosk_write_failed"
        assert "item is on loan" in alarm["en"]
        # …and staff watching the site over MQTT get the same alarm, with its reason.
        staff.wait(lambda: bool(staff.ids("/events/alarm")), "the alarm at the staff's screen")
        topic, payload, _ = staff.messages[0]
        assert topic == f"muontra/v1/{SITE}/gate-01/events/alarm"
        data = json.loads(payload)
        assert (data["item_id"], data["reason"]) == ("B0002", "kiosk_write_failed")
        assert "P0001" not in payload.decode()
    finally:
        staff.close()
        gate_copier.stop()
        copier.stop()
        kiosk_link.stop()
        gate_link.stop()
