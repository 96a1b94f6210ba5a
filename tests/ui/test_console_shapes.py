"""What the console reads out of central's rows: times, health, bins, per-hour series."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ui.console import shapes
from ui.console.texts import CATALOG, LANGUAGES


def test_per_hour_sums_every_device_in_core_long_form() -> None:
    rows = [
        {"device": "k1", "hour": "2027-01-15T09:00:00", "metric": "checkout", "count": 5},
        {"device": "k2", "hour": "2027-01-15T09:00:00", "metric": "checkout", "count": 2},
        {"device": "s1", "hour": "2027-01-15T09:00:00", "metric": "checkin", "count": 4},
        {"device": "g1", "hour": "2027-01-15T23:00:00", "metric": "gate_out", "count": 9},
        {"device": "s1", "hour": "2027-01-15T09:00:00", "metric": "sorted", "key": "1", "count": 4},
    ]
    local = {h: datetime(2027, 1, 15, h, tzinfo=UTC).astimezone().hour for h in (9, 23)}
    series = shapes.per_hour(rows)
    assert series["checkouts"][local[9]] == 7
    assert series["returns"][local[9]] == 4
    assert series["people_out"][local[23]] == 9
    assert shapes.totals(series) == {"checkouts": 7, "returns": 4, "people_in": 0, "people_out": 9}


def test_per_hour_wide_form_with_an_hour_number() -> None:
    series = shapes.per_hour([{"hour": 14, "checkouts": 3, "returns": 1, "people_in": 8}])
    assert (series["checkouts"][14], series["returns"][14], series["people_in"][14]) == (3, 1, 8)


def test_health_readers_queues_and_bins() -> None:
    device = {
        "state": "offline",
        "state_since": 1_800_000_000,
        "readers": {"pad": {"state": "lost"}, "bin2": "full"},
        "queues": {"outbox": 3},
    }
    assert shapes.online(device) is False
    assert shapes.online({}) is None
    assert shapes.parts_text(device["readers"]) == "bin2: full, pad: lost"
    assert shapes.readers_ok(device["readers"]) is False
    assert shapes.queue_text(device) == "outbox: 3"
    assert shapes.bins(device) == [("bin2", "", "full")]
    assert shapes.bins({"bins": {"1": {"fill": 4, "state": "ok"}}}) == [("1", "4", "ok")]


any_json: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "state",
                "state_since",
                "readers",
                "queues",
                "bins",
                "ils",
                "hour",
                "metric",
                "count",
                "checkouts",
                "raised",
            ]
        ),
        any_json,
        max_size=8,
    )
)
def test_hostile_rows_never_crash(row: dict[str, Any]) -> None:
    shapes.online(row)
    shapes.parts_text(row.get("readers"))
    shapes.readers_ok(row.get("readers"))
    shapes.ils_text(row)
    shapes.queue_text(row)
    shapes.bins(row)
    shapes.clock_text(row.get("raised"))
    series = shapes.per_hour([row])
    assert all(len(values) == 24 for values in series.values())


def test_every_console_word_is_in_both_languages() -> None:
    for key, words in CATALOG.items():
        assert set(words) == set(LANGUAGES), key
        assert all(words[lang].strip() for lang in LANGUAGES), key
        fields = [list(string.Formatter().parse(words[lang])) for lang in LANGUAGES]
        names = [{f[1] for f in parsed if f[1]} for parsed in fields]
        assert names[0] == names[1], key  # the same blanks to fill in each language
