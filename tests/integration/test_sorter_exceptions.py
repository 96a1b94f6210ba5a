"""Every exception reason is reachable on the bench, and each item lands in the exception
bin with its reason told to the wall screen and kept for staff."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sim.conveyor import Fate
from drivers.sim.field import SimTag
from drivers.sim.reader import item_tag
from sorter.reasons import ExceptionReason
from tests.integration.sorter_rig import Rig, part_tag, sorter_rig


def exception_of(rig: Rig, item_id: str) -> dict[str, object]:
    event = rig.wait_event("item", item_id=item_id)
    assert event["outcome"] == "exception", event
    return event


def test_an_item_without_a_tag_is_unreadable(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        (item,) = rig.feed([None])
        event = exception_of(rig, "")
        assert event["reason"] == ExceptionReason.UNREADABLE_TAG
        assert event["bin"] == "x"
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        assert rig.sorter.journal.all() == []  # nothing to check in, nothing checked in


def test_another_librarys_item_is_not_ours_and_not_checked_in(tmp_path: Path) -> None:
    with sorter_rig(tmp_path, owners='["VN-HN0001"]') as rig:
        (item,) = rig.feed([item_tag("B0002", owner="DK-718500")])
        event = exception_of(rig, "B0002")
        assert event["reason"] == ExceptionReason.NOT_OURS
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        assert rig.sorter.journal.latest("B0002") is None


def test_a_set_with_a_part_missing_is_incomplete(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        (item,) = rig.feed([part_tag("B0017", 1, 3)])
        assert exception_of(rig, "B0017")["reason"] == ExceptionReason.INCOMPLETE_SET
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        assert rig.sorter.journal.latest("B0017") is None


def test_an_item_the_ils_does_not_know_is_refused_with_its_words(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        (item,) = rig.feed([item_tag("B9999")])
        event = exception_of(rig, "B9999")
        assert event["reason"] == ExceptionReason.ILS_REFUSED
        assert event["ils_message"] == "Không tìm thấy tài liệu."
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN


def test_an_ils_away_without_offline_returns_is_an_ils_error(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        rig.sorter.circulation.offline_enabled = False
        rig.ils_sim.faults.down = True
        rig.ils_sim.drop_all_connections()
        (item,) = rig.feed([item_tag("B0002")])
        event = exception_of(rig, "B0002")
        assert event["reason"] == ExceptionReason.ILS_ERROR
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN


def test_a_tag_whose_security_cannot_be_set_is_not_verified(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        tag = item_tag("B0002", afi=0xC2)  # released by its loan, and locked that way
        tag.afi_locked = True
        (item,) = rig.feed([tag])
        assert exception_of(rig, "B0002")["reason"] == ExceptionReason.SECURITY_NOT_VERIFIED
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        assert rig.sorter.journal.latest("B0002").state == "flagged"


def test_a_second_read_in_one_drop_is_already_sorted_and_not_checked_in_twice(
    tmp_path: Path,
) -> None:
    with sorter_rig(tmp_path) as rig:
        first, second = rig.feed([item_tag("B0002"), item_tag("B0002")])
        # The second read is told at once; the first waits for its checkin: on a busy
        # machine the second's word may come first, so both are taken, then compared.
        told = [rig.wait_event("item", item_id="B0002") for _ in range(2)]
        by_outcome = {event["outcome"]: event for event in told}
        assert set(by_outcome) == {"sorted", "exception"}, told
        assert by_outcome["exception"]["reason"] == ExceptionReason.ALREADY_SORTED
        rig.settle([first, second])
        assert (first.fate, first.bin) == (Fate.IN_BIN, 1)
        assert second.fate is Fate.IN_EXCEPTION_BIN
        assert [t.item_id for t in rig.sorter.journal.all()] == ["B0002"]


def test_a_full_bin_overflows_then_with_nothing_left_the_intake_closes(tmp_path: Path) -> None:
    # Bin 1 takes one item, then its overflow "transit" one, then there is nowhere left.
    with sorter_rig(
        tmp_path, capacity=1, overflow="transit", transit_capacity=1, exception_capacity=1
    ) as rig:
        items = rig.feed([item_tag("B0001"), item_tag("B0002"), item_tag("B0003")])
        assert rig.wait_event("item", item_id="B0001")["bin"] == "1"
        assert rig.wait_event("item", item_id="B0002")["bin"] == "transit"
        third = exception_of(rig, "B0003")
        assert third["reason"] == ExceptionReason.BIN_FULL
        rig.settle(items)
        assert [(i.fate, i.bin) for i in items] == [
            (Fate.IN_BIN, 1),
            (Fate.IN_BIN, 3),
            (Fate.IN_EXCEPTION_BIN, 0),
        ]
        state = rig.wait_event("state", state="intake_closed")
        assert state["intake_open"] is False
        assert state["text"]["en"].startswith("The bins are full")
        assert rig.machine.outputs["shutter"] is False
        # Staff empty the exception bin: the intake opens again.
        rig.sorter.empty_bin("x")
        assert rig.wait_event("state", state="running")["intake_open"] is True


@pytest.mark.parametrize("tag", [None, item_tag("B0002")], ids=["blank", "tagged"])
def test_exceptions_are_listed_for_staff_with_both_languages(
    tmp_path: Path, tag: SimTag | None
) -> None:
    with sorter_rig(tmp_path, owners='["VN-HN0001"]') as rig:
        if tag is not None:
            tag = item_tag("B0002", owner="DK-718500")
        rig.feed([tag])
        rig.wait_event("exception")
        (entry,) = rig.sorter.exceptions(10)
        assert entry["bin"] == "x"
        assert entry["text"]["vi"] and entry["text"]["en"]


def test_a_tripped_full_sensor_sends_items_to_the_overflow(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        rig.machine.trip_full(1)  # a trolley filled by hand: its beam is blocked
        assert rig.wait_event("bin_full")["bin"] == "1"
        (item,) = rig.feed([item_tag("B0001")])  # CL 1: bin 1, whose overflow is "x"
        event = rig.wait_event("item", item_id="B0001")
        assert (event["outcome"], event["bin"], event["reason"]) == ("sorted", "x", None)
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        assert {b["id"]: b["full"] for b in rig.sorter.status()["bins"]}["1"] is True
