"""Opening hours: per weekday, in the site's wall time, spans checked with clear errors."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.tamper.hours import OpeningHours, parse_span

HOURS = OpeningHours.parse({"mon": ["08:00-12:00", "13:30-20:00"], "sat": ["09:00-24:00"]})


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        (datetime(2026, 12, 7, 7, 59), False),  # a Monday, before opening
        (datetime(2026, 12, 7, 8, 0), True),
        (datetime(2026, 12, 7, 12, 0), False),  # lunch: the end is not included
        (datetime(2026, 12, 7, 13, 30), True),
        (datetime(2026, 12, 7, 19, 59, 59), True),
        (datetime(2026, 12, 8, 10, 0), False),  # Tuesday is not listed: closed
        (datetime(2026, 12, 12, 23, 59, 59), True),  # Saturday open until midnight
        (datetime(2026, 12, 13, 0, 0), False),  # Sunday
    ],
)
def test_spans_per_weekday(when: datetime, open_: bool) -> None:
    assert HOURS.is_open(when) is open_


def test_no_table_is_always_open() -> None:
    assert OpeningHours.parse({}).is_open(datetime(2026, 12, 13, 3, 0))
    assert OpeningHours.parse(None).is_open(datetime(2027, 1, 1, 0, 0))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"monday": ["08:00-20:00"]}, "not a weekday: monday"),
        ({"mon": ["8-20"]}, "is not HH:MM-HH:MM"),
        ({"mon": ["20:00-08:00"]}, "ends before it starts"),
        ({"mon": ["08:00-24:30"]}, "24:00 is the latest end"),
        ({"mon": ["08:00-08:00"]}, "ends before it starts"),
    ],
)
def test_bad_tables_say_what_is_wrong(table: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpeningHours.parse(table)


@given(st.text(max_size=30))
def test_any_span_text_parses_or_raises_value_error(text: str) -> None:
    try:
        start, end = parse_span(text)
    except ValueError:
        return
    assert end is None or start < end
