"""Link attacks seen by a device (issue 15), against real peers on loopback: the ILS
simulator refusing the SIP2 login or showing a certificate that does not verify, and a
real mosquitto refusing the device's login (then taking it) or showing a certificate the
device cannot verify. The events go bus -> bridge -> outbox and reach the broker once it
takes the device."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import load_config
from engine.events import EventBus
from engine.mqtt.link import LinkState
from engine.mqtt.service import start_mqtt
from tests.conftest import TlsFiles
from tests.engine.harness import Kiosk, wait_for, write_config
from tests.integration.sim_helpers import running_sim
from tests.integration.test_mqtt_link import MOSQUITTO, MOSQUITTO_PASSWD, Broker, Watcher

ACCOUNTS = {"kiosk": "secret"}
SITE_KEY = "k" * 64
PASSWORD_ENV = "MUONTRA_TEST_BROKER_PASSWORD"

needs_mosquitto = pytest.mark.skipif(
    not Path(MOSQUITTO).exists() or MOSQUITTO_PASSWD is None,
    reason="mosquitto is not installed (scripts/apt-packages.txt)",
)


def security(bus: EventBus, threat: str) -> list[dict[str, Any]]:
    return [e for e in bus.history() if e["event"] == "security" and e["threat"] == threat]


def point_ils_at(path: Path, url: str) -> None:
    """Set the [ils] url of the config at ``path``: exactly one line is replaced, or the test
    fails here (a silent miss once left every test below talking to the harness's port 1)."""
    text, replaced = re.subn(r'(?m)^url = "sip2://[^"]*"$', f'url = "{url}"', path.read_text())
    assert replaced == 1, f"{path} has {replaced} [ils] url lines, not 1"
    path.write_text(text)


def kiosk_on(tmp_path: Path, url: str) -> Kiosk:
    """A kiosk whose [ils] url is ``url`` (the harness's file otherwise)."""
    path = write_config(tmp_path, 1)
    point_ils_at(path, url)
    return Kiosk(path)


# --- the ILS ---------------------------------------------------------------------------------


def test_a_refused_sip2_login_is_a_security_event(tmp_path: Path) -> None:
    with running_sim(accounts=ACCOUNTS) as sim:
        kiosk = kiosk_on(
            tmp_path, f"sip2://kiosk:wrong@127.0.0.1:{sim.port}?institution=MUONTRA&timeout=2"
        )
        try:
            [refused] = security(kiosk.engine.bus, "sip2_login_refused")
            assert refused["severity"] == "warning"
            assert "wrong" not in json.dumps(refused) and "kiosk" not in json.dumps(refused)
        finally:
            kiosk.close()


def test_the_right_sip2_login_is_not_one(tmp_path: Path) -> None:
    with running_sim(accounts=ACCOUNTS) as sim:
        kiosk = kiosk_on(
            tmp_path, f"sip2://kiosk:secret@127.0.0.1:{sim.port}?institution=MUONTRA&timeout=2"
        )
        try:
            assert kiosk.engine.circulation.ils_online
            assert [e for e in kiosk.engine.bus.history() if e["event"] == "security"] == []
        finally:
            kiosk.close()


def test_an_ils_certificate_that_does_not_verify(tmp_path: Path, tls_files: TlsFiles) -> None:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tls_files.cert, tls_files.key)
    with running_sim(accounts=ACCOUNTS, ssl_context=server) as sim:
        # tls=1 with the system's CAs: the simulator's self-signed certificate fails.
        url = f"sip2://kiosk:secret@127.0.0.1:{sim.port}?institution=MUONTRA&timeout=2&tls=1"
        kiosk = kiosk_on(tmp_path, url + "&retries=1")
        try:
            assert not kiosk.engine.circulation.ils_online
            [tls] = security(kiosk.engine.bus, "tls_unverified")
            assert (tls["part"], tls["severity"]) == ("ils", "critical")
            assert tls["detail"] == "self_signed"
        finally:
            kiosk.close()


# --- the broker ------------------------------------------------------------------------------


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


