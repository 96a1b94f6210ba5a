"""Which bin an item goes to, and why: the sort decision, first match wins.

1. the ILS's sort bin (CL) mapped to a bin here (``sort_bins``);
2. the alert type (CV): 01 hold here → the hold bin; 02 hold elsewhere and
   04 transit → the transit bin of the destination (CT) or the default transit
   bin; 03 interlibrary loan → the ILL bin;
3. the local rules, over the checkin answer and the tag;
4. the default bin.

Before any of that, an item that cannot be sorted goes to the exception bin with
an :class:`ExceptionReason`; after it, a bin that is full hands the item to its
overflow, and when no bin of the chain can take it, to the exception bin too.

While the ILS is offline only the tag is known: the local rules decide alone
and the decision is marked to be re-checked when the checkin is replayed;
:func:`replay_report` turns a replayed answer that would have sorted the item
elsewhere (a hold, a transit) into a line for staff.

Pure functions of their inputs: the sorter's I/O shell calls :func:`screen_tag`
before it checks an item in (an item that will not be sorted must not be
checked in), then :func:`decide` once the answer is in or the deadline is up.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from protocols.sip2 import AlertType, CheckinResponse
from protocols.tags.isil import isil_key, isil_keys
from protocols.tags.model import TagData
from sorter.reasons import ExceptionReason
from sorter.rules import ItemFacts
from sorter.settings import SorterSettings
from sorter.texts import (
    REASONS,
    REPLAY_HOLD,
    REPLAY_ILL,
    REPLAY_OTHER_BIN,
    REPLAY_REFUSED,
    REPLAY_TRANSIT,
    RETURNED,
    Language,
    Text,
)

PATRON_CARD = 8
"""ISO 28560 type of usage of a patron card (0 acquisition, 1 circulating item, …)."""
_TRANSIT = frozenset({AlertType.HOLD_REMOTE.value, AlertType.TRANSIT.value})


class IlsOutcome(StrEnum):
    """What became of the item's checkin by the time its bin had to be decided."""

    ANSWERED = "answered"
    """The ILS answered (ok or refused): the answer is in ``SortInput.answer``."""
    ERROR = "error"
    """No usable answer: the link broke, the answer was garbled or for another item."""
    OFFLINE = "offline"
    """The ILS is known to be down: the checkin is queued for replay."""
    LATE = "late"
    """No answer yet at the deadline, under the ``exception_then_finish`` policy (under
    ``hold_belt`` the sorter stops the belt and waits instead of deciding)."""


class Step(StrEnum):
    """Which step of the decision chose the bin."""

    SORT_BIN = "sort_bin"
    HOLD = "hold"
    TRANSIT = "transit"
    ILL = "ill"
    LOCAL_RULE = "local_rule"
    DEFAULT = "default"
    EXCEPTION = "exception"


