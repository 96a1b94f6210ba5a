"""The ILS step: the checkin's answer, the bin it decides, late answers and the offline replay.

The checkin itself is the engine's (journaled before it is sent, security set
and read back); its result comes back on a queue that the belt loop drains.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

from engine.circulation.replay import replay_offline
from engine.ils.errors import IlsConnectionError
from protocols.sip2 import CheckinResponse
from sorter import machine_texts as texts
from sorter.bins import ManifestItem
from sorter.decision import Decision, IlsOutcome, SortInput, Step, decide, replay_report
from sorter.flight import InFlight
from sorter.machine_base import SorterBase
from sorter.machine_texts import filled
from sorter.texts import Text

log = logging.getLogger(__name__)

_SUCCESS = frozenset({"returned", "offline_returned"})


CHECKED_IN = frozenset({"done", "offline_done", "replayed"})
"""Journal states of a checkin the ILS took (or will take on replay), security set."""
UNSECURED = frozenset({"flagged"})
"""The ILS took the checkin; the tag's security is not set (it had left the tunnel)."""
REFUSED = frozenset({"refused"})


def late_checkin_text(item_id: str, result: dict[str, Any]) -> Text:
    """The staff line for a checkin that finished after its item went to the exception bin.

    Told from the journal's state, which says what the ILS did, rather than from the
    outcome's code: a checkin whose security write failed *was* checked in, and staff
    must not check it in again at the desk — only set its security. No code is shown.
    """
    state = str(result.get("state") or "")
    outcome = str(result.get("outcome") or "")
    if state in CHECKED_IN or (not state and outcome in _SUCCESS):
        return filled(texts.FINISHED_LATE, item=item_id)
    if state in UNSECURED or (not state and outcome.startswith("security_")):
        return filled(texts.SECURITY_LATE, item=item_id)
    said = str(result.get("ils_message") or "").strip()
    if state in REFUSED:
        return filled(texts.REFUSED_LATE, item=item_id, message=said or "—")
    return filled(texts.FAILED_LATE, item=item_id)


class IlsStep(SorterBase):
    """From a checkin's result to the item's bin."""

    def _decide_loop(self) -> None:
        """Decide each item the moment its checkin's result arrives.

        The belt loop also drains the results before each tick (so an answer already in
        is never taken for a late one), but it sleeps in the conveyor's poll for up to a
        tick: waiting for it added up to a tick to every decision. Both drain under
        ``lock``, so the results are still taken in the order they came.
        """
        try:
            while not self._stop.is_set():
                if not self._result_ready.wait(0.5):
                    continue
                with self.lock:
                    self._result_ready.clear()
                    self._drain_results()
        except Exception:
            self.loop_alive = False  # as the belt loop: unhealthy, and the watchdog restarts
            log.exception("the decision loop stopped")
            raise

    def _drain_results(self) -> None:
        while True:
            try:
                result = self._results.get_nowait()
            except queue.Empty:
                return
            if result.get("quiet"):
                continue
            item_id = result.get("item_id", "")
            waiting = next(
                (
                    i
                    for i in self._flight
                    if i.checkin and i.item_id == item_id and i.result is None
                ),
                None,
            )
            if waiting is not None:
                waiting.result = result
                if waiting.decision is None:
                    self._decide_answered(waiting)
                    continue
            late = self._late.pop(item_id, None)
            if late is not None:
                self._finished_late(late, result)

    def _decide_answered(self, item: InFlight) -> None:
        result = item.result
        assert result is not None
        outcome = result.get("outcome")
        answer = result.get("answer")
        if not isinstance(answer, CheckinResponse):
            answer = None
        verified = outcome not in ("security_failed", "security_staff", "security_undone")
        if outcome == "offline_returned":
            ils = IlsOutcome.OFFLINE
        elif answer is not None:
            ils = IlsOutcome.ANSWERED
        elif outcome in _SUCCESS or not verified:
            ils = IlsOutcome.OFFLINE if result.get("offline") else IlsOutcome.ERROR
            if not verified:
                ils = IlsOutcome.OFFLINE  # the decision's security check comes first then
        else:
            ils = IlsOutcome.ERROR
        sort_input = SortInput(item.tag, ils, answer, verified, item.parts)
        self._decide(item, sort_input, result.get("ils_message"))

    def _decide(
        self, item: InFlight, sort_input: SortInput, ils_message: str | None = None
    ) -> None:
        # The item itself was added to the drop when it was read; only others count.
        others = self.sorted_in_drop - {item.item_id}
        decision = decide(
            sort_input, self.settings, self.bins, owners=self.owners, sorted_in_drop=others
        )
        self._decided(item, decision, ils_message)

    def _decided(self, item: InFlight, decision: Decision, ils_message: str | None = None) -> None:
        now = self.clock()  # the moment of the decision, before it is told and stored
        item.decision = decision
        # Bound for its bin from now on: counted in it when it lands there, but its room is
        # taken now, since the items on the belt fill a bin as surely as those in it and
        # the next decision must know.
        item.manifest = ManifestItem(
            item.item_id, decision.title, decision.destination, now, decision.reason
        )
        self.bins.bind(decision.bin, item.manifest)
        self._tell_bins()
        if not self.bins.intake_open or self.bins.is_full(decision.bin):
            self._apply()
        travel = self.settings.travel_seconds(decision.bin)
        if travel is not None and not item.aside:
            item.diverter = self.diverters[decision.bin]
            item.fire_at = item.read_at + travel
        self.store.decided(
            item.row_id,
            now,
            bin_id=decision.bin,
            wanted_bin=decision.wanted_bin,
            reason=decision.reason.value if decision.reason else None,
            title=decision.title,
            destination=decision.destination,
            recheck=decision.recheck_on_replay,
        )
        self._announce(item, decision, ils_message)

    def _finished_late(self, item: InFlight, result: dict[str, Any]) -> None:
        """The checkin of an item already in the exception bin came back: tell staff."""
        bin_id = item.decision.bin if item.decision else self.settings.exception_bin
        self._staff_line(item.item_id, bin_id, late_checkin_text(item.item_id, result))

    def _maintenance_loop(self) -> None:
        while not self._stop.wait(self.maintenance_every):
            try:
                self.maintain()
            except Exception:
                log.exception("sorter maintenance")

    def maintain(self) -> None:
        """Replay offline checkins once; a hold or transit found on replay becomes a staff line."""
        try:
            lines = replay_offline(self.journal, self.ils, keep_answers=True)
        except IlsConnectionError:
            self.circulation.ils_online = False
            return
        for line in lines:
            self.circulation.ils_online = True
            answer = line.pop("answer", None)
            self.bus.publish("replayed", **line)
            if line.get("kind") != "checkin" or not isinstance(answer, CheckinResponse):
                continue
            self._replay_finding(str(line["item_id"]), answer)

    def _replay_finding(self, item_id: str, answer: CheckinResponse) -> None:
        row = self.store.latest_decided(item_id)
        if row is None or row.bin is None or not row.recheck:
            return
        decision = Decision(
            item_id, row.bin, Step.LOCAL_RULE, wanted_bin=row.wanted_bin, recheck_on_replay=True
        )
        finding = replay_report(decision, answer, self.settings)
        if finding is None:
            return
        self._staff_line(item_id, finding.bin, Text(finding.text("vi"), finding.text("en")))
