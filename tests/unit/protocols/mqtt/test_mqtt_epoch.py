"""epoch_of: a payload's time back to epoch seconds (what a command's age is measured from)."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from protocols.mqtt.payloads import PayloadError, epoch_of, iso_time


def test_exact_values() -> None:
    assert epoch_of("1970-01-01T00:00:00.000Z") == 0.0
    assert epoch_of("2025-11-25T08:30:00.250Z") == 1764059400.25
    assert epoch_of("2020-03-01T08:00:00Z") == 1583049600.0


@given(st.floats(min_value=0, max_value=253402300799.0))
# Drawn by chance in a random run (a failure of this test before it allowed for datetime's
# own rounding): 0.4 microseconds below a millisecond is written as that millisecond.
@example(epoch=1.9999996)
def test_round_trip_to_the_millisecond(epoch: float) -> None:
    # iso_time keeps whole milliseconds (cut, not rounded) of the time datetime holds,
    # which is the epoch rounded to the microsecond: back within one millisecond, and
    # ahead by at most half a microsecond (and a float's spacing at that epoch).
    assert -(0.5e-6 + math.ulp(epoch)) <= epoch - epoch_of(iso_time(epoch)) < 0.0011


@pytest.mark.parametrize(
    "text",
    ["", "2025-11-25T08:30:00.250", "2025-11-25 08:30:00Z", "2025-02-30T08:30:00Z", "now"],
)
def test_what_is_not_a_schema_time_is_refused(text: str) -> None:
    with pytest.raises(PayloadError):
        epoch_of(text)


@given(st.one_of(st.text(max_size=40), st.integers(), st.none(), st.binary(max_size=20)))
def test_fuzzed_input_raises_only_payload_error(value: object) -> None:
    with contextlib.suppress(PayloadError):
        epoch_of(value)  # type: ignore[arg-type]