class BinLevels(Protocol):
    """What the decision needs to know of the bins (:class:`sorter.bins.Bins` has it)."""

    def destination(self, bin_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class SortInput:
    """Everything known about one item when its bin must be decided."""

    tag: TagData | None
    """The tag as read; None when it did not read at all."""
    ils: IlsOutcome
    answer: CheckinResponse | None = None
    """The checkin answer, with ``ils`` ANSWERED."""
    security_verified: bool = True
    """The security (AFI/EAS) was set and read back as set."""
    parts_seen: Collection[int] = ()
    """Part numbers of this item's set read together with this tag (this tag's part is
    added): the parts of a set travel in one case, so they pass the reader at once."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The bin of one item and why; holds no patron data, so it may be journaled and published."""

    item_id: str
    """Empty when the tag did not read."""
    bin: str
    step: Step
    reason: ExceptionReason | None = None
    """Why the item goes to the exception bin (with ``step`` EXCEPTION)."""
    wanted_bin: str | None = None
    """The bin the sort chose before full bins and overflow were looked at."""
    detail: str = ""
    """For staff: what matched ('CL A', 'rule line 3: AQ=TN → 3', 'overflow of 2')."""
    recheck_on_replay: bool = False
    """Decided offline by the local rules: compare with the answer when it is replayed."""
    finish_checkin_later: bool = False
    """The ILS answered late: the checkin is to be completed when its answer comes."""
    title: str = ""
    destination: str = ""
    """The CT destination of an item in transit, for the bin slip."""

    @property
    def is_exception(self) -> bool:
        return self.step is Step.EXCEPTION


def screen_tag(
    tag: TagData | None,
    owners: Collection[str] = (),
    sorted_in_drop: Collection[str] = (),
    parts_seen: Collection[int] = (),
) -> ExceptionReason | None:
    """Why an item must go to the exception bin from its tag alone, or None.

    ``owners`` are the site's ISILs (the device's ``tags.owner_libraries``, shared
    with the kiosks and gates), in any of the forms libraries write them; empty:
    any owner. Run before the checkin: an unreadable, foreign, incomplete or
    already sorted item is not checked in (a second read must never become a
    second checkin).
    """
    if tag is None or not tag.item_id.strip():
        return ExceptionReason.UNREADABLE_TAG
    if tag.type_of_usage == PATRON_CARD:
        return ExceptionReason.NOT_OURS  # a library card dropped in with the books
    keys = isil_keys(owners)  # DK718500 on the tag is DK-718500 in the config
    if keys and tag.owner_library and isil_key(tag.owner_library) not in keys:
        return ExceptionReason.NOT_OURS
    if tag.item_id in sorted_in_drop:
        return ExceptionReason.ALREADY_SORTED
    if tag.set_size > 1:
        seen = set(parts_seen) | {tag.set_index}
        if not set(range(1, tag.set_size + 1)) <= seen:
            return ExceptionReason.INCOMPLETE_SET
    return None


def decide(
    item: SortInput,
    settings: SorterSettings,
    bins: BinLevels,
    *,
    owners: Collection[str] = (),
    sorted_in_drop: Collection[str] = (),
) -> Decision:
    """The bin of ``item``: exception reasons first, then the four steps, then capacity.

    ``owners`` and ``sorted_in_drop`` as for :func:`screen_tag`.
    """
    tag = item.tag
    readable = tag is not None and tag.item_id.strip() and tag.type_of_usage != PATRON_CARD
    # A patron card's "item id" is the patron's id: it is never recorded.
    item_id = tag.item_id if tag is not None and readable else ""
    reason = screen_tag(tag, owners, sorted_in_drop, item.parts_seen)
    if reason is not None:
        return _exception(settings, item_id, reason, bins)
    answer = item.answer
    if item.ils is IlsOutcome.ANSWERED:
        if answer is None:
            raise ValueError("an ANSWERED item needs its checkin answer")
        if answer.item_id and answer.item_id != item_id:
            # An answer about another item (a desynchronised link) is no answer.
            return _exception(settings, item_id, ExceptionReason.ILS_ERROR, bins)
        if not answer.ok:
            refused = ExceptionReason.ILS_REFUSED
            return _exception(settings, item_id, refused, bins, title=answer.title or "")
    elif item.ils is IlsOutcome.ERROR:
        return _exception(settings, item_id, ExceptionReason.ILS_ERROR, bins)
    elif item.ils is IlsOutcome.LATE:
        return _exception(
            settings, item_id, ExceptionReason.LATE_ILS, bins, finish_checkin_later=True
        )
    else:
        answer = None  # offline: whatever came with it is not the ILS's word
    title = (answer.title or "") if answer is not None else ""
    destination = (answer.destination_location or "") if answer is not None else ""
    if not item.security_verified:
        unsecured = ExceptionReason.SECURITY_NOT_VERIFIED
        return _exception(settings, item_id, unsecured, bins, title=title)
    wanted, step, detail = sort_bin(settings, answer, tag)
    recheck = item.ils is IlsOutcome.OFFLINE
    target = bins.destination(wanted)
    if target is None:
        return _exception(
            settings,
            item_id,
            ExceptionReason.BIN_FULL,
            bins,
            wanted_bin=wanted,
            detail=detail,
            recheck_on_replay=recheck,
            title=title,
            destination=destination,
        )
    if target != wanted:
        detail = f"{detail}; overflow of {wanted}"
    return Decision(
        item_id,
        target,
        step,
        wanted_bin=wanted,
        detail=detail,
        recheck_on_replay=recheck,
        title=title,
        destination=destination,
    )


def sort_bin(
    settings: SorterSettings, answer: CheckinResponse | None, tag: TagData | None
) -> tuple[str, Step, str]:
    """The bin the four steps choose (full bins not looked at), the step, and what matched."""
    if answer is not None:
        cl = answer.sort_bin
        if cl and cl in settings.sort_bins:
            return settings.sort_bins[cl], Step.SORT_BIN, f"CL {cl}"
        cv = answer.alert_type or ""
        ct = answer.destination_location or ""
        if cv == AlertType.HOLD_LOCAL and settings.hold_bin is not None:
            return settings.hold_bin, Step.HOLD, "CV 01"
        if cv in _TRANSIT:
            by_destination = settings.transit.by_destination.get(ct)
            if by_destination is not None:
                return by_destination, Step.TRANSIT, f"CV {cv}, CT {ct}"
            if settings.transit.default is not None:
                return settings.transit.default, Step.TRANSIT, f"CV {cv}, CT {ct or '-'}"
        if cv == AlertType.ILL and settings.ill_bin is not None:
            return settings.ill_bin, Step.ILL, "CV 03"
    rule = settings.rule_set.first_match(ItemFacts.of(answer, tag))
    if rule is not None:
        return rule.bin, Step.LOCAL_RULE, f"rule line {rule.line}: {rule.text}"
    return settings.default_bin, Step.DEFAULT, ""


def _exception(
    settings: SorterSettings,
    item_id: str,
    reason: ExceptionReason,
    bins: BinLevels,
    *,
    wanted_bin: str | None = None,
    detail: str = "",
    recheck_on_replay: bool = False,
    finish_checkin_later: bool = False,
    title: str = "",
    destination: str = "",
) -> Decision:
    # The exception bin's overflow takes over when it is full; when neither can take
    # more the item still goes to the end of the belt (the intake is closed by then).
    target = bins.destination(settings.exception_bin) or settings.exception_bin
    return Decision(
        item_id,
        target,
        Step.EXCEPTION,
        reason=reason,
        wanted_bin=wanted_bin,
        detail=detail,
        recheck_on_replay=recheck_on_replay,
        finish_checkin_later=finish_checkin_later,
        title=title,
        destination=destination,
    )


def patron_text(decision: Decision) -> Text:
    """The wall screen's line for the patron (show the ILS's AF text as well)."""
    if decision.reason is None:
        return RETURNED
    return REASONS[decision.reason].patron


# -- offline: what the replay shows ------------------------------------------------------


class ReplayFinding(StrEnum):
    HOLD = "hold"
    TRANSIT = "transit"
    ILL = "ill"
    OTHER_BIN = "other_bin"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class ReplayReportItem:
    """A line of the staff report: an item sorted offline that belongs elsewhere."""

    item_id: str
    bin: str
    """Where the item is."""
    finding: ReplayFinding
    wanted_bin: str | None = None
    """Where the replayed answer would have sent it."""
    destination: str = ""

    def text(self, language: Language) -> str:
        values = {
            "item": self.item_id,
            "bin": self.bin,
            "wanted": self.wanted_bin or "",
            "destination": self.destination or "?",
        }
        return _FINDING_TEXT[self.finding].format(language, **values)


_FINDING_TEXT: dict[ReplayFinding, Text] = {
    ReplayFinding.HOLD: REPLAY_HOLD,
    ReplayFinding.TRANSIT: REPLAY_TRANSIT,
    ReplayFinding.ILL: REPLAY_ILL,
    ReplayFinding.OTHER_BIN: REPLAY_OTHER_BIN,
    ReplayFinding.REFUSED: REPLAY_REFUSED,
}


def replay_report(
    decision: Decision,
    replayed: CheckinResponse,
    settings: SorterSettings,
    tag: TagData | None = None,
) -> ReplayReportItem | None:
    """The staff report line for an item sorted offline, now that its checkin was replayed;
    None when it is where the answer would have put it (or was not decided offline).

    A hold, a transit or an interlibrary loan is reported whenever the item is
    not in the bin for it, even if the site has no such bin: someone must fetch it.
    The ILS's AF text is left out: it may name the patron who placed the hold.
    """
    if not decision.recheck_on_replay:
        return None
    if not replayed.ok:
        return ReplayReportItem(decision.item_id, decision.bin, ReplayFinding.REFUSED)
    wanted, step, _ = sort_bin(settings, replayed, tag)
    cv = replayed.alert_type or ""
    destination = replayed.destination_location or ""
    finding: ReplayFinding | None = None
    if cv == AlertType.HOLD_LOCAL and step is not Step.SORT_BIN:
        finding = ReplayFinding.HOLD
    elif cv in _TRANSIT and step is not Step.SORT_BIN:
        finding = ReplayFinding.TRANSIT
    elif cv == AlertType.ILL and step is not Step.SORT_BIN:
        finding = ReplayFinding.ILL
    if finding is not None:
        in_its_bin = step in (Step.HOLD, Step.TRANSIT, Step.ILL) and wanted == decision.bin
        if in_its_bin:
            return None
        return ReplayReportItem(decision.item_id, decision.bin, finding, wanted, destination)
    if wanted not in (decision.bin, decision.wanted_bin):
        return ReplayReportItem(
            decision.item_id, decision.bin, ReplayFinding.OTHER_BIN, wanted, destination
        )
    return None
