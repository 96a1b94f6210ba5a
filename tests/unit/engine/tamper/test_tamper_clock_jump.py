"""clock_jump: the wall clock against the monotonic one, injected clocks, no sleeps."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import EventBus
from engine.security.reporter import SecurityReporter
from engine.tamper.clock_jump import ClockJumpWatch


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 5_000.0

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def _watch(threshold: float = 5.0) -> tuple[ClockJumpWatch, EventBus, Clocks]:
    bus, clocks = EventBus(), Clocks()
    reporter = SecurityReporter(bus, window=60, clock=lambda: clocks.mono)
    watch = ClockJumpWatch(
        reporter, threshold=threshold, wall=lambda: clocks.wall, monotonic=lambda: clocks.mono
    )
    return watch, bus, clocks


def _security(bus: EventBus) -> list[dict[str, Any]]:
    return [e for e in bus.history() if e["event"] == "security"]


def test_time_passing_is_no_jump() -> None:
    watch, bus, clocks = _watch()
    for _ in range(100):
        clocks.tick(10)
        clocks.wall += 0.01  # NTP slewing
        assert watch.check() is None
    assert _security(bus) == []


@pytest.mark.parametrize(("jump", "direction"), [(3600.0, "forward"), (-86400.0, "backward")])
def test_a_jump_is_reported_once_with_size_and_direction(jump: float, direction: str) -> None:
    watch, bus, clocks = _watch()
    clocks.tick(10)
    clocks.wall += jump
    assert watch.check() == pytest.approx(jump)
    clocks.tick(10)
    assert watch.check() is None  # the new time is the baseline now
    (sent,) = _security(bus)
    assert sent["threat"] == "clock_jump" and sent["severity"] == "warning"
    assert sent["jump_s"] == pytest.approx(abs(jump)) and sent["direction"] == direction


def test_just_under_the_threshold_is_not_a_jump() -> None:
    watch, _bus, clocks = _watch(threshold=5.0)
    clocks.wall += 4.9
    assert watch.check() is None
    clocks.wall += 5.1
    assert watch.check() is not None


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="more than 0"):
        _watch(threshold=0)


@given(st.lists(st.floats(-1e6, 1e6).filter(lambda j: abs(abs(j) - 5.0) > 1e-3), max_size=20))
def test_reported_only_beyond_the_threshold(jumps: list[float]) -> None:
    watch, bus, clocks = _watch(threshold=5.0)
    for jump in jumps:
        clocks.tick(1)
        clocks.wall += jump
        found = watch.check()
        assert (found is not None) == (abs(jump) > 5.0)
    assert len(_security(bus)) <= len(jumps)
