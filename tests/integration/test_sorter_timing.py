"""The physical side: a late ILS under each policy, the ILS away and back (replay exactly
once, a hold found on replay told to staff), the belt's controller lost and back, a jam."""

from __future__ import annotations

from pathlib import Path

from drivers.sim.conveyor import Fate
from drivers.sim.reader import item_tag
from sorter.reasons import ExceptionReason
from tests.integration.sorter_rig import RATE, sorter_rig

# The decision is due 1.9 s (simulated) after the read: 1.9 / RATE s of the wall.
LATE = 1.9 / RATE + 0.6
"""Seconds the ILS takes to answer: past the decision deadline, by a clear margin."""


def test_a_late_ils_under_hold_belt_stops_the_belt_and_the_item_still_reaches_its_bin(
    tmp_path: Path,
) -> None:
    with sorter_rig(tmp_path, late="hold_belt", zone=1.0) as rig:
        rig.ils_sim.faults.latency = LATE
        (item,) = rig.feed([item_tag("B0009")])
        assert rig.wait_event("belt_stopped")["why"] == "late_ils"
        event = rig.wait_event("item", item_id="B0009")
        assert (event["outcome"], event["bin"]) == ("sorted", "hold")
        rig.settle([item])
        assert (item.fate, item.bin) == (Fate.IN_BIN, 2)
        assert rig.sorter.journal.latest("B0009").state == "done"


def test_a_late_ils_under_exception_then_finish_sends_it_aside_and_finishes_the_checkin(
    tmp_path: Path,
) -> None:
    with sorter_rig(tmp_path, late="exception_then_finish") as rig:
        rig.ils_sim.faults.latency = LATE
        (item,) = rig.feed([item_tag("B0002")])
        event = rig.wait_event("item", item_id="B0002")
        assert (event["outcome"], event["reason"]) == ("exception", ExceptionReason.LATE_ILS)
        line = rig.wait_event("staff_report", item_id="B0002")
        assert "B0002" in line["text"]["en"] and line["text"]["vi"]
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        # The checkin went through at the ILS all the same: nothing was lost.
        assert rig.sorter.journal.latest("B0002").state in {"done", "flagged"}
        assert rig.sorter.staff_report()[0]["item_id"] == "B0002"
        assert rig.sorter.status()["belt"] == "running"


def test_ils_down_sorts_by_the_rules_then_replays_once_and_reports_a_hold(tmp_path: Path) -> None:
    # The link's reconnection attempts take a while: a long field keeps the tag in reach.
    with sorter_rig(tmp_path, zone=1.0) as rig:
        rig.ils_sim.faults.down = True
        rig.ils_sim.drop_all_connections()
        items = rig.feed([item_tag("B0009"), item_tag("B0002")])
        first = rig.wait_event("item", item_id="B0009")
        assert (first["outcome"], first["bin"]) == ("sorted", "1")  # the default: no CV offline
        rig.settle(items)
        assert rig.sorter.status()["queue"] == 2
        rig.ils_sim.faults.down = False
        rig.sorter.maintain()
        assert {t.item_id: t.state for t in rig.sorter.journal.all()} == {
            "B0009": "replayed",
            "B0002": "replayed",
        }
        (line,) = rig.sorter.staff_report()
        assert line["item_id"] == "B0009" and line["bin"] == "1"
        assert "hold" in line["text"]["en"]
        rig.sorter.maintain()  # nothing left: no second checkin, no second line
        assert len(rig.sorter.staff_report()) == 1
        assert rig.sorter.status()["queue"] == 0


def test_the_controller_lost_stops_everything_and_it_resumes_on_its_own(tmp_path: Path) -> None:
    """The belt and intake stop, staff are told, and the sorter starts again by itself."""
    with sorter_rig(tmp_path) as rig:
        (item,) = rig.feed([item_tag("B0011")])
        rig.wait_event("item", item_id="B0011")
        rig.machine.drop_link()
        lost = rig.wait_event("plc_lost")
        assert lost["text"]["en"].startswith("The link")
        status = rig.sorter.status()
        assert (status["state"], status["link"], status["belt"]) == ("plc_lost", "lost", "stopped")
        assert rig.machine.outputs["belt"] is False and rig.machine.outputs["shutter"] is False
        rig.machine.restore_link()
        rig.wait_event("plc_back")
        rig.wait_event("state", state="running")
        # Where the belt stood while nobody could see it is not known for sure (a PLC
        # stops it when its own watchdog says): the item goes aside, and staff are told.
        line = rig.wait_event("staff_report", item_id="B0011")
        assert "link" in line["text"]["en"]
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        rig.wait_counts({"transit": 0, "x": 1})


def test_a_jam_stops_the_belt_and_after_staff_clear_it_the_belt_items_go_aside(
    tmp_path: Path,
) -> None:
    with sorter_rig(tmp_path) as rig:
        (item,) = rig.feed([item_tag("B0011")])
        rig.machine.jam(item, 1.7)  # stuck under the first diverter's eye
        stopped = rig.wait_event("belt_stopped", why="jam")
        assert stopped["where"] == ["at1"]
        assert rig.sorter.status()["state"] == "stopped"
        assert rig.machine.outputs["belt"] is False
        rig.machine.clear_jam(item)
        rig.sorter.pause(False)  # staff: resume
        line = rig.wait_event("staff_report", item_id="B0011")
        assert "jam" in line["text"]["en"]
        rig.settle([item])
        assert item.fate is Fate.IN_EXCEPTION_BIN
        rig.wait_counts({"transit": 0, "x": 1})
