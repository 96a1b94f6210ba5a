"""No PIN, patron id or name leaves the kiosk with its security events (issue 15).

A kiosk on simulators reports to a real mosquitto; patrons get PINs wrong on three
cards (PIN guessing), one then logs in and borrows. Every payload a subscriber of
the whole tree receives, and every log line the device's code wrote, is searched
for the demo patrons' ids, PINs and names.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.mqtt.service import MqttService, start_mqtt
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.api import CommandFailed
from tests.conftest import TlsFiles
from tests.engine.harness import Kiosk, ils_simulator, wait_for, write_config
from tests.integration.test_mqtt_link import MOSQUITTO, MOSQUITTO_PASSWD, Broker, Watcher

pytestmark = pytest.mark.skipif(
    not Path(MOSQUITTO).exists() or MOSQUITTO_PASSWD is None,
    reason="mosquitto is not installed (scripts/apt-packages.txt)",
)

# The demo patrons used (ilssim/seed.py) and the wrong PINs typed for them.
PATRONS = {
    "P0001": ("1234", "Nguyễn Thị Hương", "90817263"),
    "P0003": ("3456", "Lê Hoàng Anh", "81726354"),
    "P0004": ("4567", "Phạm Minh Châu", "72635445"),
}


@pytest.fixture
def ils(tmp_path: Path) -> Iterator[tuple[SimServerThread, Store]]:
    with ils_simulator(tmp_path / "ils.sqlite") as running:
        yield running


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


def secrets() -> list[re.Pattern[str]]:
    """What must not appear: ids, PINs (whole numbers: a short one is part of many hex
    ids), full names and the given names the screen shows."""
    found: list[re.Pattern[str]] = []
    for patron, (pin, name, wrong) in PATRONS.items():
        found += [re.compile(re.escape(text)) for text in (patron, name, name.split()[-1])]
        found += [re.compile(rf"(?<![0-9A-Za-z]){pin}(?![0-9A-Za-z])"), re.compile(wrong)]
    found.append(re.compile(re.escape(json.dumps(PATRONS["P0001"][1])[1:-1])))  # \u escaped
    return found


def test_no_pin_patron_id_or_name_in_mqtt_payloads_or_logs(
    tmp_path: Path,
    ils: tuple[SimServerThread, Store],
    broker: Broker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MUONTRA_TEST_SITE_KEY", "s" * 64)
    monkeypatch.setenv("MUONTRA_TEST_BROKER_PASSWORD", "kiosk-secret")
    path = write_config(
        tmp_path,
        ils[0].port,
        extra=f"""
[mqtt]
host = "localhost"
port = {broker.port}
ca_file = "{broker.tls.cert}"
username = "kiosk-01"
password_env = "MUONTRA_TEST_BROKER_PASSWORD"

[detection]
pin_guessing_cards = 3
""",
    )
    text = path.read_text().replace('id = "kiosk-test"', 'id = "kiosk-01"')
    text = text.replace('site = "MUONTRA"', 'site = "VN-HN0001"')
    text = text.replace(
        'role = "self-checkout"', 'role = "self-checkout"\nsite_key_env = "MUONTRA_TEST_SITE_KEY"'
    )
    path.write_text(text)
    watcher = Watcher(broker, ["muontra/#"])
    kiosk = Kiosk(path)
    service: MqttService | None = start_mqtt(kiosk.config, kiosk.engine.bus, None)
    assert service is not None
    try:
        for patron, (_, _, wrong) in PATRONS.items():
            kiosk.call("identify", method="typed", value=patron)
            with pytest.raises(CommandFailed):
                kiosk.call("pin", pin=wrong)
            kiosk.call("cancel")
        kiosk.call("identify", method="typed", value="P0001")
        assert kiosk.call("pin", pin="1234")["name"] == "Hương"  # the screen may show it
        kiosk.call("sim_place", item_id="B0001")
        kiosk.event("item", item_id="B0001", outcome="checked_out")
        kiosk.call("done")
        kiosk.call("receipt", method="none")

        def received(threat: str) -> bool:
            return any(
                t.endswith("/events/security") and json.loads(p).get("threat") == threat
                for t, p, _ in list(watcher.messages)
            )

        watcher.wait(lambda: received("pin_guessing"), "pin_guessing at the subscriber")
        watcher.wait(lambda: received("pin_wrong"), "pin_wrong at the subscriber")
        watcher.wait(
            lambda: any(t.endswith("/events/checkout") for t, _, _ in list(watcher.messages)),
            "the checkout at the subscriber",
        )
        wait_for(lambda: service.outbox.count() == 0, 20, "the outbox drained")
    finally:
        service.stop()
        kiosk.close()
        watcher.close()
    payloads = [(topic, payload.decode("utf-8")) for topic, payload, _ in watcher.messages]
    wrong_pins = [
        json.loads(p) for t, p in payloads if t.endswith("/events/security") and "pin_" in p
    ]
    # The cards are told apart by their keyed patron_ref, which is all central gets.
    assert {e["patron_ref"] for e in wrong_pins if e["threat"] == "pin_wrong"} == {
        e["patron_ref"]
        for e in kiosk.engine.bus.history()
        if e["event"] == "security" and e["threat"] == "pin_wrong"
    }
    logs = [
        f"{r.name}: {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith("ilssim")  # the ILS is entitled to its patrons
    ]
    assert any("security: pin_guessing" in line for line in logs)  # the log was captured
    for pattern in secrets():
        for topic, payload in payloads:
            assert not pattern.search(payload), f"{pattern.pattern} in {topic}: {payload}"
        for line in logs:
            assert not pattern.search(line), f"{pattern.pattern} logged: {line}"
