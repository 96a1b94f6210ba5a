"""`muontra events`: the lines a person reads, and arguments refused before connecting."""

import argparse

import pytest

from engine.mqtt import cli_events
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


SORTER = Envelope(ENV.id, ENV.time, "sorter-01", "S1")


@pytest.mark.parametrize(
    ("kind", "data", "shown"),
    [
        (
            "item_sorted",
            {"item_id": "30001", "bin": "2", "reason": "transit", "destination": "FFL"},
            "Đã phân loại / Sorted: item 30001 bin 2 [transit] → FFL",
        ),
        (
            "sort_exception",
            {"bin": "X", "reason": "unreadable_tag"},
            "Thùng ngoại lệ / Exception bin: unread item bin X [unreadable_tag]",
        ),
        ("bin_full", {"bin": "1", "count": 40}, "THÙNG ĐẦY / BIN FULL: bin 1, 40 item(s)"),
        (
            "bin_emptied",
            {"bin": "1", "count": 40, "staff": "Lan"},
            "Đã làm trống thùng / Bin emptied: bin 1, 40 item(s) by Lan",
        ),
        ("belt_stopped", {"why": "jam"}, "BĂNG TẢI DỪNG / BELT STOPPED: jam"),
        ("plc_back", {"down_s": 12.4}, "PLC đã kết nối lại / PLC back after 12 s"),
        ("intake_opened", {}, "Nhận tài liệu trở lại / Intake open"),
    ],
)
def test_sorter_lines_are_bilingual(kind: str, data: dict[str, object], shown: str) -> None:
    line = cli_events.describe_event(Event(SORTER, kind, data))
    assert line.endswith("S1/sorter-01  " + shown)


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
