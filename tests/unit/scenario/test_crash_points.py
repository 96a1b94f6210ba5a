"""Crash points name a step and, with #N, the N-th time it is reached (the N-th item)."""

from __future__ import annotations

from engine.circulation.crash import _parse


def test_a_point_alone_crashes_the_first_time() -> None:
    assert _parse("checkout:ils_ok") == {"checkout:ils_ok": 1}


def test_nth_time_and_several_points() -> None:
    assert _parse("checkout:ils_ok#3, checkin:written") == {
        "checkout:ils_ok": 3,
        "checkin:written": 1,
    }


def test_nonsense_counts_mean_the_first_time_and_empty_means_none() -> None:
    assert _parse("checkout:done#x,checkout:started#0") == {
        "checkout:done": 1,
        "checkout:started": 1,
    }
    assert _parse("") == {}
