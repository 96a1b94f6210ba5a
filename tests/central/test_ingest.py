"""Central's ingest against a real mosquitto (TLS, passwords, persistence) and both databases:
the fleet's stream stored once, through hostile payloads, a broker restart, and the
SIGKILL of one of two central processes sharing the stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central.ingest import Ingest
from central.models import Device, Event
from central.settings import MqttSection
from central.stats import totals
from central.store import StoreResult
from engine.mqtt.paho_loop import stop_loop
from tests.central.conftest import USERS, CentralBroker
from tests.central.helpers import event, state, telemetry

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
DAY = (T0 - timedelta(days=1), T0 + timedelta(days=1))

pytestmark = pytest.mark.slow


def mqtt_settings(broker: CentralBroker, client_id: str, shared: bool = True) -> MqttSection:
    return MqttSection(
        host="127.0.0.1",
        port=broker.port,
        tls=True,
        ca_file=broker.tls.cert,
        username="central",
        password=USERS["central"],
        client_id=client_id,
        session_expiry_s=600,
        shared=shared,
    )


class Publisher:
    """A device's client: QoS 1, a persistent session, paho queueing while the broker is away."""

    def __init__(self, broker: CentralBroker) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="device-pub", protocol=mqtt.MQTTv5
        )
        self.client.tls_set(ca_certs=str(broker.tls.cert))
        self.client.username_pw_set("device", USERS["device"])
        self.client.reconnect_delay_set(1, 2)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.connected = threading.Event()
        self.client.on_connect = lambda *_: self.connected.set()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 600
        self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=properties)
        self.client.loop_start()
        assert self.connected.wait(20), "the publisher did not connect"

    def send(self, pair: tuple[str, bytes], retain: bool = False) -> mqtt.MQTTMessageInfo:
        return self.client.publish(pair[0], pair[1], qos=1, retain=retain)

    def close(self) -> None:
        self.client.disconnect()
        stop_loop(self.client)


@pytest.fixture
def publisher(central_broker: CentralBroker) -> Iterator[Publisher]:
    made = Publisher(central_broker)
    try:
        yield made
    finally:
        made.close()


class Stored:
    """Counts events stored by an in-process ingest, for waiting on them."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self, result: StoreResult) -> None:
        with self._cond:
            self.count += len(result.events_new)
            self._cond.notify_all()

    def wait(self, at_least: int, timeout: float = 60) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.count >= at_least, timeout):
                raise AssertionError(f"{self.count} events stored, waited for {at_least}")


def _events(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(Event.id)))


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 90) -> None:
    """Poll another process's work through the database (there is no event to await)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _ids(pairs: list[tuple[str, bytes]]) -> set[str]:
    import json

    return {json.loads(payload)["id"] for _, payload in pairs}


