"""The device's side of signed commands without a broker: config, the guard, the texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, parse_config
from engine.config.model import secret_problems
from engine.events import EventBus
from engine.mqtt.link import LinkSettings
from engine.mqtt.signed import REFUSAL_TEXTS, CommandGuard, refusal_detail, refusal_reporter
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope
from protocols.mqtt.signing import Refusal, sign

KEY = b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
NOW = 1_800_000_000.0
CONFIG = """\
[device]
id = "kiosk-01"
site = "VN-HN0001"
site_key_env = "T_SITE_KEY"

[ils]
url = "sip2+sim://?institution=MUONTRA"

[devices]
pad = "sim://pad"

[mqtt]
host = "mqtt.example.org"
"""


def command(name: str = "lock") -> Command:
    return Command(
        Envelope(payloads.new_id(), payloads.iso_time(NOW), "kiosk-01", "VN-HN0001"), name
    )


def test_requiring_signed_commands_needs_a_key() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(CONFIG + "require_signed_commands = true\n")
    assert [p.key for p in error.value.problems] == ["mqtt.require_signed_commands"]
    with pytest.raises(ConfigError) as error:
        parse_config(CONFIG + 'command_key_env = "A"\ncommand_key_file = "b"\n')
    assert [p.key for p in error.value.problems] == ["mqtt.command_key_file"]


def test_the_key_comes_from_its_file_into_the_link(tmp_path: Path) -> None:
    key_file = tmp_path / "command.key"
    key_file.write_bytes(KEY + b"\n")
    text = CONFIG + f'require_signed_commands = true\ncommand_key_file = "{key_file}"\n'
    config = parse_config(text)
    assert config.mqtt is not None
    settings = LinkSettings.from_config(config.mqtt, config.device)
    assert (settings.command_key, settings.require_signed) == (KEY, True)
    assert "0f1e2d" not in repr(settings)  # never in a log line that prints the settings
    key_file.write_text("too short\n")
    found = secret_problems(config)
    assert any(p.key == "mqtt.command_key_file" and "32 characters" in p.message for p in found)


def test_the_guard() -> None:
    required = CommandGuard(KEY, True, max_lifetime=3600)
    assert required.check(command(), NOW) is Refusal.UNSIGNED
    assert required.check(sign(command(), KEY, NOW + 60), NOW) is None
    assert required.check(sign(command(), KEY, NOW - 31), NOW) is Refusal.EXPIRED
    assert required.check(sign(command(), KEY, NOW + 7200), NOW) is Refusal.EXPIRED
    # A key without the requirement: unsigned commands pass, signed ones are checked.
    moving = CommandGuard(KEY, False, max_lifetime=3600)
    assert moving.check(command(), NOW) is None
    assert moving.check(sign(command(), b"x" * 40, NOW + 60), NOW) is Refusal.BAD_SIGNATURE
    assert CommandGuard(None, False, 3600).check(sign(command(), b"x" * 40, NOW + 60), NOW) is None
    with pytest.raises(ValueError, match="command key"):
        CommandGuard(None, True, 3600)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        CommandGuard(b"short", False, 3600)


def test_every_refusal_says_why_in_both_languages() -> None:
    assert set(REFUSAL_TEXTS) == set(Refusal)
    for refusal, (vietnamese, english) in REFUSAL_TEXTS.items():
        assert vietnamese != english and vietnamese and english
        detail = refusal_detail(refusal)
        assert detail.startswith(f"refused ({refusal.value}): ") and detail.endswith("not run")
        assert vietnamese in detail and english in detail


def test_refusals_become_rate_limited_security_events() -> None:
    bus = EventBus()
    events = bus.subscribe()
    now = [0.0]
    report = refusal_reporter(bus, window=60, clock=lambda: now[0])
    report(Refusal.BAD_SIGNATURE)
    report(Refusal.BAD_SIGNATURE)  # within the window: counted, not published
    report(Refusal.EXPIRED)
    got = [events.get_nowait() for _ in range(events.qsize())]
    assert [(e["threat"], e["detail"], e["severity"]) for e in got] == [
        ("command_refused", "bad_signature", "critical"),
        ("command_refused", "expired", "warning"),
    ]
    # And each is a valid fleet event (the closed security schema takes it).
    for event in got:
        mapped = payloads.event_from_engine(event, "kiosk-01", "VN-HN0001")
        assert mapped is not None and mapped[0] == "events/security"
