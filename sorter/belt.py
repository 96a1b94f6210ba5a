"""The belt's tracking: outputs, belt time, deadlines, diverters, jams, a lost controller.

Travel times are counted in *belt* time: while the belt stands still (a late
ILS under ``hold_belt``, a jam, a lost PLC) every item's schedule waits with
it, so a held item does not miss its diverter.
"""

from __future__ import annotations

import logging

from drivers.interfaces import DeviceError
from sorter import machine_texts as texts
from sorter.decision import IlsOutcome, SortInput
from sorter.flight import FIRE_LEAD, PULSE_SECONDS, TICK, InFlight, SorterState
from sorter.machine_base import SorterBase
from sorter.machine_texts import both, filled
from sorter.settings import LatePolicy
from sorter.texts import Text

log = logging.getLogger(__name__)

EARLY = 0.25
"""Seconds of slack when matching an item to the moment an eye saw something (event latency)."""


class BeltTracking(SorterBase):
    """Where each item is on the belt, and what the belt and its outputs do."""

    def _apply(self) -> None:
        """Belt and shutter as the state asks (under ``lock``); a failed command is a lost link."""
        if not self.link_up:
            self.state = SorterState.PLC_LOST
            return
        intake = self.bins.intake_open
        if self.paused:
            state = SorterState.PAUSED
        elif self.jammed:
            state = SorterState.STOPPED
        elif not intake:
            state = SorterState.INTAKE_CLOSED
        else:
            state = SorterState.RUNNING
        belt = not self.paused and not self.jammed and not self._holding
        shutter = state is SorterState.RUNNING and not self._holding
        try:
            if belt != self._belt_on:
                self.conveyor.belt(belt)
                self._belt_moved(belt)
            if shutter != self._shutter_open:
                self.conveyor.shutter(shutter)
                self._shutter_open = shutter
                self._tell_intake(shutter, state)
        except DeviceError as error:
            log.warning("conveyor command failed: %s", error)
            self._link_lost()
            return
        if state is not self.state:
            self.state = state
            self._tell_state()

    def _belt_moved(self, running: bool) -> None:
        now = self.conveyor.now()
        self._belt_on = running
        if not running:
            self._stopped_at = now
            return
        if self._stopped_at is not None:
            # Items did not move while the belt stood: their schedule moves on with it.
            shift = now - self._stopped_at
            for item in self._flight:
                item.read_at += shift
                if item.fire_at is not None:
                    item.fire_at += shift
            # An eye blocked while the belt stood is no sign of a jam.
            self._blocked = {name: since + shift for name, since in self._blocked.items()}
            self._stopped_at = None

    def _link_lost(self) -> None:
        if not self.link_up:
            return
        self.link_up = False
        self._link_lost_at = self.conveyor.now()
        # The PLC's own watchdog stops the belt and closes the shutter (its safe state).
        if self._belt_on:
            self._belt_on = False
            self._stopped_at = self.conveyor.now()
        if self._shutter_open:
            self.bus.publish("intake_closed", why="plc_lost")
        self._shutter_open = False
        self.state = SorterState.PLC_LOST
        self.bus.publish("plc_lost", why="link_lost", text=both(texts.LINK_LOST))
        self.bus.publish("belt_stopped", why="plc_lost")
        self._tell_state()

    def _link_back(self) -> None:
        if self.link_up:
            return
        self.link_up = True
        lost_at = self._link_lost_at if self._link_lost_at is not None else self.conveyor.now()
        self._items_aside(texts.LINK_REROUTED, lost_at)
        self.bus.publish("plc_back", down_s=max(0.0, self.conveyor.now() - lost_at))
        self._apply()

    def _belt_now(self) -> float:
        """The belt's clock: the conveyor's, stopped while the belt stands (see read_at)."""
        return self._stopped_at if self._stopped_at is not None else self.conveyor.now()

    def _next_wait(self) -> float:
        with self.lock:
            now = self.conveyor.now()
            waits = [TICK]
            for item in self._flight:
                if item.fire_at is not None:
                    waits.append(item.fire_at - FIRE_LEAD - now)
            return max(0.0, min(waits))

    def _tick(self) -> None:
        now = self.conveyor.now()
        waiting = False
        for item in list(self._flight):
            if item.decision is None and now >= item.read_at + self.deadline:
                if self.settings.late_ils is LatePolicy.HOLD_BELT:
                    waiting = True
                else:
                    late = SortInput(item.tag, IlsOutcome.LATE, parts_seen=item.parts)
                    self._decide(item, late)
            if (
                item.decision is not None
                and item.fire_at is not None
                and item.diverter is not None
                and now >= item.fire_at - FIRE_LEAD
                and self._belt_on
            ):
                self._fire(item)
        self._landings(now)
        if waiting != self._holding:
            self._holding = waiting
            self.stop_reason = "waiting for the ILS" if waiting else None
            if waiting:
                self.bus.publish("belt_stopped", why="late_ils")
            self._apply()
        if self._belt_on and not self.jammed:
            limit = self.settings.jam_seconds
            stuck = [name for name, since in self._blocked.items() if now - since > limit]
            if stuck:
                self.jammed = True
                self._jam_since = min(self._blocked[name] for name in stuck)
                for name in stuck:
                    self._held_back(name, self._blocked[name])
                self.stop_reason = f"jam at {', '.join(sorted(stuck))}"
                self.bus.publish(
                    "belt_stopped", why="jam", where=sorted(stuck), text=both(texts.JAMMED)
                )
                self._apply()

    def _fire(self, item: InFlight) -> None:
        assert item.decision is not None and item.diverter is not None
        try:
            self.conveyor.fire(item.diverter, PULSE_SECONDS)
        except DeviceError as error:
            log.warning("diverter %d did not fire: %s", item.diverter, error)
            self._link_lost()
            item.fire_at = None  # it goes on to the end of the belt: the exception bin
            return
        self._flight.remove(item)
        item.fired_at = self.conveyor.now()
        self._landing.append(item)

    def _landings(self, now: float) -> None:
        """Items whose diverter's pulse is over are in their bins, if the belt carried them
        there: counted now. One that the belt did not carry (stopped during the pulse) is
        still on the belt, past its diverter, bound for the end."""
        for item in list(self._landing):
            assert item.fired_at is not None and item.decision is not None
            if now < item.fired_at + PULSE_SECONDS:
                continue
            self._landing.remove(item)
            if self._belt_on and self.link_up:
                self._fired.append((item, now))
                self._placed(item, item.decision.bin)
            else:
                self._missed(item)

    def _missed(self, item: InFlight) -> None:
        """The item did not go into its bin: it is on the belt, bound for the end."""
        log.info("an item missed its diverter: it goes on to the exception bin")
        item.fire_at = None
        item.missed = True
        self._flight = sorted([*self._flight, item], key=lambda i: i.read_at)

    def _held_back(self, eye: str, since: float) -> None:
        """A jam at ``eye`` since ``since``: the items behind it were held back, so a
        diverter that fired for one of them since fired at nothing. They come out of
        their bins' counts; each goes on to the end once the jam is cleared.

        The stuck item reached the eye at ``since``: it was read the travel to that eye
        before, and every item read after it is queued behind it, unless its diverter
        comes before the stuck point. The items ahead of it were not held and stay
        counted."""
        if eye == "reader":
            travel = 0.0
        elif eye.startswith("at") and eye[2:].isdigit():
            number = int(eye[2:])
            travels = [
                t
                for bin_id, n in self.diverters.items()
                if n == number and (t := self.settings.travel_seconds(bin_id)) is not None
            ]
            if not travels:
                return
            travel = travels[0]
        else:
            return  # the intake (nothing on the belt behind it) or the end (nothing diverted)
        stuck_read = since - travel - EARLY
        for item, at in list(self._fired):
            assert item.decision is not None
            # Diverted before the stuck point: not held (it never had to pass it).
            before = (self.settings.travel_seconds(item.decision.bin) or 0.0) < travel - EARLY
            if at >= since and item.read_at >= stuck_read and not before:
                self._fired.remove((item, at))
                self._unplaced(item)
                self._missed(item)

    def _at_end(self) -> None:
        """An item fell into the exception bin: the oldest one not sent to a diverter."""
        item = next((i for i in self._flight if i.fire_at is None), None)
        if item is None:
            log.warning("an item reached the end of the belt unannounced")
            self._staff_line("", self.settings.exception_bin, texts.UNEXPECTED_AT_END)
            return
        self._flight.remove(item)
        if item.decision is None:
            # Still undecided at the end of the belt (only when the timing is wrong):
            # the exception bin, and the checkin finishes on its own.
            late = SortInput(item.tag, IlsOutcome.LATE, parts_seen=item.parts)
            self._decide(item, late)
        assert item.decision is not None
        # Bound for a diverter and still here: it missed it (or was sent aside).
        missed = self.settings.travel_seconds(item.decision.bin) is not None
        self._placed(item, self.settings.exception_bin if missed else item.decision.bin)

    def pause(self, paused: bool) -> None:
        """Staff pause or resume the machine; resuming after a jam also says it is cleared."""
        with self.lock:
            self.paused = paused
            if not paused and self.jammed:
                self._jam_cleared()
            self._apply()

    def _jam_cleared(self) -> None:
        """Staff took the stuck item off and resumed."""
        self.jammed = False
        self.stop_reason = None
        self._blocked.clear()
        self._items_aside(texts.JAM_REROUTED, None)
        self.bus.publish("jam_cleared")

    def _items_aside(self, text: Text, since: float | None) -> None:
        """The items on the belt are no longer where their schedule says (a jam held them,
        a lost controller stopped the belt when it chose): each goes on to the end of the
        belt, the exception bin, and staff are told which.

        ``since``: a lost link stopped the belt when the PLC chose, so a diverter that
        fired since may have fired at nothing: those items are taken out of their bins'
        counts too. (A jam's held-back items were taken out when it was found.)"""
        if since is not None:
            for item, at in list(self._fired):
                if at >= since and item not in self._flight:
                    self._fired.remove((item, at))
                    self._unplaced(item)
                    self._missed(item)
        for item in list(self._landing):
            self._landing.remove(item)
            self._missed(item)
        for item in self._flight:
            item.aside = True
            if item.fire_at is None and item.decision is not None and not item.missed:
                continue  # bound for the end already, for a reason staff are told
            item.fire_at = None
            line = filled(text, item=item.item_id or "?")
            self._staff_line(item.item_id, self.settings.exception_bin, line)
