"""Security events through one `muontra central` process, on a real mosquitto (TLS, passwords)
and on SQLite and PostgreSQL: devices publish them, staff of the site are told of the critical
ones at once, the live stream carries the events, the alerts and their counts, Home Assistant
gets each device's security sensor; one card at two kiosks and one item on two tags are found
across devices; a hostile device's flood of 10,000 distinct subjects stays a handful of alerts.
Nothing central logs names a patron or a card."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from central.accounts import Staff, create_staff
from central.alerts import AlertView
from central.api import issue_token
from central.db import sessions
from central.models import Event as EventRow
from central.service import CentralService
from central.settings import CentralSettings
from central.staff_models import AlertRow
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads
from protocols.mqtt.topics import Channel, build_topic
from tests.central.conftest import USERS, CentralBroker
from tests.central.helpers import PREFIX, SITE, event
from tests.central.test_ingest import Publisher, mqtt_settings

PATRON_ID = "P0001234"
CARD = "ab12cd34ef56"  # a patron_ref: the site-keyed hash a kiosk publishes for a card
LIMIT = 5


class Central:
    """A CentralService with the API and Home Assistant on; who it told of which alert."""

    def __init__(self, broker: CentralBroker, engine: Engine) -> None:
        self.sessions = sessions(engine)
        with self.sessions() as session:
            create_staff(session, "lan", "Nguyễn Thị Lan", "desk", "0123456789ab", site=SITE, now=0)
            self.token = issue_token(session, "console", may_command=True, staff_login="lan", now=0)
            session.commit()
        settings = CentralSettings(
            mqtt=mqtt_settings(broker, "central-sec"),
            api={"enabled": True, "port": 0},  # type: ignore[arg-type]
            homeassistant={"enabled": True},  # type: ignore[arg-type]
            alerts={"security_subjects": LIMIT, "offline_after_s": 3600},  # type: ignore[arg-type]
        )
        self.told: list[tuple[str, str, list[str]]] = []
        self.cond = threading.Condition()
        self.seen = 0
        self.service = CentralService(settings, engine, on_alert=self._on_alert)
        staff = self.service.staff
        observe_all = staff.observe_all

        def counted(messages: list[Any]) -> None:  # the staff side done with a stored batch
            observe_all(messages)
            with self.cond:
                self.seen += sum(isinstance(m, payloads.Event) for m in messages)
                self.cond.notify_all()

        staff.observe_all = counted  # type: ignore[method-assign]
        self.service.start()
        assert self.service.ingest.wait_subscribed(20, connections=3)
        assert staff.api is not None
        self.port = staff.api.port

    def _on_alert(self, alert: AlertView, staff: list[Staff]) -> None:
        with self.cond:
            self.told.append((alert.rule, alert.device, sorted(s.login for s in staff)))
            self.cond.notify_all()

    def wait_seen(self, events: int, timeout: float = 60) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.seen >= events, timeout), self.seen

    def stream(self) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        connection.request(
            "GET", f"/v1/stream?site={SITE}", headers={"Authorization": f"Bearer {self.token}"}
        )
        response = connection.getresponse()
        assert response.status == 200
        assert response.fp.readline().startswith(b": muontra")
        return response

    def ack(self, alert_id: int) -> dict[str, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request(
                "POST",
                f"/v1/alerts/{alert_id}/ack",
                body=b"{}",
                headers={"Authorization": f"Bearer {self.token}"},
            )
            response = connection.getresponse()
            assert response.status == 200
            body: dict[str, Any] = json.loads(response.read())
            return body
        finally:
            connection.close()


@pytest.fixture
def central(central_broker: CentralBroker, engine: Engine) -> Iterator[Central]:
    made = Central(central_broker, engine)
    try:
        yield made
    finally:
        made.service.stop()


@pytest.fixture
def device(central_broker: CentralBroker) -> Iterator[Publisher]:
    made = Publisher(central_broker)
    try:
        yield made
    finally:
        made.close()


class Watcher:
    """A login reading central's retained Home Assistant topics of security."""

    def __init__(self, broker: CentralBroker) -> None:
        self.got: dict[str, bytes] = {}
        self.cond = threading.Condition()
        subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ha-watch")
        client.tls_set(ca_certs=str(broker.tls.cert))
        client.username_pw_set("device", USERS["device"])
        client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/central/+/+/security", qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = self._on_message
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        assert subscribed.wait(20)
        self.client = client

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.got[message.topic] = bytes(message.payload)
            self.cond.notify_all()

    def wait(self, topic: str, payload: bytes) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.got.get(topic) == payload, 20), self.got

    def close(self) -> None:
        self.client.disconnect()
        stop_loop(self.client)


