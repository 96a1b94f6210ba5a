"""Bins: counts, full sensors, overflow, the intake, emptying, the slip and the CSV manifest."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sort_fixtures import bin_, settings

from sorter.bins import CSV_COLUMNS, BinLevel, Bins, BinSlip, ManifestItem, manifest_csv, slip_lines
from sorter.reasons import ExceptionReason

NOW = datetime(2026, 12, 2, 10, 45, tzinfo=UTC)


def item(
    item_id: str, title: str = "", destination: str = "", reason: ExceptionReason | None = None
) -> ManifestItem:
    return ManifestItem(item_id, title, destination, NOW, reason)


def small() -> Bins:
    """Bin 1 (capacity 2) overflows to 2 (capacity 1); the exception bin x holds 2."""
    return Bins(
        settings(
            bins=[bin_("1", 1.0, 2, overflow="2"), bin_("2", 2.0, 1), bin_("x", None, 2)],
            default_bin="1",
            hold_bin=None,
            ill_bin=None,
            transit={},
            sort_bins={},
            rules="",
        )
    )


def test_count_capacity_and_overflow() -> None:
    bins = small()
    assert bins.destination("1") == "1"
    bins.place("1", item("A"))
    assert bins.level("1") == BinLevel("1", 1, 2, False) and not bins.is_full("1")
    bins.place("1", item("B"))
    assert bins.is_full("1") and bins.destination("1") == "2"
    bins.place("2", item("C"))
    assert bins.destination("1") is None and bins.destination("2") is None
    assert bins.intake_open  # the exception bin still has room


def test_the_full_sensor_is_believed_before_the_count() -> None:
    bins = small()
    bins.set_sensor("1", True)
    assert bins.level("1").full and bins.destination("1") == "2"
    bins.set_sensor("1", False)
    assert bins.destination("1") == "1"


def test_the_intake_closes_when_the_exception_bin_is_full_and_opens_when_emptied() -> None:
    bins = small()
    bins.place("x", item("E1", reason=ExceptionReason.NOT_OURS))
    assert bins.intake_open
    bins.place("x", item("E2", reason=ExceptionReason.UNREADABLE_TAG))
    assert not bins.intake_open
    slip = bins.empty("x", NOW)
    assert [i.item_id for i in slip.items] == ["E1", "E2"]
    assert bins.intake_open and bins.level("x").count == 0
    bins.set_sensor("x", True)
    assert not bins.intake_open


def test_items_past_capacity_are_still_counted() -> None:
    bins = small()
    for name in "ABC":
        bins.place("2", item(name))
    assert bins.level("2").count == 3


def test_empty_resets_the_count_keeps_the_sensor_and_lists_the_items() -> None:
    bins = small()
    bins.place("1", item("A", "Truyện Kiều", "BR2"))
    bins.set_sensor("1", True)
    slip = bins.empty("1", NOW)
    assert slip == BinSlip("1", "Thùng 1", "Bin 1", NOW, (item("A", "Truyện Kiều", "BR2"),))
    assert bins.level("1") == BinLevel("1", 0, 2, True)
    assert bins.empty("1", NOW).items == ()


def test_move_an_item_that_slipped_past_its_diverter() -> None:
    bins = small()
    bins.place("1", item("A"))
    assert bins.move("A", "x") == "1"
    assert bins.contents("1") == () and [i.item_id for i in bins.contents("x")] == ["A"]
    assert bins.move("nothing", "x") is None


def test_levels_in_configured_order() -> None:
    assert [level.bin_id for level in small().levels()] == ["1", "2", "x"]


def test_manifest_csv_exact_text() -> None:
    slip = BinSlip(
        "x",
        "Ngoại lệ",
        "Exceptions",
        NOW,
        (
            item("B1", 'Say "hi", world', "BR2"),
            item("B2", '=HYPERLINK("http://evil")', reason=ExceptionReason.BIN_FULL),
        ),
    )
    assert manifest_csv(slip) == (
        "bin,emptied_at,item_id,title,destination,reason,placed_at\r\n"
        'x,2026-12-02T10:45:00+00:00,B1,"Say ""hi"", world",BR2,,2026-12-02T10:45:00+00:00\r\n'
        'x,2026-12-02T10:45:00+00:00,B2,"\'=HYPERLINK(""http://evil"")",,bin_full,'
        "2026-12-02T10:45:00+00:00\r\n"
    )


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@hsettings(max_examples=200)
@given(st.lists(st.tuples(_TEXT, _TEXT, _TEXT), max_size=5))
def test_manifest_csv_reads_back_with_every_row_and_no_formula(
    rows: list[tuple[str, str, str]],
) -> None:
    at = NOW.astimezone(timezone(timedelta(hours=7)))
    slip = BinSlip("3", "Thùng 3", "Bin 3", at, tuple(item(*row) for row in rows))
    read = list(csv.reader(io.StringIO(manifest_csv(slip), newline="")))
    assert read[0] == list(CSV_COLUMNS)
    assert len(read) == len(rows) + 1
    for (item_id, title, destination), line in zip(rows, read[1:], strict=True):
        for written, cell in ((item_id, line[2]), (title, line[3]), (destination, line[4])):
            assert cell in (written, "'" + written)
            assert not cell.startswith(("=", "+", "-", "@"))
        assert line[1] == "2026-12-02T17:45:00+07:00"


def test_slip_lines_in_both_languages() -> None:
    slip = BinSlip(
        "x",
        "Ngoại lệ",
        "Exceptions",
        NOW,
        (item("B1", "Truyện Kiều", "BR2"), item("B2", reason=ExceptionReason.NOT_OURS)),
    )
    assert slip_lines(slip, "vi") == [
        "Phiếu thùng x: Ngoại lệ",
        "Làm trống lúc 2026-12-02 10:45",
        "2 tài liệu",
        "",
        "B1  Truyện Kiều",
        "    chuyển tới BR2",
        "B2",
        "    Không phải tài liệu của thư viện",
    ]
    assert slip_lines(slip, "en")[:3] == [
        "Bin slip x: Exceptions",
        "Emptied at 2026-12-02 10:45",
        "2 items",
    ]
    assert slip_lines(slip, "en")[-1] == "    Not ours"


def test_an_item_bound_for_a_bin_takes_its_room_and_is_counted_only_when_it_lands() -> None:
    bins = small()
    a, b = item("A"), item("B")
    bins.bind("1", a)
    bins.bind("1", b)
    # Nothing is in bin 1 yet, but both places are taken: the next item overflows.
    assert bins.level("1") == BinLevel("1", 0, 2, False, bound=2)
    assert bins.is_full("1") and bins.destination("1") == "2"
    assert bins.contents("1") == ()
    bins.land(a, "1", "1")
    assert bins.level("1") == BinLevel("1", 1, 2, False, bound=1)
    assert bins.contents("1") == (a,)
    # B missed its diverter: counted in the exception bin, not in bin 1.
    bins.land(b, "1", "x")
    assert bins.level("1").count == 1 and bins.level("1").bound == 0
    assert bins.contents("x") == (b,)
    assert not bins.is_full("1")


def test_an_item_counted_in_a_bin_it_never_reached_is_taken_back() -> None:
    bins = small()
    a = item("A")
    bins.bind("2", a)
    bins.land(a, "2", "2")
    bins.unland(a, "2", "2")
    # Its room is still taken (it is on the belt), but it is not in the bin.
    assert bins.level("2") == BinLevel("2", 0, 1, False, bound=1)
    assert bins.contents("2") == ()
    bins.land(a, "2", "x")
    assert bins.contents("x") == (a,) and bins.level("2").bound == 0


def test_emptying_a_bin_leaves_the_items_still_on_their_way_to_it() -> None:
    bins = small()
    bins.place("1", item("A"))
    bins.bind("1", item("B"))
    assert [i.item_id for i in bins.empty("1", NOW).items] == ["A"]
    assert bins.level("1").count == 0 and bins.level("1").bound == 1
