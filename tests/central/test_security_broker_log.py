"""Refused MQTT logins, read from mosquitto's own log on $SYS/broker/log/N (central/broker_log.py):
the line as the installed mosquitto writes it, a threshold within a window, and one alert on a
real broker that counts further refusals; nothing else in the log counts."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from central.accounts import create_staff
from central.api import issue_token
from central.broker_log import RefusedLogins, is_refusal
from central.db import sessions
from central.service import CentralService
from central.settings import CentralSettings
from engine.mqtt.paho_loop import stop_loop
from tests.central.conftest import USERS, CentralBroker
from tests.central.helpers import SITE
from tests.central.test_ingest import mqtt_settings
from tests.central.test_security_wired import read_until, sse
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_link import MOSQUITTO


def test_the_refusal_line_and_nothing_else() -> None:
    assert is_refusal(b"1796256241: Client <unknown> disconnected, not authorised.")
    assert is_refusal(b"1796256241: Client kiosk-01 disconnected, not authorised.\n")
    for other in (
        b"1796256241: New connection from 127.0.0.1:50206 on port 18839.",
        b"1796256241: Client kiosk-01 disconnected.",
        b"1796256241: Client kiosk-01 has exceeded timeout, disconnecting.",
        b"Client <unknown> disconnected, not authorised.",  # no time: not mosquitto's line
        b"1: Client a disconnected, not authorised. and more",
        b"1: Client " + b"x" * 2000 + b" disconnected, not authorised.",
    ):
        assert not is_refusal(other), other


@given(st.binary(max_size=200))
def test_any_log_payload_is_judged_without_error(payload: bytes) -> None:
    assert is_refusal(payload) in (True, False)


def test_refusals_count_within_the_window() -> None:
    count = RefusedLogins(3, 60)
    assert [count.refused(t) for t in (0, 10, 20)] == [0, 0, 3]
    assert count.refused(25) == 4
    assert count.refused(200) == 0  # the others are older than the window
    assert RefusedLogins(0, 60).refused(0) == 0  # off
    flood = RefusedLogins(2, 1e9)
    assert max(flood.refused(float(t)) for t in range(100_000)) == 8  # bounded memory


class LoggingBroker(CentralBroker):
    """mosquitto publishing its own log on $SYS/broker/log/… (``log_dest topic``)."""

    def start(self) -> None:
        if not self.passwords.exists():
            self.set_users(self.users)
        user = f"user {os.environ.get('USER') or 'root'}\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"{user}"
            "persistence false\n"
            "log_dest topic\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "allow_anonymous false\n"
            f"password_file {self.passwords}\n"
            f"listener {self.port} 127.0.0.1\n"
            f"certfile {self.tls.cert}\n"
            f"keyfile {self.tls.key}\n"
        )
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("mosquitto exited")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not listen") from None
                time.sleep(0.02)


@pytest.fixture
def broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[LoggingBroker]:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (scripts/apt-packages.txt)")
    folder = tmp_path / "broker"
    folder.mkdir()
    made = LoggingBroker(folder, tls_files, users=dict(USERS))
    made.start()
    try:
        yield made
    finally:
        made.stop()


def login(broker: CentralBroker, user: str, password: str) -> bool:
    """One login attempt; True if the broker took it."""
    answered = threading.Event()
    result: list[bool] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        result.append(not reason.is_failure)
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"try-{user}-{time.monotonic_ns()}")
    client.tls_set(ca_certs=str(broker.tls.cert))
    client.username_pw_set(user, password)
    client.on_connect = on_connect
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert answered.wait(20), "the broker never answered"
        return result[0]
    finally:
        client.disconnect()
        stop_loop(client)


def test_many_refused_logins_raise_one_alert_that_counts(
    broker: LoggingBroker, engine: Engine
) -> None:
    made = sessions(engine)
    with made() as session:
        create_staff(session, "lan", "Lan", "desk", "0123456789ab", site=SITE, now=0)
        token = issue_token(session, "console", staff_login="lan", now=0)
        session.commit()
    settings = CentralSettings(
        mqtt=mqtt_settings(broker, "central-log"),
        api={"enabled": True, "port": 0},  # type: ignore[arg-type]
        alerts={"broker_refusals": 3, "broker_site": SITE},  # type: ignore[arg-type]
    )
    service = CentralService(settings, engine)
    service.start()
    try:
        # The ingest's, the commands' and the log's subscriptions.
        assert service.ingest.wait_subscribed(20, connections=3)
        assert service.staff.api is not None
        connection = http.client.HTTPConnection("127.0.0.1", service.staff.api.port, timeout=20)
        connection.request(
            "GET", f"/v1/stream?site={SITE}", headers={"Authorization": f"Bearer {token}"}
        )
        stream = connection.getresponse()
        assert stream.status == 200
        # Good logins are in the log too, and count for nothing.
        assert login(broker, "device", USERS["device"])
        assert not login(broker, "device", "guess-1")
        assert not login(broker, "kiosk-99", "guess-2")
        assert login(broker, "device", USERS["device"])
        assert not login(broker, "device", "guess-3")
        [(kind, alert)] = read_until(stream, bool)
        assert (kind, alert["rule"], alert["site"], alert["device"]) == (
            "alert",
            "broker_logins_refused",
            SITE,
            "broker",
        )
        assert alert["count"] == 3 and alert["severity"] == "warning"
        assert alert["evidence"] == {"count": 3, "window_s": 300.0}
        assert not login(broker, "device", "guess-4")
        kind, update = sse(stream)
        assert (kind, update["id"], update["count"]) == ("alert_update", alert["id"], 4)
        connection.close()
    finally:
        service.stop()
