"""The staff side wired together: a gate's alarm over a real mosquitto becomes one alert for
the site's staff, acknowledged through the API; two central processes agree on open alerts."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session

from central.accounts import Staff, create_staff
from central.alerts import AlertView
from central.api import issue_token
from central.ops import StaffSide, role_of
from central.settings_ops import AlertsSection, ApiSection, HomeAssistantSection
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Envelope, Event, Telemetry
from tests.central.ops_db import fresh_db_fixture  # noqa: F401  (a fixture)
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_link import SITE, Broker

ACL = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "muontra.acl"
PASSWORDS = {"muontra_central": "central-secret", "gate-a": "gate-a-secret"}
OTHER = "VN-HN0002"


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


@pytest.fixture
def sessions(fresh_db: Callable[[], Session]) -> Callable[[], Session]:
    made = fresh_db
    with made() as session:
        create_staff(session, "lan", "Nguyễn Thị Lan", "desk", "0123456789ab", site=SITE, now=0)
        create_staff(session, "far", "Far", "desk", "0123456789ab", site=OTHER, now=0)
        session.commit()
    return made


def alarm(device: str = "gate-a", item: str = "30077") -> Event:
    envelope = Envelope(payloads.new_id(), payloads.iso_time(time.time()), device, SITE)
    return Event(envelope, "alarm", {"item_id": item, "title": "Số đỏ", "direction": "out"})


def test_a_gate_alarm_reaches_the_sites_staff_once_and_is_acked_over_the_api(
    broker: Broker, sessions: Callable[[], Session]
) -> None:
    told: list[tuple[AlertView, list[str]]] = []
    cond = threading.Condition()

    def on_alert(alert: AlertView, staff: list[Staff]) -> None:
        with cond:
            told.append((alert, sorted(s.login for s in staff)))
            cond.notify_all()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central")
    side = StaffSide(
        sessions,
        client,
        "muontra",
        alerts=AlertsSection(),
        api=ApiSection(enabled=True, port=0),
        homeassistant=HomeAssistantSection(enabled=True),
        on_alert=on_alert,
    )
    subscribed = threading.Event()

    def on_connect(*_: Any) -> None:
        side.on_connect()
        client.subscribe("muontra/v1/+/+/events/#", qos=1)  # core's ingest, in short

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        side.observe(payloads.decode_event(bytes(message.payload)))

    client.tls_set(ca_certs=str(broker.tls.cert))
    client.username_pw_set("muontra_central", PASSWORDS["muontra_central"])
    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    gate = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gate-a")
    gate.tls_set(ca_certs=str(broker.tls.cert))
    gate.username_pw_set("gate-a", PASSWORDS["gate-a"])
    gate.connect("127.0.0.1", broker.port)
    gate.loop_start()
    side.start()
    try:
        assert subscribed.wait(10)
        topic = f"muontra/v1/{SITE}/gate-a/events/alarm"
        first = alarm()
        for message in (first, first, alarm()):  # a redelivery, then the same item again
            gate.publish(topic, payloads.encode(message), qos=1).wait_for_publish(5)
        gate.publish(topic, payloads.encode(alarm(item="30078")), qos=1).wait_for_publish(5)
        with cond:
            assert cond.wait_for(lambda: len(told) == 2, 10), told
        assert [(a.subject, who) for a, who in told] == [("30077", ["lan"]), ("30078", ["lan"])]
        assert side.homeassistant is not None and side.homeassistant.announce_all() == 1
        with sessions() as session:
            token = issue_token(session, "console", may_command=True, staff_login="lan", now=0)
            session.commit()
        assert side.api is not None
        conn = http.client.HTTPConnection("127.0.0.1", side.api.port, timeout=10)
        conn.request(
            "POST",
            f"/v1/alerts/{told[0][0].id}/ack",
            body=b"{}",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["acked_by"] == "lan"
        conn.close()
        # Acknowledged, the alarm may ring again for the same item: a new alert.
        gate.publish(topic, payloads.encode(alarm()), qos=1).wait_for_publish(5)
        with cond:
            assert cond.wait_for(lambda: len(told) == 3, 10)
    finally:
        side.stop()
        for c in (gate, client):
            c.disconnect()
            stop_loop(c)


def test_two_processes_agree_through_the_store(sessions: Callable[[], Session]) -> None:
    now = [1_800_000_000.0]

    def side() -> StaffSide:
        return StaffSide(
            sessions,
            mqtt.Client(CallbackAPIVersion.VERSION2),
            "muontra",
            alerts=AlertsSection(),
            api=ApiSection(),
            homeassistant=HomeAssistantSection(),
            clock=lambda: now[0],
            sync_every=5,
        )

    one, two = side(), side()

    def telemetry(state: str) -> Telemetry:
        envelope = Envelope(payloads.new_id(), payloads.iso_time(now[0]), "gate-a", SITE)
        return Telemetry(envelope, 10.0, {"antenna-1": state}, {}, {})

    one.observe(telemetry("unavailable"))
    assert [a.rule for a in one.alerts.list_alerts(open_only=True)] == ["reader_unavailable"]
    two.observe(telemetry("ready"))  # the second process never saw it raised...
    assert len(one.alerts.list_alerts(open_only=True)) == 1
    now[0] += 5
    two.tick()  # ...until it syncs with the store
    two.observe(telemetry("ready"))
    assert one.alerts.list_alerts(open_only=True) == []


def test_role_of() -> None:
    assert role_of(alarm()) == "gate"
    envelope = alarm().envelope
    assert role_of(Event(envelope, "checkin", {"destination": "bin-2"})) == "sorter"
    assert role_of(Event(envelope, "checkout", {})) == "kiosk"
    assert role_of(Event(envelope, "error", {})) is None


class Stream:
    """An SSE client of the API: reads events line by line; a read that times out fails."""

    def __init__(self, port: int, token: str, site: str | None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        path = "/v1/stream" + (f"?site={site}" if site else "")
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        self.response = self.conn.getresponse()
        self.status = self.response.status

    def next_event(self) -> tuple[str, dict[str, Any]]:
        kind = ""
        while True:
            line = self.response.fp.readline().decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                return kind, json.loads(line[6:])

    def wait_open(self) -> None:
        assert self.response.fp.readline() == b": muontra central\n"

    def close(self) -> None:
        self.conn.close()


def test_the_live_stream_tells_each_sites_consoles_at_once(sessions: Callable[[], Session]) -> None:
    side = StaffSide(
        sessions,
        mqtt.Client(CallbackAPIVersion.VERSION2),
        "muontra",
        alerts=AlertsSection(),
        api=ApiSection(enabled=True, port=0),
        homeassistant=HomeAssistantSection(),
    )
    with sessions() as session:
        token = issue_token(session, "console", may_command=True, staff_login="lan", now=0)
        session.commit()
    side.start()
    assert side.api is not None
    streams: list[Stream] = []
    try:
        bad = Stream(side.api.port, "mt_wrong", None)
        assert bad.status == 401
        bad.close()
        here, there, everywhere = (
            Stream(side.api.port, token, site) for site in (SITE, OTHER, None)
        )
        streams = [here, there, everywhere]
        for stream in streams:
            assert stream.status == 200
            stream.wait_open()
        side.observe(alarm())
        envelope = Envelope(payloads.new_id(), payloads.iso_time(time.time()), "gate-b", OTHER)
        side.observe(Event(envelope, "alarm", {"item_id": "40001"}))
        kind, first = here.next_event()
        assert kind == "alert" and (first["site"], first["subject"]) == (SITE, "30077")
        assert first["text_vi"].startswith("Cổng gate-a báo động")
        # The other site's console gets its own alarm first: ours never reached it.
        assert there.next_event()[1]["site"] == OTHER
        assert [everywhere.next_event()[1]["site"] for _ in range(2)] == [SITE, OTHER]
        conn = http.client.HTTPConnection("127.0.0.1", side.api.port, timeout=10)
        conn.request(
            "POST",
            f"/v1/alerts/{first['id']}/ack",
            body=b"{}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert conn.getresponse().status == 200
        conn.close()
        kind, acked = here.next_event()
        assert kind == "ack" and acked["acked_by"] == "lan"
    finally:
        for stream in streams:
            stream.close()
        side.stop()


def test_an_alert_raised_by_another_process_reaches_this_ones_stream(
    sessions: Callable[[], Session],
) -> None:
    now = [1_800_000_000.0]

    def side(api: bool) -> StaffSide:
        return StaffSide(
            sessions,
            mqtt.Client(CallbackAPIVersion.VERSION2),
            "muontra",
            alerts=AlertsSection(),
            api=ApiSection(enabled=api, port=0),
            homeassistant=HomeAssistantSection(),
            clock=lambda: now[0],
            tick_every=3600,  # ticks by hand below
        )

    with sessions() as session:
        token = issue_token(session, "console", staff_login="lan", now=0)
        session.commit()
    serving, other = side(True), side(False)
    other.observe(alarm(item="old"))  # open before the serving process starts: not news
    serving.start()
    assert serving.api is not None
    stream = Stream(serving.api.port, token, SITE)
    try:
        stream.wait_open()
        other.observe(alarm())
        for _ in range(2):  # the second sync finds nothing new: nothing is sent twice
            now[0] += 5
            serving.tick()
        serving.observe(alarm(item="30099"))  # its own, at once
        assert [stream.next_event()[1]["subject"] for _ in range(2)] == ["30077", "30099"]
    finally:
        stream.close()
        serving.stop()
