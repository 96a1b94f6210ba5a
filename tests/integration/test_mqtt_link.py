"""The MQTT link against a real mosquitto: TLS, logins, presence, outages, slow consumers.

Each test starts its own broker on a free loopback port with a generated
configuration (TLS listener, password file, no anonymous clients, no
persistence) and stops it afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from engine.events import EventBus
from engine.mqtt.link import CommandOutcome, LinkSettings, LinkState, MqttLink, bridge
from engine.mqtt.outbox import Outbox
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope, Event
from tests.conftest import TlsFiles

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
SITE, DEVICE = "VN-HN0001", "kiosk-01"
USERS = {"kiosk-01": "kiosk-secret", "watcher": "watcher-secret"}

pytestmark = pytest.mark.skipif(
    not os.path.exists(MOSQUITTO) or MOSQUITTO_PASSWD is None,
    reason="mosquitto is not installed (scripts/apt-packages.txt)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Broker:
    """A mosquitto process; restartable on the same port."""

    folder: Path
    tls: TlsFiles
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    acl: Path | None = None
    """A mosquitto acl_file (docs/mqtt.md); None: every login may do anything."""
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))

    @property
    def conf(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def passwords(self) -> Path:
        return self.folder / "passwd"

    def set_users(self, users: dict[str, str]) -> None:
        """Write the password file (and make a running broker reload it)."""
        assert MOSQUITTO_PASSWD is not None
        self.passwords.unlink(missing_ok=True)
        for n, (user, password) in enumerate(users.items()):
            flags = ["-b", "-c"] if n == 0 else ["-b"]
            subprocess.run(
                [MOSQUITTO_PASSWD, *flags, str(self.passwords), user, password],
                check=True,
                capture_output=True,
            )
        self.passwords.chmod(0o600)
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)

    def start(self) -> None:
        if not self.passwords.exists():
            self.set_users(self.users)
        user = f"user {os.environ.get('USER') or 'root'}\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"{user}"
            "persistence false\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "per_listener_settings false\n"
            "allow_anonymous false\n"
            f"password_file {self.passwords}\n"
            + (f"acl_file {self.acl}\n" if self.acl is not None else "")
            + f"listener {self.port} 127.0.0.1\n"
            f"certfile {self.tls.cert}\n"
            f"keyfile {self.tls.key}\n"
        )
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen: {self.log()}") from None
                time.sleep(0.02)

    def freeze(self) -> None:
        """SIGSTOP: the broker's sockets stay open, but it reads and acknowledges nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL: gone at once, acknowledging nothing more (works on a frozen broker)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    folder = tmp_path / "broker"
    folder.mkdir()
    running = Broker(folder, tls_files)
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Watcher:
    """A subscriber at QoS 1 (a stand-in for central monitoring), re-subscribing on reconnect."""

    def __init__(self, broker: Broker, filters: list[str], on_message_delay: float = 0.0) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.subscriptions = 0
        self._cond = threading.Condition()
        self._delay = on_message_delay
        self._filters = filters
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="watcher")
        self.client.tls_set(ca_certs=str(broker.tls.cert))
        self.client.username_pw_set("watcher", USERS["watcher"])
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self.wait(lambda: self.subscriptions >= 1, "the watcher's subscription")

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe([(f, 1) for f in self._filters])

    def _on_subscribe(self, *_: Any) -> None:
        with self._cond:
            self.subscriptions += 1
            self._cond.notify_all()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if self._delay:
            time.sleep(self._delay)
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 20) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out waiting for {what}")

    def ids(self, suffix: str = "") -> list[str]:
        with self._cond:
            return [
                json.loads(payload)["id"]
                for topic, payload, _ in self.messages
                if topic.endswith(suffix) and payload
            ]

    def states(self) -> list[tuple[str, bool]]:
        with self._cond:
            return [
                (json.loads(p)["state"], retain)
                for t, p, retain in self.messages
                if t.endswith("/state") and p
            ]

    def close(self) -> None:
        self.client.disconnect()
        stop_loop(self.client)


def settings(broker: Broker, **changes: Any) -> LinkSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": broker.port,
        "site": SITE,
        "device": DEVICE,
        "ca_file": broker.tls.cert,
        "username": DEVICE,
        "password": USERS[DEVICE],
        "reconnect_min": 1,
        "reconnect_max": 2,
        "version": "test",
    } | changes
    return LinkSettings(**values)


