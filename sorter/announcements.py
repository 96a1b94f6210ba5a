"""What the machine tells: the wall screen, staff, and the fleet.

Every event leaves through the bus (the local API's subscribers, the MQTT
bridge); none carries a patron's identity. The texts are in Vietnamese and
English (:mod:`sorter.machine_texts`, :mod:`sorter.texts`).
"""

from __future__ import annotations

from typing import Any

from sorter import machine_texts as texts
from sorter.decision import Decision, patron_text
from sorter.flight import InFlight, SorterState
from sorter.machine_base import SorterBase
from sorter.machine_texts import both
from sorter.reasons import ExceptionReason
from sorter.texts import INTAKE_CLOSED, REASONS, Text


class Announcements(SorterBase):
    """The machine's events and staff lines."""

    def _tell_intake(self, open_: bool, state: SorterState) -> None:
        if open_:
            self.bus.publish("intake_opened")
            return
        why = {
            SorterState.PAUSED: "staff",
            SorterState.STOPPED: "jam",
            SorterState.INTAKE_CLOSED: "bins_full",
        }.get(state, "late_ils" if self._holding else "stopped")
        self.bus.publish("intake_closed", why=why)

    def _exception_entry(self, item_id: str, title: str, reason: ExceptionReason) -> dict[str, Any]:
        return {
            "item_id": item_id,
            "title": title or None,
            "reason": reason.value,
            "text": both(REASONS[reason].name),
            "bin": self.settings.exception_bin,
            "at": self.clock().isoformat(),
        }

    def _tell_state(self) -> None:
        status = self.status()
        text = self._state_text()
        self.bus.publish(
            "state",
            **{k: status[k] for k in ("state", "belt", "intake_open", "link")},
            text=both(text) if text is not None else None,
        )

    def _state_text(self) -> Text | None:
        if self.state is SorterState.INTAKE_CLOSED:
            return INTAKE_CLOSED
        if self.state is SorterState.PLC_LOST:
            return texts.LINK_LOST
        if self.state is SorterState.PAUSED:
            return texts.PAUSED
        if self.jammed:
            return texts.JAMMED
        return None

    def _announce(self, item: InFlight, decision: Decision, ils_message: str | None) -> None:
        """A decided item: the wall screen's ``item`` event, the fleet's, the exception list."""
        event = {
            "item_id": decision.item_id,
            "title": decision.title or None,
            "outcome": "exception" if decision.is_exception else "sorted",
            "bin": decision.bin,
            "reason": decision.reason.value if decision.reason else None,
            "text": both(patron_text(decision)),
            "ils_message": ils_message,
        }
        self.bus.publish("item", **event)
        # The fleet's events (protocols/mqtt/sorter_schema.py): no patron in either.
        if decision.is_exception:
            assert decision.reason is not None
            self.bus.publish(
                "sort_exception",
                item_id=decision.item_id or None,
                bin=decision.bin,
                reason=decision.reason.value,
                title=decision.title or None,
            )
        else:
            self.bus.publish(
                "item_sorted",
                item_id=decision.item_id,
                bin=decision.bin,
                reason=decision.step.value,
                title=decision.title or None,
                destination=decision.destination or None,
                offline=decision.recheck_on_replay,
            )
        if self.drop is not None:
            self.drop.items.append(event)
        if decision.is_exception:
            assert decision.reason is not None
            exception = self._exception_entry(decision.item_id, decision.title, decision.reason)
            exception["bin"] = decision.bin
            if item.note is not None:
                exception["text"] = both(item.note)
            self.recent.appendleft(exception)
            self.bus.publish("exception", **exception)
        if decision.finish_checkin_later and item.item_id:
            self._late[item.item_id] = item

    def _staff_line(self, item_id: str, bin_id: str, text: Text) -> None:
        """A line of the staff report: kept in the store and told to the screens."""
        self.store.report(item_id, bin_id, text, self.clock())
        self.bus.publish("staff_report", item_id=item_id, bin=bin_id, text=both(text))