def test_the_stream_is_stored_and_hostile_payloads_do_not_stop_it(
    engine: Engine, central_broker: CentralBroker, publisher: Publisher
) -> None:
    stored = Stored()
    ingest = Ingest(mqtt_settings(central_broker, "central-1"), engine, listeners=[stored])
    ingest.start()
    try:
        assert ingest.wait_subscribed(20)
        publisher.send(state("online", T0), retain=True)
        sent = []
        hostile = [
            ("muontra/v1/VN-HN0001/kiosk-01/events/checkout", b"\xff not json"),
            ("muontra/v1/VN-HN0001/kiosk-01/events/checkout", b'{"v": 1}'),
            ("muontra/v1/VN-HN0001/kiosk-01/events/alarm", b"[" * 60000),
            ("muontra/v1/VN-HN0001/kiosk-01/telemetry", b'{"v": 1, "uptime": -1}'),
            ("muontra/v1/VN-HN0001/kiosk-01/events/checkout", b""),
        ]
        for n in range(50):
            pair = event("checkout", T0 + timedelta(seconds=n), success=True, item_id=f"30{n:08d}")
            sent.append(pair)
            publisher.send(pair)
            if n % 10 == 0:
                publisher.send(hostile[n // 10])
        publisher.send(telemetry(T0 + timedelta(seconds=60), queue=3))
        stored.wait(50)
        # The telemetry was sent last, on the same connection: once it is stored, every
        # hostile message before it has been seen too.
        _wait(lambda: ingest.counters.rejected >= 5, "the hostile messages' rejection")
    finally:
        ingest.stop()
    assert set(_events(engine)) == _ids(sent)
    assert ingest.counters.rejected == 5
    with Session(engine) as session:
        device = session.scalars(select(Device)).one()
        assert totals(session, *DAY) == {("checkout", ""): 50}
    assert device.state == "online"
    _wait(lambda: _device(engine).queues == {"outbox": 3}, "the telemetry")


class HoldingCheckouts:
    """A listener that holds the writer which stored a checkout (after its commit) until
    released, and notes when an alarm has been stored."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()
        self.alarm = threading.Event()

    def __call__(self, result: StoreResult) -> None:
        kinds = {e.kind for e in result.events_new}
        if "alarm" in kinds:
            self.alarm.set()
        if "checkout" in kinds:
            self.holding.set()
            self.release.wait(60)


def test_a_gate_alarm_is_stored_while_the_writer_is_busy_with_the_rest(
    engine: Engine, central_broker: CentralBroker, publisher: Publisher
) -> None:
    """The main writer is held inside a batch of checkouts with telemetry queued behind it:
    an alarm is stored meanwhile, through its own lane, and nothing else is lost."""
    listener = HoldingCheckouts()
    ingest = Ingest(mqtt_settings(central_broker, "central-1"), engine, listeners=[listener])
    ingest.start()
    sent = []
    try:
        assert ingest.wait_subscribed(20)
        for n in range(20):
            pair = event("checkout", T0 + timedelta(seconds=n), success=True, item_id=f"30{n:08d}")
            sent.append(pair)
            publisher.send(pair)
        assert listener.holding.wait(30), "the checkouts were not stored"
        for n in range(50):
            publisher.send(telemetry(T0 + timedelta(seconds=30 + n)))
        alarm = event("alarm", T0 + timedelta(seconds=90), device="gate-01", item_id="3000000002")
        sent.append(alarm)
        publisher.send(alarm)
        # The writer that holds the checkouts is still held: only the alarm's lane can store it.
        assert listener.alarm.wait(30), "the alarm waited behind the other messages"
    finally:
        listener.release.set()
        _wait(lambda: ingest.pending() == 0, "the queued telemetry")
        ingest.stop()
    assert set(_events(engine)) == _ids(sent)


def _device(engine: Engine) -> Device:
    with Session(engine) as session:
        return session.scalars(select(Device)).one()


def test_a_broker_restart_mid_stream_loses_nothing(
    engine: Engine, central_broker: CentralBroker, publisher: Publisher
) -> None:
    """One central process on a plain persistent subscription (``shared = false``): what
    was queued for it, what devices published while the broker was down and what they
    published before central was back are all stored, once."""
    stored = Stored()
    settings = mqtt_settings(central_broker, "central-1", shared=False)
    ingest = Ingest(settings, engine, listeners=[stored])
    ingest.start()
    sent: list[tuple[str, bytes]] = []

    def send(count: int) -> None:
        for _ in range(count):
            pair = event("checkin", T0 + timedelta(seconds=len(sent)), success=True)
            sent.append(pair)
            publisher.send(pair)

    try:
        assert ingest.wait_subscribed(20)
        send(150)
        stored.wait(20)
        central_broker.stop()  # SIGTERM: mosquitto saves its sessions and queues
        send(50)  # while the broker is down: queued by the device's client
        central_broker.start()
        send(100)
        stored.wait(300, timeout=90)
    finally:
        ingest.stop()
    assert ingest.counters.connects >= 2
    assert sorted(_events(engine)) == sorted(_ids(sent))
    with Session(engine) as session:
        assert totals(session, *DAY) == {("checkin", ""): 300}


def test_a_shared_subscription_keeps_its_queue_across_a_broker_restart(
    engine: Engine, central_broker: CentralBroker, publisher: Publisher
) -> None:
    """Through ``$share``: what the broker held for central when it restarted is stored,
    and so is what devices publish once central has subscribed again. (What they publish
    between the broker's restart and central's new SUBSCRIBE, mosquitto 2.0 routes to
    nobody: docs/central.md; a plain subscription has no such gap, test above.)"""
    stored = Stored()
    ingest = Ingest(mqtt_settings(central_broker, "central-1"), engine, listeners=[stored])
    ingest.start()
    sent: list[tuple[str, bytes]] = []

    def send(count: int) -> list[mqtt.MQTTMessageInfo]:
        infos = []
        for _ in range(count):
            pair = event("people", T0 + timedelta(seconds=len(sent)), direction="in")
            sent.append(pair)
            infos.append(publisher.send(pair))
        return infos

    try:
        assert ingest.wait_subscribed(20)
        for info in send(200):
            info.wait_for_publish(20)  # all 200 with the broker, acknowledged to the device
        stored.wait(10)
        central_broker.stop()
        central_broker.start()
        assert ingest.wait_subscribed(30, connections=2)
        send(100)
        stored.wait(300, timeout=90)
    finally:
        ingest.stop()
    assert sorted(_events(engine)) == sorted(_ids(sent))
    with Session(engine) as session:
        assert totals(session, *DAY) == {("gate_in", ""): 300}


def _central(config: Path, name: str) -> tuple[subprocess.Popen[bytes], threading.Event]:
    """`muontra central run` in its own process; the event is set once it has subscribed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "-v", "central", "--config", str(config), "run"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    subscribed = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        with (config.parent / f"{name}.log").open("ab") as log:
            for line in process.stderr:
                log.write(line)
                log.flush()
                if b"subscribed to the fleet's topics" in line:
                    subscribed.set()

    threading.Thread(target=read, daemon=True).start()
    return process, subscribed


def _config(folder: Path, broker: CentralBroker, db_url: str, client_id: str) -> Path:
    secret = folder / "mqtt.secret"
    secret.write_text(USERS["central"])
    path = folder / f"{client_id}.toml"
    path.write_text(
        "[central]\n"
        "[central.database]\n"
        f'url = "{db_url}"\n'
        "[central.mqtt]\n"
        f"port = {broker.port}\n"
        f'ca_file = "{broker.tls.cert}"\n'
        'username = "central"\n'
        f'password_file = "{secret}"\n'
        f'client_id = "{client_id}"\n'
        "session_expiry_s = 600\n"
    )
    return path


def test_sigkill_of_one_of_two_processes_loses_and_doubles_nothing(
    engine: Engine,
    db_url: str,
    central_broker: CentralBroker,
    publisher: Publisher,
    tmp_path: Path,
) -> None:
    configs = {n: _config(tmp_path, central_broker, db_url, n) for n in ("central-a", "central-b")}
    processes = {n: _central(path, n) for n, path in configs.items()}
    try:
        for name, (_process, subscribed) in processes.items():
            assert subscribed.wait(30), f"{name} did not subscribe: " + (
                tmp_path / f"{name}.log"
            ).read_text(errors="replace")
        sent = []
        for n in range(200):
            pair = event("renew", T0 + timedelta(seconds=n), success=True)
            sent.append(pair)
            publisher.send(pair)
            if n == 120:
                # Mid-stream: with about half of it published and the rest in flight.
                processes["central-a"][0].send_signal(signal.SIGKILL)
        processes["central-a"][0].wait(10)
        # systemd brings it back under the same client id: the broker hands it its session.
        processes["central-a"] = _central(configs["central-a"], "central-a2")
        _wait(lambda: len(_events(engine)) >= 200, "all 200 events stored")
        # And nothing more arrives later: once both processes have stopped, still 200.
        for _name, (process, _) in processes.items():
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
    finally:
        for process, _ in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(10)
    ids = _events(engine)
    assert len(ids) == 200 and set(ids) == _ids(sent)
    with Session(engine) as session:
        assert totals(session, *DAY) == {("renew", ""): 200}
        assert session.scalar(select(func.count()).select_from(Event)) == 200