def device_config(tmp_path: Path, broker: Broker, *, ca: bool = True, failures: int = 2) -> Path:
    """A kiosk's file with [mqtt] on ``broker`` (its password from PASSWORD_ENV)."""
    path = write_config(tmp_path, 1)
    text = path.read_text().replace(
        'role = "self-checkout"', 'role = "self-checkout"\nsite_key_env = "MUONTRA_TEST_SITE_KEY"'
    )
    text = text.replace('site = "MUONTRA"', 'site = "VN-HN0001"').replace(
        'id = "kiosk-test"', 'id = "kiosk-01"'
    )
    ca_line = f'ca_file = "{broker.tls.cert}"\n' if ca else ""
    path.write_text(
        text
        + f"""
[mqtt]
host = "{"localhost" if ca else "127.0.0.1"}"
port = {broker.port}
{ca_line}username = "kiosk-01"
password_env = "{PASSWORD_ENV}"

[detection]
mqtt_login_failures = {failures}
"""
    )
    return path


@needs_mosquitto
def test_mqtt_login_refused_then_accepted_delivers_the_event(
    tmp_path: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUONTRA_TEST_SITE_KEY", SITE_KEY)
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    config = load_config(device_config(tmp_path, broker, failures=2))
    watcher = Watcher(broker, ["muontra/v1/VN-HN0001/kiosk-01/events/security"])
    bus = EventBus()
    service = start_mqtt(config, bus, None)
    assert service is not None
    try:
        assert service.link.wait_state(LinkState.AUTH_FAILED, timeout=20)
        wait_for(lambda: security(bus, "mqtt_login_failed"), 30, "mqtt_login_failed")
        [failed] = security(bus, "mqtt_login_failed")
        assert failed["count"] >= 2 and failed["severity"] == "warning"
        wait_for(lambda: service.outbox.count() >= 1, 10, "the event in the outbox")
        assert watcher.messages == []  # the broker refuses us: nothing can have gone out
        # The broker's password file now holds the device's password (staff fixed it).
        broker.set_users({"kiosk-01": "not-the-password", "watcher": "watcher-secret"})
        assert service.link.wait_state(LinkState.ONLINE, timeout=40)
        watcher.wait(lambda: len(watcher.messages) >= 1, "the security event at central")
        topic, payload, _ = watcher.messages[0]
        body = json.loads(payload)
        assert topic.endswith("/events/security") and body["event"] == "security"
        assert body["threat"] == "mqtt_login_failed" and body["severity"] == "warning"
        assert body["count"] >= 2
        assert "not-the-password" not in payload.decode()
    finally:
        service.stop()
        watcher.close()


@needs_mosquitto
def test_a_broker_certificate_that_does_not_verify(
    tmp_path: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUONTRA_TEST_SITE_KEY", SITE_KEY)
    monkeypatch.setenv(PASSWORD_ENV, "kiosk-secret")
    config = load_config(device_config(tmp_path, broker, ca=False))
    bus = EventBus()
    service = start_mqtt(config, bus, None)
    assert service is not None
    try:
        wait_for(lambda: security(bus, "tls_unverified"), 20, "tls_unverified")
        [tls] = security(bus, "tls_unverified")
        assert (tls["part"], tls["severity"]) == ("broker", "critical")
        assert tls["detail"] in ("self_signed", "unknown_issuer")
        assert service.link.state is not LinkState.ONLINE
        wait_for(lambda: service.outbox.count() >= 1, 10, "the event kept in the outbox")
    finally:
        service.stop()


@needs_mosquitto
def test_muontra_kiosk_reports_a_login_refused_at_its_start(
    tmp_path: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon starts MQTT before the engine: the refusal its start meets is not lost."""
    from tests.engine.harness import KioskProcess

    with running_sim(accounts=ACCOUNTS) as sim:
        path = device_config(tmp_path, broker)
        point_ils_at(path, f"sip2://kiosk:wrong@127.0.0.1:{sim.port}?institution=MUONTRA&timeout=2")
        watcher = Watcher(broker, ["muontra/v1/VN-HN0001/kiosk-01/events/security"])
        env = {"MUONTRA_TEST_SITE_KEY": SITE_KEY, PASSWORD_ENV: "kiosk-secret"}
        kiosk = KioskProcess(path, tmp_path / "kiosk.sock", env)
        try:
            watcher.wait(lambda: len(watcher.messages) >= 1, "sip2_login_refused at central")
            body = json.loads(watcher.messages[0][1])
            assert body["threat"] == "sip2_login_refused" and body["device"] == "kiosk-01"
            assert "wrong" not in watcher.messages[0][1].decode()
        finally:
            kiosk.stop()
            watcher.close()
