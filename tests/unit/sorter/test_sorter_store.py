"""The sorter's own database: an item's rows from read to bin, what a restart finds on the
belt (once), staff lines, the latest decision of an item for the replay's comparison."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sorter.store import DECIDED, DIVERTED, READ, SorterStore
from sorter.texts import Text

T0 = datetime(2026, 12, 2, 9, 0)


def decide(store: SorterStore, row: str, bin_id: str, *, recheck: bool = False) -> None:
    store.decided(
        row,
        T0,
        bin_id=bin_id,
        wanted_bin=bin_id,
        reason=None,
        title="Truyện Kiều",
        destination="",
        recheck=recheck,
    )


def test_an_item_goes_from_read_to_decided_to_diverted(tmp_path: Path) -> None:
    store = SorterStore.open(tmp_path / "sorter.sqlite")
    row = store.add_read("B0001", T0, "drop-1", True)
    assert [r.state for r in store.on_belt()] == [READ]
    decide(store, row, "1")
    assert [r.state for r in store.on_belt()] == [DECIDED]
    store.diverted(row, T0 + timedelta(seconds=2), "1")
    assert store.on_belt() == []
    latest = store.latest_decided("B0001")
    assert latest is not None and (latest.bin, latest.state) == ("1", DIVERTED)
    store.close()


def test_a_restart_finds_what_was_on_the_belt_and_marks_it_once(tmp_path: Path) -> None:
    path = tmp_path / "sorter.sqlite"
    store = SorterStore.open(path)
    done = store.add_read("B0001", T0, None, True)
    decide(store, done, "1")
    store.diverted(done, T0, "1")
    on_way = store.add_read("B0009", T0 + timedelta(seconds=2), None, True)
    decide(store, on_way, "hold")
    store.add_read("", T0 + timedelta(seconds=4), None, False)
    store.close()
    again = SorterStore.open(path)  # after the power cut
    left = again.on_belt()
    assert [(r.item_id, r.checked_in) for r in left] == [("B0009", True), ("", False)]
    again.mark_left([r.id for r in left])
    assert again.on_belt() == []
    again.close()


def test_staff_lines_keep_both_languages_in_order(tmp_path: Path) -> None:
    store = SorterStore.open(tmp_path / "sorter.sqlite")
    store.report("B0009", "1", Text("Tài liệu B0009", "Item B0009"), T0)
    store.report("B0011", "x", Text("Tài liệu B0011", "Item B0011"), T0)
    lines = store.reports()
    assert [(line.item_id, line.bin, line.text.en) for line in lines] == [
        ("B0009", "1", "Item B0009"),
        ("B0011", "x", "Item B0011"),
    ]
    assert lines[0].text.vi == "Tài liệu B0009"
    store.close()


def test_the_latest_decision_of_an_item_wins(tmp_path: Path) -> None:
    store = SorterStore.open(tmp_path / "sorter.sqlite")
    first = store.add_read("B0002", T0, "d1", True)
    decide(store, first, "1", recheck=True)
    second = store.add_read("B0002", T0 + timedelta(minutes=5), "d2", False)
    decide(store, second, "x")
    latest = store.latest_decided("B0002")
    assert latest is not None and latest.bin == "x" and latest.recheck is False
    assert store.latest_decided("B9999") is None
    store.close()
