"""Counting people through the gate with two light beams: pure state machine.

Beam A is on the outside, beam B on the inside. Someone walking in breaks A
first and leaves B last; walking out, the other way round. Real beams are
noisy, so:

- a break shorter than ``debounce`` (a swinging bag strap, a flicker) is ignored;
- a gap shorter than ``debounce`` inside a break (between a person's legs) does
  not end it;
- a pass ends only when both beams have been clear for ``debounce``, and counts
  only when both beams were broken and the beam broken first is not the one
  left last. Someone who steps into the gate and turns back is an *aborted*
  pass, kept apart so staff can see it but never counted as in or out.

Fed :class:`drivers.interfaces.InputEvent` (name, active, timestamp) in time
order, plus :meth:`PeopleCounter.tick` so a pass ends even when no further
event comes. No clock is read here.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from drivers.interfaces import InputEvent


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class PeoplePass:
    direction: Direction
    started: float
    ended: float


@dataclass(frozen=True, slots=True)
class PeopleCounts:
    entered: int = 0
    left: int = 0
    aborted: int = 0


@dataclass(slots=True)
class _Beam:
    """The breaks of one beam during the current pass, gaps shorter than debounce merged."""

    breaks: list[list[float]] = field(default_factory=list)
    """[start, end] pairs; end is inf while the beam is still broken."""

    @property
    def blocked(self) -> bool:
        return bool(self.breaks) and self.breaks[-1][1] == float("inf")

    def valid(self, debounce: float) -> list[list[float]]:
        return [b for b in self.breaks if b[1] - b[0] >= debounce]


class PeopleCounter:
    """Turns beam changes into passes; keeps the recent passes for :meth:`counts`."""

    def __init__(
        self,
        outside: str = "beam_a",
        inside: str = "beam_b",
        debounce: float = 0.03,
        keep: int = 100_000,
    ) -> None:
        self.outside = outside
        self.inside = inside
        self.debounce = debounce
        self._beams = {outside: _Beam(), inside: _Beam()}
        self._passes: deque[PeoplePass] = deque(maxlen=keep)

    # --- input ---------------------------------------------------------------------------

    def feed(self, event: InputEvent) -> list[PeoplePass]:
        """Passes completed by the time of ``event`` (usually none or one)."""
        beam = self._beams.get(event.name)
        if beam is None:
            return []
        done = self.tick(event.timestamp)
        if event.active:
            if beam.blocked:
                return done
            last = beam.breaks[-1] if beam.breaks else None
            if last is not None and event.timestamp - last[1] < self.debounce:
                last[1] = float("inf")  # a short gap: the same break goes on
            else:
                beam.breaks.append([event.timestamp, float("inf")])
        elif beam.blocked:
            beam.breaks[-1][1] = event.timestamp
        return done

    def tick(self, now: float) -> list[PeoplePass]:
        """End the current pass if both beams have been clear for ``debounce`` by ``now``."""
        beams = self._beams.values()
        if not any(b.breaks for b in beams) or any(b.blocked for b in beams):
            return []
        cleared = max(b.breaks[-1][1] for b in beams if b.breaks)
        if now - cleared < self.debounce:
            return []
        result = self._finish()
        for beam in beams:
            beam.breaks.clear()
        if result is None:
            return []
        self._passes.append(result)
        return [result]

    def _finish(self) -> PeoplePass | None:
        outside = self._beams[self.outside].valid(self.debounce)
        inside = self._beams[self.inside].valid(self.debounce)
        if not outside and not inside:
            return None  # flicker only
        starts = [b[0] for b in outside + inside]
        ends = [b[1] for b in outside + inside]
        if not (outside and inside):
            return PeoplePass(Direction.ABORTED, min(starts), max(ends))
        first_outside = outside[0][0] < inside[0][0]
        first_inside = inside[0][0] < outside[0][0]
        last_inside = inside[-1][1] > outside[-1][1]
        last_outside = outside[-1][1] > inside[-1][1]
        if first_outside and last_inside:
            direction = Direction.IN
        elif first_inside and last_outside:
            direction = Direction.OUT
        else:
            direction = Direction.ABORTED  # turned back, or a tie nobody can read
        return PeoplePass(direction, min(starts), max(ends))

    # --- output --------------------------------------------------------------------------

    def heading(self) -> Direction | None:
        """Direction of the pass under way, from the beam broken first (for an alarm)."""
        outside = self._beams[self.outside].breaks
        inside = self._beams[self.inside].breaks
        if outside and (not inside or outside[0][0] < inside[0][0]):
            return Direction.IN
        if inside:
            return Direction.OUT
        return None

    def last_pass(self) -> PeoplePass | None:
        return self._passes[-1] if self._passes else None

    def counts(self, since: float, until: float = float("inf")) -> PeopleCounts:
        """Passes that ended in [since, until)."""
        chosen = [p.direction for p in self._passes if since <= p.ended < until]
        return PeopleCounts(
            entered=chosen.count(Direction.IN),
            left=chosen.count(Direction.OUT),
            aborted=chosen.count(Direction.ABORTED),
        )
