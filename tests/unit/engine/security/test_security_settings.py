"""The [detection] section: defaults, bounds, and a misspelt key named with its line."""

from __future__ import annotations

import pytest

from engine.config import ConfigError, parse_config

BASE = """[device]
id = "kiosk-01"
site = "VN-HN0001"

[ils]
url = "sip2+sim://"

[devices]
pad = "sim://pad"
"""


def test_defaults_without_the_section() -> None:
    detection = parse_config(BASE).detection
    assert detection.pin_guessing_cards == 5 and detection.pin_guessing_window == 600
    assert detection.unknown_item_repeats == 3 and detection.mqtt_login_failures == 3
    assert detection.api_users == ["muontra-ui"]


def test_values_are_read() -> None:
    detection = parse_config(
        BASE + '\n[detection]\npin_guessing_cards = 3\napi_users = ["kiosk-tools", "1001"]\n'
    ).detection
    assert detection.pin_guessing_cards == 3
    assert detection.api_users == ["kiosk-tools", "1001"]


@pytest.mark.parametrize(
    ("line", "key", "says"),
    [
        (
            "pin_guesing_cards = 3",
            "detection.pin_guesing_cards",
            "did you mean 'pin_guessing_cards'",
        ),
        ("pin_guessing_cards = 1", "detection.pin_guessing_cards", "greater than or equal to 2"),
        ("report_window = 0", "detection.report_window", "greater than 0"),
        ('api_users = ["a user"]', "detection.api_users", "pattern"),
    ],
)
def test_a_wrong_key_or_value_is_named_with_its_line(line: str, key: str, says: str) -> None:
    text = BASE + "\n[detection]\n" + line + "\n"
    with pytest.raises(ConfigError) as failed:
        parse_config(text)
    [problem] = failed.value.problems
    assert problem.key.startswith(key) and says in problem.message
    assert problem.line == text.splitlines().index(line) + 1
