"""`muontra central` in one piece, as a child process on a real mosquitto with the shipped ACL,
on SQLite and on PostgreSQL: staff and tokens made by its own subcommands; a gate's alarm from
the engine's real MqttLink becomes an alert on the API's live stream, acknowledged by a desk
member (audited); an admin's lock reaches a kiosk's real link and its result is audited; a
viewer is refused. The API's fleet endpoints answer from the store."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db import make_engine
from central.staff_models import AuditEntry
from engine.mqtt.link import CommandOutcome, LinkState, MqttLink
from engine.mqtt.outbox import Outbox
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope, Event
from tests.central.conftest import _free_port
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_link import SITE, Broker, settings

ACL = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "muontra.acl"
PASSWORDS = {
    "muontra_central": "central-secret",
    "gate-a": "gate-a-secret",
    "kiosk-01": "kiosk-01-secret",
}
STAFF_PASSWORD = "mật-khẩu-đủ-dài"
ZONE = "Asia/Ho_Chi_Minh"


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


class Central:
    """A `muontra central` child process and its config."""

    def __init__(self, tmp: Path, broker: Broker, db_url: str) -> None:
        self.db_url = db_url
        self.api_port = _free_port()
        self.config = tmp / "central.toml"
        self.config.write_text(
            "[central]\n"
            f'timezone = "{ZONE}"\n'
            "[central.database]\n"
            f"url = {json.dumps(db_url)}\n"
            "[central.mqtt]\n"
            f'host = "127.0.0.1"\nport = {broker.port}\n'
            f"ca_file = {json.dumps(str(broker.tls.cert))}\n"
            f'username = "muontra_central"\npassword = "{PASSWORDS["muontra_central"]}"\n'
            'client_id = "central-e2e"\n'
            "[central.alerts]\noffline_after_s = 3600\n"
            f'[central.api]\nenabled = true\nport = {self.api_port}\nhost = "127.0.0.1"\n',
            encoding="utf-8",
        )
        self.log = tmp / "central.log"
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = os.environ | {"MUONTRA_STAFF_PASSWORD": STAFF_PASSWORD}
        return subprocess.run(
            [sys.executable, "-m", "muontra", "central", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    def token(self, *args: str) -> str:
        done = self.cli("add-token", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "muontra", "central", "--config", str(self.config), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def request(
        self, method: str, path: str, token: str, body: Any = None
    ) -> tuple[int, dict[str, Any]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=10)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    def until(self, what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Poll ``check`` until it returns something true; fail naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"central exited ({self.process.returncode}): {self.log.read_text()}")
            try:
                value = check()
            except OSError:
                value = None  # the API is not listening yet
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)


@pytest.fixture
def central(tmp_path: Path, broker: Broker, db_url: str) -> Iterator[Central]:
    made = Central(tmp_path, broker, db_url)
    yield made
    code = made.stop()
    assert code in (0, None), made.log.read_text()


@pytest.fixture
def kiosk(broker: Broker) -> Iterator[list[Command]]:
    """kiosk-01's real link, logged in as itself; the commands it ran."""
    ran: list[Command] = []

    def handle(cmd: Command) -> CommandOutcome:
        ran.append(cmd)
        return CommandOutcome(True, f"did {cmd.name}")

    with Outbox.open(None) as outbox:
        link = MqttLink(
            settings(
                broker, device="kiosk-01", username="kiosk-01", password=PASSWORDS["kiosk-01"]
            ),
            outbox,
            on_command=handle,
        )
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        try:
            yield ran
        finally:
            link.stop()


@pytest.fixture
def gate(broker: Broker) -> Iterator[tuple[MqttLink, Outbox]]:
    """gate-a's real link: its events go through its outbox, as a gate's do."""
    with Outbox.open(None) as outbox:
        link = MqttLink(
            settings(broker, device="gate-a", username="gate-a", password=PASSWORDS["gate-a"]),
            outbox,
        )
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        try:
            yield link, outbox
        finally:
            link.stop()


def read_sse(response: http.client.HTTPResponse) -> tuple[str, dict[str, Any]]:
    """The next server-sent event (comments skipped)."""
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


def audit(db_url: str) -> list[AuditEntry]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    finally:
        engine.dispose()