def sse(response: http.client.HTTPResponse) -> tuple[str, dict[str, Any]]:
    name, data = "", ""
    while True:
        line = response.fp.readline()
        assert line, "the stream closed"
        text = line.decode("utf-8").rstrip("\n")
        if text.startswith("event:"):
            name = text.partition(":")[2].strip()
        elif text.startswith("data:"):
            data += text.partition(":")[2].strip()
        elif text == "" and name:
            return name, json.loads(data)


def read_until(
    response: http.client.HTTPResponse, done: Callable[[list[tuple[str, dict[str, Any]]]], bool]
) -> list[tuple[str, dict[str, Any]]]:
    """Stream events until ``done`` says enough (a stalled stream fails on its socket timeout)."""
    got: list[tuple[str, dict[str, Any]]] = []
    while not done(got):
        got.append(sse(response))
    return got


def now() -> datetime:
    return datetime.now(UTC)


def security(device: str, **data: Any) -> tuple[str, bytes]:
    return event("security", now(), device=device, **data)


def from_engine(engine_event: dict[str, Any], device: str) -> tuple[str, bytes]:
    """A fleet event as the device's bridge makes it from its engine's event."""
    mapped = event_from_engine = payloads.event_from_engine(
        {"time": now().timestamp(), **engine_event}, device, SITE
    )
    assert event_from_engine is not None and mapped is not None
    suffix, message = mapped
    return f"{PREFIX}/v1/{SITE}/{device}/{suffix}", payloads.encode(message)


