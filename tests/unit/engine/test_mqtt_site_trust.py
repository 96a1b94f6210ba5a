"""Which kiosks a gate believes: the filter, its bounded logging, and the config rule."""

from __future__ import annotations

import logging

import pytest

from engine.config import ConfigError, parse_config
from engine.mqtt.site_trust import LOG_EVERY, TrustedSenders
from protocols.mqtt.payloads import Envelope, Event

SITE = "VN-HN0001"


def event(device: str, site: str = SITE) -> Event:
    return Event(
        Envelope("a" * 32, "2026-11-25T08:30:00.000Z", device, site),
        "checkout",
        {"item_id": "30001", "outcome": "checked_out", "patron_ref": "p-0123456789abcdef"},
    )


def test_only_listed_devices_of_the_site_pass(caplog: pytest.LogCaptureFixture) -> None:
    passed: list[str] = []
    now = [0.0]
    trust = TrustedSenders(
        SITE, ["kiosk-01"], lambda kind, e: passed.append(e.envelope.device), clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING):
        trust("checkout", event("kiosk-01"))
        trust("checkout", event("kiosk-01", "VN-HCM0002"))  # the same id at another site
        for _ in range(500):  # a flood from an invented device: one log line
            trust("checkout", event("kiosk-99"))
        now[0] += LOG_EVERY
        trust("checkout", event("kiosk-99"))
    assert passed == ["kiosk-01"]
    assert trust.ignored == 502
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "VN-HCM0002/kiosk-01" in lines[0] and "VN-HN0001/kiosk-99" in lines[1]
    assert "499 more" in lines[2]
    assert not any("p-0123456789abcdef" in line or "30001" in line for line in lines)


GATE = """
[device]
id = "gate-01"
site = "VN-HN0001"
role = "gate"

[ils]
url = "sip2+sim://"

[gate]
readers = ["sim://gate-a"]
alarm_outputs = []
grace_minutes = {grace}
{trusted}
[mqtt]
host = "mqtt.example.org"
"""


def test_a_gate_with_grace_on_mqtt_must_list_its_kiosks() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(GATE.format(grace=5, trusted=""))
    [problem] = error.value.problems
    assert problem.key == "gate.trusted_devices" and "grace_minutes" in problem.message
    config = parse_config(GATE.format(grace=5, trusted='trusted_devices = ["kiosk-01"]'))
    assert config.gate is not None and config.gate.trusted_devices == ["kiosk-01"]
    parse_config(GATE.format(grace=0, trusted=""))  # no grace window: nothing to trust
    with pytest.raises(ConfigError) as error:
        parse_config(GATE.format(grace=5, trusted='trusted_devices = ["Kiosk 01"]'))
    assert error.value.problems[0].key.startswith("gate.trusted_devices")