def test_central_in_one_piece(
    central: Central,
    gate: tuple[MqttLink, Outbox],
    kiosk: list[Command],
) -> None:
    # Staff and tokens, through central's own subcommands on the config's database.
    for login, role in (("boss", "admin"), ("lan.nguyen", "desk"), ("xem", "viewer")):
        done = central.cli("add-staff", login, "--name", f"Nguyễn {login}", "--role", role)
        assert done.returncode == 0, done.stderr
    refused = central.cli("add-staff", "lan.nguyen", "--name", "again", "--role", "desk")
    assert refused.returncode == 2 and "not added" in refused.stderr
    admin = central.token("console-admin", "--may-command", "--as-staff", "boss")
    desk = central.token("console-desk", "--may-command", "--as-staff", "lan.nguyen")
    viewer = central.token("console-viewer", "--may-command", "--as-staff", "xem")
    reader = central.token("grafana")

    central.start()
    # Both links' retained births reach central through the same subscription as events:
    # once they are in the store, central hears the fleet.
    devices = central.until(
        "both devices in the API",
        lambda: (
            (r := central.request("GET", f"/v1/devices?site={SITE}", reader))[0] == 200
            and {d["device"] for d in r[1]["devices"]} >= {"gate-a", "kiosk-01"}
            and r[1]["devices"]
        ),
    )
    assert all(d["state"] == "online" for d in devices)

    # A desk console's live stream, open before the alarm.
    stream = http.client.HTTPConnection("127.0.0.1", central.api_port, timeout=20)
    stream.request("GET", f"/v1/stream?site={SITE}", headers={"Authorization": f"Bearer {desk}"})
    response = stream.getresponse()
    assert response.status == 200
    _link, outbox = gate
    alarm = Event(
        Envelope(payloads.new_id(), payloads.iso_time(time.time()), "gate-a", SITE),
        "alarm",
        {"item_id": "30077", "title": "Số đỏ", "direction": "out"},
    )
    outbox.add(f"muontra/v1/{SITE}/gate-a/events/alarm", payloads.encode(alarm))
    name, alert = read_sse(response)
    stream.close()
    assert (name, alert["rule"], alert["device"], alert["subject"]) == (
        "alert",
        "gate_alarm",
        "gate-a",
        "30077",
    )
    assert "30077" in alert["text_vi"] and "30077" in alert["text_en"]

    # The viewer sees it but may not acknowledge it; the desk member does, once.
    status, listed = central.request("GET", f"/v1/alerts?site={SITE}&open=1", viewer)
    assert status == 200 and [a["id"] for a in listed["alerts"]] == [alert["id"]]
    assert central.request("POST", f"/v1/alerts/{alert['id']}/ack", viewer, {})[0] == 403
    assert central.request("POST", f"/v1/alerts/{alert['id']}/ack", desk, {})[0] == 200
    assert central.request("POST", f"/v1/alerts/{alert['id']}/ack", admin, {})[0] == 409

    # The alarm is in the store: events and today's statistics through the API.
    status, events = central.request("GET", f"/v1/events?site={SITE}&device=gate-a", reader)
    assert status == 200 and [e["id"] for e in events["events"]] == [alarm.envelope.id]
    day = datetime.now(ZoneInfo(ZONE)).date().isoformat()
    status, stats = central.request("GET", f"/v1/stats?site={SITE}&day={day}", reader)
    assert status == 200
    assert [(s["device"], s["metric"], s["count"]) for s in stats["stats"]] == [
        ("gate-a", "alarm", 1)
    ]
    assert central.request("GET", f"/v1/stats?site={SITE}&day=2026-02-30", reader)[0] == 400

    # An admin locks the kiosk through the API; the kiosk's own link runs it and answers.
    order = {"site": SITE, "device": "kiosk-01", "command": "lock", "args": {}}
    assert central.request("POST", "/v1/commands", viewer, order)[0] == 403
    assert central.request("POST", "/v1/commands", reader, order)[0] == 403
    status, sent = central.request("POST", "/v1/commands", admin, order)
    assert status == 202, sent
    command_id = sent["command_id"]
    result = central.until(
        "the kiosk's result",
        lambda: (
            (r := central.request("GET", f"/v1/commands/{command_id}", reader)[1])["outcome"] and r
        ),
    )
    assert (result["outcome"], result["actor"], result["command"]) == ("ok", "boss", "lock")
    assert result["answered"] is not None and result["detail"] == "did lock"
    assert [c.name for c in kiosk] == ["lock"]

    # The audit log: who added whom, the ack, the refused viewer, the admin's lock and result.
    rows = audit(central.db_url)
    acts = [(r.actor, r.action, r.outcome) for r in rows if not r.actor.startswith("shell:")]
    assert acts == [
        ("lan.nguyen", "ack", "ok"),
        ("xem", "lock", "refused"),
        ("boss", "lock", "ok"),
    ]
    assert [r.action for r in rows if r.actor.startswith("shell:")] == [
        "add_staff",
        "add_staff",
        "add_staff",
        "add_token",
        "add_token",
        "add_token",
        "add_token",
    ]
    # Nothing a patron could be named by went to central's log.
    assert central.stop() == 0
    assert STAFF_PASSWORD not in central.log.read_text()
