"""`muontra events`: the lines a person reads, and arguments refused before connecting."""

import argparse

import pytest

from kiosk.mqtt import cli_events
from protocols.mqtt.payloads import Envelope, Event, State

ENV = Envelope("0123456789abcdef0123456789abcdef", "2026-11-25T08:30:00.250Z", "gate-a", "S1")


def test_alarm_line_is_bilingual() -> None:
    line = cli_events.describe_event(
        Event(ENV, "alarm", {"gate": "gate-a", "item_id": "30077", "title": "Số đỏ"})
    )
    assert "S1/gate-a" in line
    assert "BÁO ĐỘNG / ALARM at gate gate-a: item 30077 «Số đỏ»" in line


def test_other_lines() -> None:
    checkout = Event(ENV, "checkout", {"item_id": "1", "due_date": "2026-12-01", "offline": True})
    assert "Mượn / Checkout: item 1, due 2026-12-01 (offline)" in cli_events.describe_event(
        checkout
    )
    people = Event(ENV, "people", {"gate": "g", "counts": {"in": 3, "out": 1}})
    assert "Lượt người / People at gate g: in 3, out 1" in cli_events.describe_event(people)
    offline = State(ENV, "offline", "2026-11-25T08:00:00.000Z", "0.1.0")
    assert "MẤT KẾT NỐI / OFFLINE" in cli_events.describe_state(offline)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_events.configure(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["--broker", "http://host"],
        ["--broker", "mqtts://user:secret@host:8883"],
        ["--broker", "mqtts://host", "--site", "a/b"],
    ],
)
def test_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_events.run(_args(*argv)) == 2
    assert "secret" not in capsys.readouterr().err
