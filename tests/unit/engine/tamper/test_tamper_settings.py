"""The [tamper] section: defaults, every problem at once with its key and line, the example."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from engine.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[4]

GATE = """\
[device]
id = "gate-01"
site = "VN-HN0001"
role = "gate"

[ils]
url = "sip2+sim://"

[gate]
readers = ["sim://gate-a"]
alarm_outputs = []
"""


def test_defaults_without_a_section() -> None:
    tamper = parse_config(GATE).tamper
    assert tamper.case_pin is None and tamper.config_check_every == 60.0
    assert tamper.hours().is_open(datetime(2026, 12, 13, 3, 0))  # no hours: always open


def test_opening_hours_as_a_subtable() -> None:
    config = parse_config(GATE + '\n[tamper.opening_hours]\nmon = ["08:00-12:00", "13:30-20:00"]\n')
    hours = config.tamper.hours()
    assert hours.is_open(datetime(2026, 12, 7, 9, 0)) and not hours.is_open(
        datetime(2026, 12, 7, 12, 30)
    )


def test_every_wrong_day_and_span_at_once_with_key_and_line() -> None:
    text = (
        GATE
        + "\n[tamper]\ncheck_every = 0\n\n[tamper.opening_hours]\n"
        + 'sunday = ["9-12"]\nmon = ["20:00-08:00"]\n'
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    problems = {p.key: p for p in caught.value.problems}
    assert set(problems) == {"tamper.check_every", "tamper.opening_hours"}
    hours = problems["tamper.opening_hours"]
    assert (
        "not a weekday: sunday" in hours.message
        and "mon: '20:00-08:00' ends before" in hours.message
    )
    assert problems["tamper.check_every"].line == 14


def test_the_gate_example_has_hours() -> None:
    config = load_config(ROOT / "config" / "gate.example.toml")
    assert config.tamper.hours().spans is not None
