"""The sort decision on the exact checkin answers Evergreen's SIPServer gave the return
machine (tests/fixtures/sip2/evergreen-sipserver/09 and 10, captured by
tests/integration/test_evergreen_sipserver_sorter.py): no CL, so the local rules sort."""

from __future__ import annotations

from pathlib import Path

from sort_fixtures import OWNERS, answer, settings, tag

from sorter.bins import Bins
from sorter.decision import (
    Decision,
    IlsOutcome,
    ReplayFinding,
    SortInput,
    Step,
    decide,
    patron_text,
    replay_report,
)
from sorter.reasons import ExceptionReason
from sorter.texts import RETURNED

FOLDER = Path(__file__).resolve().parents[2] / "fixtures" / "sip2" / "evergreen-sipserver"
RETURNED_ANSWER = (FOLDER / "09-sorter-checkin.response.sip2").read_bytes()
NOT_ON_LOAN_ANSWER = (FOLDER / "10-sorter-checkin-not-on-loan.response.sip2").read_bytes()
RULES = "CK=001 → 2\n"
"""The interop test's rule: the test ILS's items are books (CK 001) without a location."""


def decided(raw: bytes, **changes: object) -> Decision:
    reply = answer(raw)
    assert reply.item_id is not None
    config = settings(**changes)
    item = SortInput(tag(reply.item_id), IlsOutcome.ANSWERED, reply)
    return decide(item, config, Bins(config), owners=OWNERS)


def test_no_cl_so_the_local_rule_on_the_media_type_sorts() -> None:
    decision = decided(RETURNED_ANSWER, rules=RULES)
    assert (decision.bin, decision.step) == ("2", Step.LOCAL_RULE)
    assert decision.detail == "rule line 1: CK=001 → 2"
    assert decision.title == "Perl 5 desktop reference" and decision.destination == ""
    assert patron_text(decision) == RETURNED


def test_the_cl_mapping_is_never_reached_and_without_rules_the_default_bin_takes_it() -> None:
    # The site maps CL A and B (sort_fixtures): Evergreen sends no CL, so neither applies.
    assert answer(RETURNED_ANSWER).sort_bin is None
    decision = decided(RETURNED_ANSWER, rules="")
    assert (decision.bin, decision.step) == ("3", Step.DEFAULT)


def test_a_rule_on_the_empty_location_matches_the_empty_aq() -> None:
    # AQ comes as "AQ|": an empty value, which the rule's "" matches.
    decision = decided(RETURNED_ANSWER, rules='AQ="" and CK=001 → 1\n')
    assert (decision.bin, decision.step) == ("1", Step.LOCAL_RULE)


def test_the_item_not_on_loan_goes_to_the_exception_bin_refused() -> None:
    decision = decided(NOT_ON_LOAN_ANSWER, rules=RULES)
    assert (decision.bin, decision.reason) == ("x", ExceptionReason.ILS_REFUSED)
    assert decision.title == "The deep blue alibi"


def test_offline_the_rule_on_the_answer_cannot_match_and_the_replay_tells_staff() -> None:
    # Offline there is no answer, hence no CK: the default bin takes the item, and when the
    # checkin is replayed the answer's CK would have sent it to bin 2: a line for staff.
    config = settings(rules=RULES)
    item = SortInput(tag("1565921879"), IlsOutcome.OFFLINE)
    offline = decide(item, config, Bins(config), owners=OWNERS)
    assert (offline.bin, offline.step, offline.recheck_on_replay) == ("3", Step.DEFAULT, True)
    finding = replay_report(offline, answer(RETURNED_ANSWER), config)
    assert finding is not None
    assert (finding.finding, finding.bin, finding.wanted_bin) == (ReplayFinding.OTHER_BIN, "3", "2")
    assert "djfiander" not in finding.text("vi") + finding.text("en")
