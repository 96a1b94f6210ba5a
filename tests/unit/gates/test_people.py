"""The people counter as a pure state machine: beam events with explicit timestamps."""

from __future__ import annotations

from drivers.interfaces import InputEvent
from gates.people import Direction, PeopleCounter, PeopleCounts, PeoplePass

A, B = "beam_a", "beam_b"


def run(counter: PeopleCounter, *steps: tuple[str, bool, float]) -> list[PeoplePass]:
    passes: list[PeoplePass] = []
    for name, active, at in steps:
        passes += counter.feed(InputEvent(name, active, at))
    last = steps[-1][2] if steps else 0.0
    passes += counter.tick(last + 1.0)
    return passes


def walk(start: float, first: str, second: str, step: float = 0.2) -> list[tuple[str, bool, float]]:
    return [
        (first, True, start),
        (second, True, start + step),
        (first, False, start + 2 * step),
        (second, False, start + 3 * step),
    ]


def test_walking_in_and_out() -> None:
    counter = PeopleCounter()
    (entered,) = run(counter, *walk(0.0, A, B))
    assert entered.direction is Direction.IN
    assert entered.started == 0.0
    assert abs(entered.ended - 0.6) < 1e-9
    (left,) = run(counter, *walk(5.0, B, A))
    assert left.direction is Direction.OUT
    assert counter.counts(0.0) == PeopleCounts(entered=1, left=1, aborted=0)
    assert counter.counts(1.0) == PeopleCounts(entered=0, left=1, aborted=0)
    assert counter.counts(0.0, until=1.0) == PeopleCounts(entered=1)


def test_a_fast_walker_is_counted() -> None:
    assert [p.direction for p in run(PeopleCounter(), *walk(0.0, A, B, step=0.04))] == [
        Direction.IN
    ]


def test_flicker_is_ignored() -> None:
    counter = PeopleCounter(debounce=0.03)
    assert run(counter, (A, True, 0.0), (A, False, 0.01)) == []
    assert run(counter, (B, True, 3.0), (B, False, 3.02), (A, True, 3.04), (A, False, 3.05)) == []
    assert counter.counts(0.0) == PeopleCounts()


def test_flicker_of_the_other_beam_does_not_set_the_direction() -> None:
    counter = PeopleCounter(debounce=0.03)
    steps = [(B, True, 0.0), (B, False, 0.005), *walk(0.1, A, B)]
    assert [p.direction for p in run(counter, *steps)] == [Direction.IN]


def test_a_short_gap_between_legs_does_not_end_the_break() -> None:
    counter = PeopleCounter(debounce=0.03)
    steps = [
        (A, True, 0.0),
        (A, False, 0.10),
        (A, True, 0.11),  # 10 ms gap
        (B, True, 0.20),
        (A, False, 0.30),
        (B, False, 0.40),
    ]
    assert [p.direction for p in run(counter, *steps)] == [Direction.IN]


def test_a_pass_ends_only_when_both_beams_are_clear() -> None:
    counter = PeopleCounter()
    assert counter.feed(InputEvent(A, True, 0.0)) == []
    assert counter.feed(InputEvent(B, True, 0.2)) == []
    assert counter.feed(InputEvent(A, False, 0.4)) == []
    assert counter.tick(5.0) == []  # someone standing in beam B
    assert counter.heading() is Direction.IN
    assert counter.feed(InputEvent(B, False, 6.0)) == []
    assert counter.tick(6.01) == []  # not yet clear for the debounce time
    (done,) = counter.tick(6.1)
    assert done.direction is Direction.IN
    assert counter.heading() is None


def test_half_pass_is_aborted_not_counted() -> None:
    counter = PeopleCounter()
    (half,) = run(counter, (A, True, 0.0), (A, False, 0.5))
    assert half.direction is Direction.ABORTED
    assert counter.counts(0.0) == PeopleCounts(aborted=1)


def test_turning_back_is_aborted() -> None:
    counter = PeopleCounter()
    steps = [(A, True, 0.0), (B, True, 0.2), (B, False, 0.4), (A, False, 0.6)]
    assert [p.direction for p in run(counter, *steps)] == [Direction.ABORTED]


def test_heading_going_out() -> None:
    counter = PeopleCounter()
    counter.feed(InputEvent(B, True, 0.0))
    assert counter.heading() is Direction.OUT


def test_two_people_one_after_the_other() -> None:
    counter = PeopleCounter()
    passes = run(counter, *walk(0.0, A, B), *walk(1.0, A, B), *walk(2.0, B, A))
    assert [p.direction for p in passes] == [Direction.IN, Direction.IN, Direction.OUT]
    assert counter.last_pass() == passes[-1]


def test_other_inputs_are_ignored() -> None:
    counter = PeopleCounter()
    assert counter.feed(InputEvent("bin_full", True, 0.0)) == []
    assert counter.tick(1.0) == []