def test_security_events_reach_staff_the_stream_and_home_assistant(
    central: Central,
    device: Publisher,
    central_broker: CentralBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    watcher = Watcher(central_broker)
    stream = central.stream()
    try:
        # A device (or someone with its password) puts a patron's id and name in the evidence:
        # the closed field list refuses the whole event at ingest, before the next one.
        hostile = {
            "v": 1,
            "id": payloads.new_id(),
            "time": payloads.iso_time(now().timestamp()),
            "device": "kiosk-01",
            "site": SITE,
            "event": "security",
            "threat": "pin_wrong",
            "severity": "critical",
            "patron_id": PATRON_ID,
            "name": "Nguyễn Văn A",
        }
        topic = build_topic(PREFIX, SITE, "kiosk-01", Channel.EVENTS, "security")
        device.send((topic, json.dumps(hostile).encode()))
        device.send(security("kiosk-01", threat="case_opened", severity="critical", part="case"))
        got = read_until(stream, lambda g: any(k == "alert" for k, _ in g))
        assert [k for k, _ in got] == ["security", "alert"]
        shown, alert = got[0][1], got[1][1]
        assert (shown["threat"], shown["device"], shown["part"]) == (
            "case_opened",
            "kiosk-01",
            "case",
        )
        assert (alert["rule"], alert["device"], alert["subject"]) == (
            "case_opened",
            "kiosk-01",
            "case",
        )
        assert (alert["severity"], alert["count"], alert["evidence"]) == (
            "critical",
            1,
            {"part": "case"},
        )
        assert "vỏ máy" in alert["text_vi"] and "case" in alert["text_en"]
        # The kiosk's reporter re-sends it a window later with its count: counted, not raised.
        device.send(
            security("kiosk-01", threat="case_opened", severity="critical", part="case", count=5)
        )
        got = read_until(stream, lambda g: any(k == "alert_update" for k, _ in g))
        [update] = [b for k, b in got if k == "alert_update"]
        assert (update["id"], update["count"]) == (alert["id"], 5)
        watcher.wait(
            f"{PREFIX}/central/{SITE}/kiosk-01/security", b'{"open":1,"threats":["case_opened"]}'
        )

        # A warning is listed and streamed but nobody is called to it.
        device.send(security("gate-a", threat="foreign_afi", severity="warning", uid="E0F1", afi=9))
        got = read_until(stream, lambda g: any(k == "alert" for k, _ in g))
        assert [b["rule"] for k, b in got if k == "alert"] == ["foreign_afi"]

        # One card's wrong PINs at two kiosks: each kiosk counts them (info), central joins them.
        for kiosk in ("kiosk-01", "kiosk-02"):
            device.send(
                security(kiosk, threat="pin_wrong", severity="info", patron_ref=CARD, count=2)
            )
        got = read_until(stream, lambda g: any(k == "alert" for k, _ in g))
        card = next(b for k, b in got if k == "alert")
        assert (card["rule"], card["device"], card["subject"]) == ("card_across_kiosks", "", CARD)
        assert card["evidence"] == {"patron_ref": CARD, "devices": 2} and card["count"] == 4
        assert card["text_en"].startswith("Site: card " + CARD)

        # One item id on two tags: a kiosk's checkout, then a gate's alarm with another tag.
        device.send(
            from_engine(
                {"event": "item", "kind": "checkout", "item_id": "30077",
                 "outcome": "checked_out", "uids": ["e00401501234abcd"]},
                "kiosk-01",
            )
        )  # fmt: skip
        device.send(
            from_engine({"event": "alarm", "item_id": "30077", "uid": "E0040150FFFF0000"}, "gate-a")
        )

        # The alarm is stored through its own lane (central/ingest.py), so either alert may
        # reach the stream first: the clone is found by whichever event is stored second.
        def both(got: list[tuple[str, dict[str, Any]]]) -> bool:
            return {b.get("rule") for k, b in got if k == "alert"} >= {"gate_alarm", "cloned_tag"}

        got = read_until(stream, both)
        assert sorted(b["rule"] for k, b in got if k == "alert") == ["cloned_tag", "gate_alarm"]
        clone = next(b for k, b in got if k == "alert" and b["rule"] == "cloned_tag")
        assert (clone["rule"], clone["subject"], clone["severity"]) == (
            "cloned_tag",
            "30077",
            "critical",
        )
        assert clone["evidence"]["uid"] == "E00401501234ABCD"
        assert clone["evidence"]["other_uid"] == "E0040150FFFF0000"

        # A named member of the site's staff acknowledges; the alert stays open, counting.
        acked = central.ack(alert["id"])
        assert acked["acked_by"] == "lan" and acked["cleared"] is None
        # The hook runs after the stream is told: wait for the last one (the gate's alarm too).
        with central.cond:
            assert central.cond.wait_for(lambda: len(central.told) >= 4, 20), central.told
            told = list(central.told)
        critical = [(r, d) for r, d, _ in told if r != "gate_alarm"]
        assert critical == [
            ("case_opened", "kiosk-01"),
            ("card_across_kiosks", ""),
            ("cloned_tag", ""),
        ]
        assert all(who == ["lan"] for _, _, who in told)
    finally:
        stream.close()
        watcher.close()
    # Central's log names rules, sites and devices: never a card's reference, nor what the
    # refused event held; the store has none of it either.
    assert CARD not in caplog.text and PATRON_ID not in caplog.text
    with central.sessions() as session:
        stored = [json.dumps(row.data) for row in session.scalars(select(EventRow))]
    assert stored and not [row for row in stored if PATRON_ID in row or "Nguy" in row]
    assert central.service.ingest.counters.rejected == 1


def test_a_hostile_devices_flood_of_distinct_subjects_stays_bounded(
    central: Central, device: Publisher, engine: Engine
) -> None:
    topic = build_topic(PREFIX, SITE, "gate-evil", Channel.EVENTS, "security")
    sent = []
    for n in range(10_000):
        message = payloads.Event(
            payloads.Envelope(
                payloads.new_id(), payloads.iso_time(now().timestamp()), "gate-evil", SITE
            ),
            "security",
            {"threat": "foreign_afi", "severity": "warning", "uid": f"E0{n:08X}", "afi": 7},
        )
        sent.append(device.client.publish(topic, payloads.encode(message), qos=1))
    for info in sent:
        info.wait_for_publish(60)
    central.wait_seen(10_000, timeout=180)
    with central.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(EventRow))
        alerts = session.scalars(select(AlertRow).where(AlertRow.device == "gate-evil")).all()
    assert stored == 10_000  # every event is kept (and counted in the statistics)
    assert len(alerts) == LIMIT + 1
    views = central.service.staff.alerts.list_alerts(site=SITE)
    [overflow] = [v for v in views if v.subject == "*"]
    assert overflow.count == 10_000 - LIMIT
    assert "(many)" in overflow.as_json()["text_en"]
