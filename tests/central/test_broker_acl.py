"""`muontra central acl`: the broker's ACL from central's device list, enforced by a real mosquitto.

Central has heard kiosk-01 (a checkout: a kiosk) and is configured with gate-01 (a
gate); kiosk-02 has a password at the broker but is on no list. The generated file
is compared to the byte, then mosquitto runs with exactly it: central commands,
no device does (not even to itself), a device publishes only under its own site
and id, a login on no list does nothing, the gate reads its site's checkouts and
staff read events. As in tests/integration/test_mqtt_acl.py, every "never
arrives" is proven by a later message on the same path that does arrive.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from central.broker_acl import DeviceEntry, FleetDevice, Role, accounts, dynsec_config, fleet
from central.db import make_engine
from central.store import parse_message, store_batch
from engine.mqtt.link import MqttLink
from muontra.cli import main
from tests.central.helpers import PREFIX, event, state
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_acl import (  # noqa: F401  (kiosk: a fixture)
    PASSWORDS,
    Client,
    checkout,
    command,
    kiosk,
)
from tests.integration.test_mqtt_link import MOSQUITTO, SITE, Broker

BASE = f"muontra/v1/{SITE}"

EXPECTED = """\
# Written by `muontra central acl` from central's device list; regenerate, do not edit.
# Logins not named here may do nothing. mosquitto re-reads this file on SIGHUP.

# central monitoring
user muontra_central
topic read muontra/v1/#
topic write muontra/v1/VN-HN0001/gate-01/commands/+
topic write muontra/v1/VN-HN0001/kiosk-01/commands/+

# staff tool
user muontra_staff
topic read muontra/v1/+/+/events/#
topic read muontra/v1/+/+/state

# VN-HN0001 gate
user gate-01
topic write muontra/v1/VN-HN0001/gate-01/state
topic write muontra/v1/VN-HN0001/gate-01/events/+
topic write muontra/v1/VN-HN0001/gate-01/telemetry
topic write muontra/v1/VN-HN0001/gate-01/results/+
topic read muontra/v1/VN-HN0001/gate-01/commands/+
topic read muontra/v1/VN-HN0001/+/events/checkout
topic read muontra/v1/VN-HN0001/+/events/checkin
topic read muontra/v1/VN-HN0001/+/events/error