def add_events(outbox: Outbox, count: int, start: int = 0) -> list[str]:
    """``count`` checkout events in the outbox; their payload ids."""
    ids = []
    topic = f"muontra/v1/{SITE}/{DEVICE}/events/checkout"
    for n in range(start, start + count):
        event = Event(
            Envelope(payloads.new_id(), payloads.iso_time(time.time()), DEVICE, SITE),
            "checkout",
            {"item_id": f"3000{n}", "outcome": "checked_out"},
        )
        outbox.add(topic, payloads.encode(event))
        ids.append(event.envelope.id)
    return ids


EVENTS = f"muontra/v1/{SITE}/+/events/#"
STATE = f"muontra/v1/{SITE}/+/state"


_LINK_PROCESS = """
import json, sys, time
from pathlib import Path
from engine.mqtt.link import LinkSettings, LinkState, MqttLink
from engine.mqtt.outbox import Outbox
values = json.loads(sys.argv[1])
values["ca_file"] = Path(values["ca_file"])
link = MqttLink(LinkSettings(**values), Outbox.open(None))
link.start()
if not link.wait_state(LinkState.ONLINE, timeout=20):
    sys.exit(3)
print("online", flush=True)
time.sleep(600)
"""


def test_birth_retained_online_and_will_offline_on_kill(broker: Broker, tmp_path: Path) -> None:
    values = {
        "host": "127.0.0.1",
        "port": broker.port,
        "site": SITE,
        "device": DEVICE,
        "ca_file": str(broker.tls.cert),
        "username": DEVICE,
        "password": USERS[DEVICE],
        "version": "9.9",
        "keepalive": 5,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _LINK_PROCESS, json.dumps(values)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"online"
        # A watcher arriving later still learns the state: the birth is retained.
        watcher = Watcher(broker, [STATE])
        watcher.wait(lambda: watcher.states() == [("online", True)], "the retained birth")
        birth = payloads.decode_state(watcher.messages[0][1])
        assert (birth.envelope.device, birth.version) == (DEVICE, "9.9")
        child.kill()  # no DISCONNECT: the broker must send the will
        child.wait(10)
        watcher.wait(lambda: len(watcher.states()) == 2, "the last will")
        assert watcher.states()[1][0] == "offline"
        watcher.close()
        late = Watcher(broker, [STATE])
        late.wait(lambda: late.states() == [("offline", True)], "the retained will")
        late.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def test_clean_stop_says_offline(broker: Broker) -> None:
    watcher = Watcher(broker, [STATE])
    with Outbox.open(None) as outbox:
        link = MqttLink(settings(broker), outbox)
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        watcher.wait(lambda: [s for s, _ in watcher.states()] == ["online"], "birth")
        link.stop()
        assert link.state is LinkState.STOPPED
    watcher.wait(lambda: [s for s, _ in watcher.states()] == ["online", "offline"], "offline")
    watcher.close()


def test_broker_restart_with_events_in_flight(broker: Broker) -> None:
    """Events handed to a broker that dies before acknowledging them are sent again.

    The broker is frozen (SIGSTOP) so that the link's publishes are surely in flight,
    unacknowledged, then killed: a broker that acknowledged and then died before
    passing a message on would lose it without persistence, which no client can
    prevent. Every event then arrives exactly once by id after the restart.
    """
    watcher = Watcher(broker, [EVENTS])
    with Outbox.open(None) as outbox:
        link = MqttLink(settings(broker), outbox)
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        expected = add_events(outbox, 10)
        assert link.wait_drained(20)
        watcher.wait(lambda: set(expected) <= set(watcher.ids()), "the first events")
        broker.freeze()
        expected += add_events(outbox, 30, start=10)
        _wait(lambda: link.inflight() == 20, 20, "a full window in flight")
        broker.kill()
        assert link.wait_state(LinkState.OFFLINE, timeout=20)
        expected += add_events(outbox, 25, start=40)
        assert outbox.count() == 55
        # Back on the same port, first with the watcher's login only, so that the watcher is
        # subscribed again before the link can publish (nothing persists in this broker).
        subscribed = watcher.subscriptions
        broker.set_users({"watcher": USERS["watcher"]})
        broker.start()
        watcher.wait(lambda: watcher.subscriptions > subscribed, "the watcher's re-subscription")
        assert link.state is not LinkState.ONLINE
        broker.set_users(USERS)  # SIGHUP: mosquitto reloads the password file
        assert link.wait_state(LinkState.ONLINE, timeout=20)
        assert link.wait_drained(20)
        watcher.wait(lambda: set(expected) <= set(watcher.ids()), "every event")
        seen = watcher.ids()
        assert set(seen) == set(expected)  # every event arrives, nothing else does
        # Exactly once by id: deduplicated on the id, each event is there once, in order
        # (the re-sent window first, then the rest of the outbox).
        assert list(dict.fromkeys(seen)) == expected
        link.stop()
        assert outbox.count() == 0
    watcher.close()


def test_slow_consumer_loses_nothing(broker: Broker) -> None:
    watcher = Watcher(broker, [EVENTS], on_message_delay=0.01)
    with Outbox.open(None) as outbox:
        link = MqttLink(settings(broker), outbox)
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        expected = add_events(outbox, 300)
        assert link.wait_drained(30)  # the broker takes them whatever the consumer does
        watcher.wait(lambda: len(set(watcher.ids())) >= 300, "300 events", timeout=60)
        assert list(dict.fromkeys(watcher.ids())) == expected  # in order, none lost
        link.stop()
    watcher.close()


def test_bad_credentials_are_refused_and_nothing_is_lost(broker: Broker) -> None:
    with Outbox.open(None) as outbox:
        add_events(outbox, 3)
        link = MqttLink(settings(broker, password="wrong"), outbox)
        link.start()
        assert link.wait_state(LinkState.AUTH_FAILED, timeout=20)
        assert link.last_error is not None
        assert "refused the login" in link.last_error
        assert "wrong" not in link.last_error  # the password is never repeated
        assert outbox.count() == 3
        link.stop()
        assert outbox.count() == 3


def test_commands_are_run_and_answered(broker: Broker) -> None:
    watcher = Watcher(broker, [f"muontra/v1/{SITE}/{DEVICE}/results/+"])
    received: list[Command] = []

    def handler(command: Command) -> CommandOutcome:
        received.append(command)
        return CommandOutcome(True, "locked")

    with Outbox.open(None) as outbox:
        link = MqttLink(settings(broker), outbox, on_command=handler)
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        command = Command(
            Envelope(payloads.new_id(), payloads.iso_time(time.time()), DEVICE, SITE), "lock"
        )
        wire = payloads.encode(command)
        topic = f"muontra/v1/{SITE}/{DEVICE}/commands/lock"
        # The link subscribes right after it connects; a retained message reaches it either way.
        watcher.client.publish(topic, wire, qos=1, retain=True).wait_for_publish(5)
        watcher.wait(lambda: len(watcher.messages) >= 1, "the first command's result")
        watcher.client.publish(topic, wire, qos=1)  # a repeat, now surely heard: run once only
        # A different command after the repeat: once its result is in, the repeat has been
        # seen (QoS 1 keeps their order) and must not have run.
        later = Command(
            Envelope(payloads.new_id(), payloads.iso_time(time.time()), DEVICE, SITE), "unlock"
        )
        watcher.client.publish(
            f"muontra/v1/{SITE}/{DEVICE}/commands/unlock", payloads.encode(later), qos=1
        )
        watcher.wait(lambda: len(watcher.messages) >= 3, "the commands' results")
        results = [payloads.decode_result(payload) for _, payload, _ in watcher.messages]
        assert [(r.command_id, r.ok, r.detail) for r in results] == [
            (command.envelope.id, True, "locked"),
            (command.envelope.id, True, "duplicate: already answered, not run again (locked)"),
            (later.envelope.id, True, "locked"),
        ]
        assert [c.name for c in received] == ["lock", "unlock"]
        watcher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        link.stop()
    watcher.close()


def test_events_cli_prints_an_event_from_the_engine(broker: Broker) -> None:
    env = {**os.environ, "WATCHER_PW": USERS["watcher"]}
    cli = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from muontra.cli import main; sys.exit(main(sys.argv[1:]))",
            "events",
            "--broker",
            f"mqtts://watcher@127.0.0.1:{broker.port}",
            "--ca",
            str(broker.tls.cert),
            "--password-env",
            "WATCHER_PW",
            "--site",
            SITE,
            "--json",
            "--count",
            "1",
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert cli.stderr is not None
        line = cli.stderr.readline().decode()
        assert "subscribed" in line, line
        bus = EventBus()
        with Outbox.open(None) as outbox:
            copier = bridge(bus, outbox, DEVICE, SITE)
            link = MqttLink(settings(broker), outbox)
            link.start()
            bus.publish(
                "alarm",
                gate="gate-a",
                item_id="30077",
                title="Số đỏ",
                direction="out",
                patron_id="P0001234",
            )
            out, err = cli.communicate(timeout=30)
            copier.stop()
            link.stop()
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(10)
    assert cli.returncode == 0, err
    lines = [json.loads(x) for x in out.decode().splitlines()]
    alarms = [x for x in lines if x.get("event") == "alarm"]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert alarm["topic"] == f"muontra/v1/{SITE}/{DEVICE}/events/alarm"
    assert (alarm["gate"], alarm["item_id"], alarm["title"]) == ("gate-a", "30077", "Số đỏ")
    assert "P0001234" not in out.decode()


def test_periodic_telemetry(broker: Broker) -> None:
    watcher = Watcher(broker, [f"muontra/v1/{SITE}/+/telemetry"])
    with Outbox.open(None) as outbox:
        link = MqttLink(settings(broker, telemetry_every=0.2), outbox)
        link.start()
        watcher.wait(lambda: len(watcher.messages) >= 2, "two health reports")
        link.stop()
    first, second = (payloads.decode_telemetry(p) for _, p, _ in watcher.messages[:2])
    assert first.envelope.device == DEVICE
    assert 0 < first.uptime < second.uptime
    assert set(first.queues) >= {"outbox", "inflight"}
    assert first.versions["muontra"] == "test"
    watcher.close()


def _result_for(watcher: Watcher, command_id: str) -> payloads.Result:
    def found() -> list[payloads.Result]:
        results = [payloads.decode_result(p) for t, p, _ in watcher.messages if "/results/" in t]
        return [r for r in results if r.command_id == command_id]

    watcher.wait(lambda: bool(found()), f"the result of command {command_id}")
    with watcher._cond:
        return found()[0]


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        # Dated 2020 (a captured command replayed years later), by the link's clock.
        (payloads.epoch_of("2020-03-01T08:00:00.000Z"), "older than command_max_age (300 s)"),
        # 301 s old: just past the limit.
        (1_900_000_000.0 - 301, "older than command_max_age (300 s)"),
        # Dated an hour ahead of the device's clock.
        (1_900_000_000.0 + 3600, "ahead of this device's clock: more than command_max_ahead"),
    ],
)
def test_stale_and_future_commands_are_refused_not_run(
    broker: Broker, sent: float, reason: str
) -> None:
    watcher = Watcher(broker, [f"muontra/v1/{SITE}/{DEVICE}/results/+"])
    received: list[str] = []

    def handler(command: Command) -> CommandOutcome:
        received.append(command.envelope.id)
        return CommandOutcome(True, "out of service")

    now = 1_900_000_000.0  # the link's clock, fixed: the test means the same on any date
    with Outbox.open(None) as outbox:
        link = MqttLink(settings(broker), outbox, on_command=handler, clock=lambda: now)
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        old = Command(Envelope(payloads.new_id(), payloads.iso_time(sent), DEVICE, SITE), "lock")
        fresh = Command(
            Envelope(payloads.new_id(), payloads.iso_time(now - 299), DEVICE, SITE), "lock"
        )
        topic = f"muontra/v1/{SITE}/{DEVICE}/commands/lock"
        # Retained, so that it reaches the link whether or not its subscription is in yet.
        watcher.client.publish(topic, payloads.encode(old), qos=1, retain=True).wait_for_publish(5)
        refused = _result_for(watcher, old.envelope.id)
        watcher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        watcher.client.publish(topic, payloads.encode(fresh), qos=1).wait_for_publish(5)
        accepted = _result_for(watcher, fresh.envelope.id)
        link.stop()
    watcher.close()
    assert not refused.ok
    assert refused.detail is not None and reason in refused.detail and "not run" in refused.detail
    assert (accepted.ok, accepted.detail) == (True, "out of service")
    assert received == [fresh.envelope.id]  # the old one never reached the handler
