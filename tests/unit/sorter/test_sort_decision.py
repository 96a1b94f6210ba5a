"""The sort decision over real-looking Koha and Evergreen checkin answers, step by step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sort_fixtures import (
    EVERGREEN_CHILDREN,
    EVERGREEN_HOLD_ELSEWHERE,
    KOHA_CL,
    KOHA_HOLD,
    KOHA_ILL,
    KOHA_REFUSED,
    KOHA_TRANSIT,
    OWNERS,
    answer,
    settings,
    tag,
)

from protocols.sip2 import CheckinResponse
from protocols.tags.model import TagData
from sorter.bins import Bins, ManifestItem
from sorter.decision import (
    Decision,
    IlsOutcome,
    ReplayFinding,
    SortInput,
    Step,
    decide,
    patron_text,
    replay_report,
    screen_tag,
)
from sorter.reasons import ExceptionReason
from sorter.texts import REASONS, RETURNED

NOW = datetime(2026, 12, 2, 10, 45, tzinfo=UTC)


def answered(raw: bytes, security_verified: bool = True) -> SortInput:
    reply = answer(raw)
    assert reply.item_id is not None
    return SortInput(tag(reply.item_id), IlsOutcome.ANSWERED, reply, security_verified)


def run(item: SortInput, **changes: object) -> Decision:
    config = settings(**changes)
    return decide(item, config, Bins(config), owners=OWNERS)


# -- the four steps --------------------------------------------------------------------


def test_koha_sort_bin_maps_to_its_bin() -> None:
    decision = run(answered(KOHA_CL))
    assert (decision.bin, decision.step, decision.detail) == ("1", Step.SORT_BIN, "CL A")
    assert decision.item_id == "39999000001234"
    assert decision.title == "Perl best practices"
    assert decision.reason is None and not decision.recheck_on_replay


def test_an_unmapped_sort_bin_falls_through_to_the_rules_and_default() -> None:
    decision = run(answered(KOHA_CL), sort_bins={"Z": "1"})
    assert (decision.bin, decision.step) == ("3", Step.DEFAULT)


def test_sort_bin_wins_over_a_hold() -> None:
    raw = answer(KOHA_HOLD).with_fields(("CL", "B"))
    item = SortInput(tag("39999000004321"), IlsOutcome.ANSWERED, raw)
    assert run(item).bin == "2"


def test_hold_here_goes_to_the_hold_bin_and_keeps_no_patron_data() -> None:
    decision = run(answered(KOHA_HOLD))
    assert (decision.bin, decision.step, decision.detail) == ("hold", Step.HOLD, "CV 01")
    text = repr(decision)
    for secret in ("HOLDPATRON7", "Doe", "Jane"):
        assert secret not in text


def test_without_a_hold_bin_a_hold_is_sorted_like_any_item() -> None:
    decision = run(answered(KOHA_HOLD), hold_bin=None)
    assert (decision.bin, decision.step) == ("3", Step.DEFAULT)


def test_transit_to_an_unlisted_destination_goes_to_the_default_transit_bin() -> None:
    decision = run(answered(KOHA_TRANSIT))
    assert (decision.bin, decision.step, decision.detail) == (
        "transit",
        Step.TRANSIT,
        "CV 04, CT FFL",
    )
    assert decision.destination == "FFL"
    assert decision.title == "Truyện Kiều"


def test_evergreen_hold_elsewhere_goes_to_its_destination_bin() -> None:
    decision = run(answered(EVERGREEN_HOLD_ELSEWHERE))
    assert (decision.bin, decision.step, decision.destination) == ("br2", Step.TRANSIT, "BR2")


def test_transit_without_any_transit_bin_falls_through() -> None:
    decision = run(answered(KOHA_TRANSIT), transit={})
    assert decision.step is Step.DEFAULT


def test_interlibrary_loan_goes_to_the_ill_bin() -> None:
    assert run(answered(KOHA_ILL)).bin == "ill"


def test_evergreen_sends_no_cl_so_the_local_rule_on_aq_sorts() -> None:
    decision = run(answered(EVERGREEN_CHILDREN))
    assert (decision.bin, decision.step) == ("2", Step.LOCAL_RULE)
    assert decision.detail == "rule line 1: AQ=TN → bin 2"


def test_a_rule_can_read_the_tag_owner() -> None:
    reply = answer(KOHA_CL)
    item = SortInput(tag("39999000001234", owner="VN-HN0002"), IlsOutcome.ANSWERED, reply)
    assert run(item, sort_bins={}).bin == "1"


def test_rule_on_an_nfd_value_matches_the_nfc_rule() -> None:
    decision = run(answered(EVERGREEN_CHILDREN), rules='AJ="Tiếng Việt" -> 1')
    assert decision.bin == "1"


# -- exceptions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (SortInput(None, IlsOutcome.ANSWERED), ExceptionReason.UNREADABLE_TAG),
        (SortInput(tag("  "), IlsOutcome.OFFLINE), ExceptionReason.UNREADABLE_TAG),
        (SortInput(tag("B1", owner="DK-761500"), IlsOutcome.OFFLINE), ExceptionReason.NOT_OURS),
        (SortInput(tag("B1", size=3, index=2), IlsOutcome.OFFLINE), ExceptionReason.INCOMPLETE_SET),
        (answered(KOHA_REFUSED), ExceptionReason.ILS_REFUSED),
        (SortInput(tag("B1"), IlsOutcome.ERROR), ExceptionReason.ILS_ERROR),
        (answered(KOHA_CL, security_verified=False), ExceptionReason.SECURITY_NOT_VERIFIED),
    ],
)
def test_exception_reasons(item: SortInput, reason: ExceptionReason) -> None:
    decision = run(item)
    assert (decision.bin, decision.step, decision.reason) == ("x", Step.EXCEPTION, reason)
    assert decision.is_exception
    assert patron_text(decision) is REASONS[reason].patron


def test_exceptions_keep_the_title_for_the_manifest() -> None:
    assert run(answered(KOHA_CL, security_verified=False)).title == "Perl best practices"
    refused = answer(KOHA_REFUSED).with_fields(("AJ", "Dune"))
    item = SortInput(tag("39999000009999"), IlsOutcome.ANSWERED, refused)
    assert run(item).title == "Dune"


def test_a_patron_card_in_the_drop_is_not_ours_and_its_number_is_not_recorded() -> None:
    card = TagData(model="iso28560-3", item_id="P0001234", type_of_usage=8)
    assert screen_tag(card) is ExceptionReason.NOT_OURS
    decision = run(SortInput(card, IlsOutcome.OFFLINE))
    assert decision.reason is ExceptionReason.NOT_OURS
    assert decision.item_id == "" and "P0001234" not in repr(decision)


def test_an_answer_about_another_item_is_an_ils_error() -> None:
    item = SortInput(tag("B0001"), IlsOutcome.ANSWERED, answer(KOHA_CL))
    assert run(item).reason is ExceptionReason.ILS_ERROR


def test_answered_without_the_answer_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="checkin answer"):
        run(SortInput(tag("B1"), IlsOutcome.ANSWERED))


def test_a_second_read_in_the_drop_is_already_sorted_and_not_checked_in() -> None:
    config = settings()
    assert screen_tag(tag("B1"), OWNERS, {"B1"}) is ExceptionReason.ALREADY_SORTED
    item = answered(KOHA_CL)
    decision = decide(item, config, Bins(config), sorted_in_drop={"39999000001234"})
    assert decision.reason is ExceptionReason.ALREADY_SORTED


def test_a_complete_set_is_sorted() -> None:
    assert screen_tag(tag("B1", size=3, index=2), OWNERS, parts_seen={1, 3}) is None
    assert screen_tag(tag("B1", size=3, index=2), OWNERS, parts_seen={1}) is not None


def test_owner_check_is_off_without_a_list_and_for_tags_without_an_owner() -> None:
    assert screen_tag(tag("B1", owner="DK-761500")) is None
    assert screen_tag(tag("B1", owner=""), OWNERS) is None


def test_isils_match_without_hyphen_or_case_as_tags_write_them() -> None:
    assert screen_tag(tag("B1", owner="VNHN0001"), OWNERS) is None
    assert screen_tag(tag("B1", owner="vn-hn0002"), ["VNHN0002"]) is None
    assert screen_tag(tag("B1", owner="VNHN0003"), OWNERS) is ExceptionReason.NOT_OURS
    decision = run(SortInput(tag("B1", owner="VNHN0002"), IlsOutcome.OFFLINE))
    assert (decision.bin, decision.step) == ("1", Step.LOCAL_RULE)  # owner=VN-HN0002 -> 1


def test_late_answer_goes_to_the_exception_bin_and_is_finished_afterwards() -> None:
    decision = run(SortInput(tag("B1"), IlsOutcome.LATE), late_ils="exception_then_finish")
    assert decision.reason is ExceptionReason.LATE_ILS
    assert decision.finish_checkin_later


# -- full bins -------------------------------------------------------------------------


def fill(bins: Bins, bin_id: str, count: int) -> None:
    for number in range(count):
        bins.place(bin_id, ManifestItem(f"F{number}", "", "", NOW))


def test_a_full_bin_hands_over_to_its_overflow() -> None:
    config = settings()
    bins = Bins(config)
    fill(bins, "1", 100)
    decision = decide(answered(KOHA_CL), config, bins)
    assert (decision.bin, decision.wanted_bin, decision.step) == ("2", "1", Step.SORT_BIN)
    assert decision.detail == "CL A; overflow of 1"


def test_a_full_bin_without_room_in_its_chain_is_an_exception() -> None:
    config = settings()
    bins = Bins(config)
    bins.set_sensor("1", True)
    bins.set_sensor("2", True)
    decision = decide(answered(KOHA_CL), config, bins)
    assert (decision.bin, decision.reason, decision.wanted_bin) == (
        "x",
        ExceptionReason.BIN_FULL,
        "1",
    )
    assert patron_text(decision) is REASONS[ExceptionReason.BIN_FULL].patron


def test_a_sorted_item_tells_the_patron_it_was_returned() -> None:
    assert patron_text(run(answered(KOHA_CL))) is RETURNED
    assert RETURNED.en == "Returned — thank you." and RETURNED.vi == "Đã nhận — cảm ơn."


# -- offline and the replay --------------------------------------------------------------


def offline(item_id: str) -> SortInput:
    return SortInput(tag(item_id), IlsOutcome.OFFLINE, answer(KOHA_HOLD))


def test_offline_sorts_by_the_local_rules_only_and_marks_for_recheck() -> None:
    decision = run(offline("39999000004321"))
    # The (stale) answer passed along is ignored: no hold bin offline.
    assert (decision.bin, decision.step, decision.recheck_on_replay) == ("3", Step.DEFAULT, True)
    by_owner = run(SortInput(tag("B1", owner="VN-HN0002"), IlsOutcome.OFFLINE))
    assert (by_owner.bin, by_owner.step) == ("1", Step.LOCAL_RULE)


def test_a_hold_found_on_replay_is_a_staff_report_line_in_both_languages() -> None:
    config = settings()
    decision = run(offline("39999000004321"))
    line = replay_report(decision, answer(KOHA_HOLD), config)
    assert line is not None and line.finding is ReplayFinding.HOLD
    assert line.text("en") == "Item 39999000004321 went to bin 3, it has a hold — fetch it."
    assert line.text("vi") == (
        "Tài liệu 39999000004321 đã vào thùng 3, nhưng đang có người đặt giữ — hãy lấy ra."
    )
    assert "Doe" not in repr(line) and "HOLDPATRON7" not in repr(line)


def test_a_hold_is_reported_even_where_the_site_has_no_hold_bin() -> None:
    config = settings(hold_bin=None)
    decision = decide(offline("39999000004321"), config, Bins(config))
    line = replay_report(decision, answer(KOHA_HOLD), config)
    assert line is not None and line.finding is ReplayFinding.HOLD


def test_a_transit_found_on_replay_names_the_destination() -> None:
    config = settings()
    decision = decide(SortInput(tag("39999000005678"), IlsOutcome.OFFLINE), config, Bins(config))
    line = replay_report(decision, answer(KOHA_TRANSIT), config)
    assert line is not None
    assert (line.finding, line.wanted_bin, line.destination) == (
        ReplayFinding.TRANSIT,
        "transit",
        "FFL",
    )
    assert line.text("en") == "Item 39999000005678 went to bin 3, it must go to FFL — fetch it."


def test_replay_with_ill_other_bin_refused_and_nothing_to_say() -> None:
    config = settings()

    def report(raw: bytes) -> ReplayFinding | None:
        reply = answer(raw)
        assert reply.item_id is not None
        decision = decide(SortInput(tag(reply.item_id), IlsOutcome.OFFLINE), config, Bins(config))
        line = replay_report(decision, reply, config, tag(reply.item_id))
        return None if line is None else line.finding

    assert report(KOHA_ILL) is ReplayFinding.ILL
    assert report(KOHA_CL) is ReplayFinding.OTHER_BIN  # CL A: bin 1, offline it went to 3
    assert report(KOHA_REFUSED) is ReplayFinding.REFUSED
    assert report(EVERGREEN_CHILDREN) is ReplayFinding.OTHER_BIN  # AQ=TN: bin 2
    plain = KOHA_CL.replace(b"CLA|", b"")  # no CL, no alert: the default bin, as offline
    assert report(plain.split(b"AY")[0] + b"\r") is None


def test_an_online_decision_is_never_reported() -> None:
    config = settings()
    decision = run(answered(KOHA_CL))
    assert replay_report(decision, answer(KOHA_HOLD), config) is None


def test_an_offline_item_that_landed_in_the_hold_bin_is_not_reported() -> None:
    config = settings(rules="owner=VN-HN0001 -> hold")  # offline only the tag is known
    decision = decide(offline("39999000004321"), config, Bins(config))
    assert decision.bin == "hold"
    assert replay_report(decision, answer(KOHA_HOLD), config) is None


# -- hostile answers ---------------------------------------------------------------------

_FIELD_IDS = st.sampled_from(["AQ", "AJ", "CL", "CT", "CV", "CK", "CR", "AF", "CS", "ZZ"])
_VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="|\r\n"), max_size=12
)


@hsettings(max_examples=300)
@given(
    ok=st.booleans(),
    fields=st.lists(st.tuples(_FIELD_IDS, _VALUES), max_size=8),
    outcome=st.sampled_from(list(IlsOutcome)),
    verified=st.booleans(),
)
def test_any_answer_gives_a_configured_bin_and_a_consistent_reason(
    ok: bool, fields: list[tuple[str, str]], outcome: IlsOutcome, verified: bool
) -> None:
    config = settings()
    reply = CheckinResponse.create(ok=ok, item_id="B1", institution_id="CPL", extra=fields)
    item = SortInput(tag("B1"), outcome, reply, security_verified=verified)
    decision = decide(item, config, Bins(config))
    assert decision.bin in {b.id for b in config.bins}
    assert decision.is_exception == (decision.reason is not None)
    assert decision.is_exception == (decision.bin == "x")
    if outcome is IlsOutcome.OFFLINE and decision.reason is None:
        assert decision.recheck_on_replay