# VN-HN0001 kiosk
user kiosk-01
topic write muontra/v1/VN-HN0001/kiosk-01/state
topic write muontra/v1/VN-HN0001/kiosk-01/events/+
topic write muontra/v1/VN-HN0001/kiosk-01/telemetry
topic write muontra/v1/VN-HN0001/kiosk-01/results/+
topic read muontra/v1/VN-HN0001/kiosk-01/commands/+
"""


def _write_acl(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    db = tmp_path / "central.db"
    config = tmp_path / "central.toml"
    config.write_text(
        "[central]\n"
        f'[central.database]\nurl = "sqlite:///{db}"\n'
        '[central.mqtt]\nusername = "muontra_central"\n'
        "[central.broker]\n"
        'devices = [{site = "VN-HN0001", id = "gate-01", role = "gate"}]\n'
    )
    assert main(["central", "--config", str(config), "migrate"]) == 0
    engine = make_engine(f"sqlite:///{db}")
    when = datetime(2026, 11, 25, 2, tzinfo=UTC)
    heard = [state("online", when), event("checkout", when, item_id="30001")]
    with Session(engine) as session, session.begin():
        store_batch(
            session, [parse_message(t, p, PREFIX) for t, p in heard], lambda: datetime.now(UTC)
        )
    engine.dispose()
    acl = tmp_path / "muontra.acl"
    return main(["central", "--config", str(config), "acl", "--out", str(acl), *extra]), acl


def test_the_acl_is_made_from_the_heard_and_the_configured_devices(tmp_path: Path) -> None:
    dynsec = tmp_path / "dynsec.json"
    status, acl = _write_acl(tmp_path, "--dynsec", str(dynsec))
    assert status == 0
    assert acl.read_text(encoding="utf-8") == EXPECTED
    document = json.loads(dynsec.read_text(encoding="utf-8"))
    assert dynsec.stat().st_mode & 0o777 == 0o600  # it will hold password hashes
    assert [c["username"] for c in document["clients"]] == [
        "muontra_central",
        "muontra_staff",
        "gate-01",
        "kiosk-01",
    ]
    kiosk_role = next(r for r in document["roles"] if r["rolename"] == "muontra-kiosk-01")
    assert {(a["acltype"], a["topic"]) for a in kiosk_role["acls"]} == {
        ("publishClientSend", f"{BASE}/kiosk-01/state"),
        ("publishClientSend", f"{BASE}/kiosk-01/events/+"),
        ("publishClientSend", f"{BASE}/kiosk-01/telemetry"),
        ("publishClientSend", f"{BASE}/kiosk-01/results/+"),
        ("subscribePattern", f"{BASE}/kiosk-01/commands/+"),
        ("publishClientReceive", f"{BASE}/kiosk-01/commands/+"),
    }
    assert document["defaultACLAccess"]["publishClientSend"] is False


def test_the_command_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[central.database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n')
    assert main(["central", "--config", str(config), "acl"]) == 2
    assert "give --out FILE" in capsys.readouterr().err
    out = str(tmp_path / "acl")
    assert main(["central", "--config", str(config), "acl", "--out", out]) == 2
    assert "central.mqtt.username is not set" in capsys.readouterr().err
    config.write_text(config.read_text() + '[central.mqtt]\nusername = "muontra_central"\n')
    assert main(["central", "--config", str(config), "acl", "--out", out]) == 2
    assert "run `muontra central migrate` first" in capsys.readouterr().err
    assert not Path(out).exists()


def test_dynsec_keeps_passwords_and_foreign_clients_and_drops_removed_logins() -> None:
    fleet = [FleetDevice(SITE, "kiosk-01", Role.KIOSK), FleetDevice(SITE, "kiosk-02", None)]
    first = dynsec_config(accounts(fleet, prefix="muontra", central_user="muontra_central"))
    first["clients"][-1] |= {"password": "aGFzaA==", "salt": "c2FsdA==", "iterations": 101}
    admin = {"username": "admin", "roles": [{"rolename": "admin"}], "password": "YQ=="}
    first["clients"].append(admin)
    first["roles"].append({"rolename": "admin", "acls": []})
    again = dynsec_config(
        accounts(fleet[1:], prefix="muontra", central_user="muontra_central"), first
    )
    clients = {c["username"]: c for c in again["clients"]}
    assert set(clients) == {"admin", "muontra_central", "muontra_staff", "kiosk-02"}
    assert clients["kiosk-02"]["password"] == "aGFzaA=="  # kept through the rewrite
    assert clients["admin"] == admin
    assert {r["rolename"] for r in again["roles"]} == {
        "admin",
        "muontra-muontra_central",
        "muontra-muontra_staff",
        "muontra-kiosk-02",
    }


def test_a_device_heard_under_two_sites_must_be_configured() -> None:
    heard = [FleetDevice(SITE, "kiosk-01", Role.KIOSK), FleetDevice("VN-HN0002", "kiosk-01")]
    with pytest.raises(ValueError, match="heard under sites VN-HN0001 and VN-HN0002"):
        fleet([], heard)
    configured = [DeviceEntry(site=SITE, id="kiosk-01", role=Role.KIOSK)]
    assert fleet(configured, heard) == [FleetDevice(SITE, "kiosk-01", Role.KIOSK)]
    # A configured role wins over the one guessed from events.
    gate = [DeviceEntry(site=SITE, id="kiosk-01", role=Role.GATE)]
    assert fleet(gate, heard[:1]) == [FleetDevice(SITE, "kiosk-01", Role.GATE)]


def test_a_device_id_that_is_a_central_login_is_refused() -> None:
    with pytest.raises(ValueError, match="also a login"):
        accounts(
            [FleetDevice(SITE, "muontra_staff")], prefix="muontra", central_user="muontra_central"
        )


def test_central_reads_the_broker_log_only_when_refused_logins_are_watched() -> None:
    def central_reads(**kwargs: str) -> list[str]:
        logins = accounts([], prefix="muontra", central_user="muontra_central", **kwargs)
        return [g.topic for g in logins[0].grants if g.access == "read"]

    assert not any(t.startswith("$SYS") for t in central_reads())
    assert "$SYS/broker/log/N" in central_reads(broker_log="$SYS/broker/log/N")


@pytest.fixture
def broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    status, acl = _write_acl(tmp_path)
    assert status == 0
    folder = tmp_path / "broker"
    folder.mkdir()
    running = Broker(folder, tls_files, acl=acl, users=PASSWORDS)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_central_commands_and_no_device_does(
    broker: Broker,
    kiosk: tuple[MqttLink, list[str]],  # noqa: F811
) -> None:
    _link, ran = kiosk
    central = Client(broker, "muontra_central", [f"{BASE}/kiosk-01/results/+"])
    devices = [Client(broker, user, []) for user in ("gate-01", "kiosk-01", "kiosk-02")]
    try:
        deadline = time.monotonic() + 10
        while not ran:  # the link subscribes just after connecting
            assert time.monotonic() < deadline, "central's command never reached the kiosk"
            central.publish(f"{BASE}/kiosk-01/commands/message", command("kiosk-01", "message"))
            central.wait(lambda: bool(central.messages) or bool(ran), "an answer", timeout=1)
        first = len(ran)
        for device in devices:  # the gate, the kiosk itself, a login on no list
            device.publish(f"{BASE}/kiosk-01/commands/unlock", command("kiosk-01", "unlock"))
        central.publish(f"{BASE}/kiosk-01/commands/reload", command("kiosk-01", "reload"))
        deadline = time.monotonic() + 10
        while len(ran) < first + 1:
            assert time.monotonic() < deadline, "central's reload never reached the kiosk"
            time.sleep(0.01)
        assert [json.loads(entry)[0] for entry in ran[first:]] == ["reload"]
    finally:
        for client in (central, *devices):
            client.close()


def test_devices_publish_only_their_own_and_unlisted_logins_nothing(broker: Broker) -> None:
    central = Client(broker, "muontra_central", ["muontra/v1/#"])
    gate = Client(broker, "gate-01", [f"{BASE}/+/events/checkout"])
    staff = Client(broker, "muontra_staff", [f"{BASE}/+/events/#"])
    kiosk_01 = Client(broker, "kiosk-01", [])
    stranger = Client(broker, "kiosk-02", [])
    try:
        # kiosk-01 as the gate, and as itself under another site (the shipped ACL's "+"
        # for the site let that through); kiosk-02, on no list, even under its own id.
        kiosk_01.publish(f"{BASE}/gate-01/events/alarm", b"{}")
        kiosk_01.publish("muontra/v1/VN-HN0002/kiosk-01/events/checkout", b"{}")
        stranger.publish(f"{BASE}/kiosk-02/events/checkout", checkout("kiosk-02", "L0009"))
        stranger.publish(f"{BASE}/kiosk-02/state", b"{}")
        own = f"{BASE}/kiosk-01/events/checkout"
        kiosk_01.publish(own, checkout("kiosk-01", "L0001"))
        for client in (central, gate, staff):
            client.wait(lambda c=client: own in c.topics(), "kiosk-01's own event")  # type: ignore[misc]
            assert client.topics() == [own]
    finally:
        for client in (central, gate, staff, kiosk_01, stranger):
            client.close()


# --- the same grants through mosquitto's dynamic-security plugin ------------------------------

DYNSEC_PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")


def _hashed(document: dict[str, Any], passwords: dict[str, str]) -> dict[str, Any]:
    """What `mosquitto_ctrl dynsec setClientPassword` stores: PBKDF2-SHA512, 12 bytes of salt."""
    for client in document["clients"]:
        secret = passwords.get(client["username"])
        if secret is not None:
            salt = os.urandom(12)
            digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, 101)
            client |= {
                "salt": base64.b64encode(salt).decode(),
                "password": base64.b64encode(digest).decode(),
                "iterations": 101,
            }
    return document


@dataclass
class DynsecBroker(Broker):
    """The test broker with the dynamic-security plugin in place of the password and ACL files."""

    dynsec: Path | None = None

    def start(self) -> None:
        assert self.dynsec is not None
        user = f"user {os.environ.get('USER') or 'root'}\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"{user}persistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"
            "per_listener_settings false\nallow_anonymous false\n"
            f"plugin {DYNSEC_PLUGIN}\nplugin_opt_config_file {self.dynsec}\n"
            f"listener {self.port} 127.0.0.1\n"
            f"certfile {self.tls.cert}\nkeyfile {self.tls.key}\n"
        )
        with (self.folder / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while True:
            assert self.process.poll() is None, f"mosquitto exited: {self.log()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                assert time.monotonic() < deadline, f"mosquitto did not listen: {self.log()}"
                time.sleep(0.02)


@pytest.mark.skipif(not DYNSEC_PLUGIN.exists(), reason="mosquitto's dynsec plugin is missing")
def test_the_dynsec_file_holds_the_same_grants(tmp_path: Path, tls_files: TlsFiles) -> None:
    dynsec = tmp_path / "dynsec.json"
    status, _acl = _write_acl(tmp_path, "--dynsec", str(dynsec))
    assert status == 0
    document = json.loads(dynsec.read_text(encoding="utf-8"))
    # Passwords as the broker's admin sets them; kiosk-02 has one but is on no list.
    document["clients"].append({"username": "kiosk-02", "roles": []})
    dynsec.write_text(json.dumps(_hashed(document, PASSWORDS)), encoding="utf-8")
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = DynsecBroker(folder, tls_files, dynsec=dynsec)
    broker.start()
    clients: list[Client] = []
    try:
        central = Client(broker, "muontra_central", ["muontra/v1/#"])
        clients.append(central)
        kiosk_01 = Client(broker, "kiosk-01", [f"{BASE}/kiosk-01/commands/+"])
        gate = Client(broker, "gate-01", [f"{BASE}/+/events/checkout"])
        stranger = Client(broker, "kiosk-02", [])
        clients += [kiosk_01, gate, stranger]
        # Forbidden: commands from devices, posing as another, posting while on no list.
        gate.publish(f"{BASE}/kiosk-01/commands/unlock", command("kiosk-01", "unlock"))
        kiosk_01.publish(f"{BASE}/kiosk-01/commands/unlock", command("kiosk-01", "unlock"))
        kiosk_01.publish(f"{BASE}/gate-01/events/alarm", b"{}")
        stranger.publish(f"{BASE}/kiosk-02/events/checkout", checkout("kiosk-02", "L0009"))
        # Allowed: central's command, the kiosk's own checkout.
        central.publish(f"{BASE}/kiosk-01/commands/lock", command("kiosk-01", "lock"))
        own = f"{BASE}/kiosk-01/events/checkout"
        kiosk_01.publish(own, checkout("kiosk-01", "L0001"))
        kiosk_01.wait(lambda: bool(kiosk_01.topics()), "central's command")
        assert kiosk_01.topics() == [f"{BASE}/kiosk-01/commands/lock"]
        for client in (central, gate):
            client.wait(lambda c=client: own in c.topics(), "kiosk-01's own event")  # type: ignore[misc]
        assert central.topics() == [f"{BASE}/kiosk-01/commands/lock", own]
        assert gate.topics() == [own]
    finally:
        for client in clients:
            client.close()
        broker.stop()
