"""Bin slips on a real python-escpos printer (escpos+dummy) and manifests on disk."""

from __future__ import annotations

import csv
import io
import stat
import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sort_fixtures import bin_, settings

from drivers.printer import EscposPrinter
from drivers.registry import open_device
from engine.mqtt.commands import EmptiedBin, UnknownBin
from engine.receipts.model import ReceiptDeliveryError
from sorter.bins import CSV_COLUMNS, Bins, BinSlip, ManifestItem
from sorter.reasons import ExceptionReason
from sorter.slips import (
    SLIP_ITEM_ID,
    SLIP_NOT_PRINTED,
    SLIP_PRINTED,
    SLIP_STAFF,
    empty_bin_with_slip,
    manifest_name,
    print_bin_slip,
    slip_text_lines,
    write_manifest,
)
from sorter.texts import Text

HANOI = timezone(timedelta(hours=7))
EMPTIED = datetime(2026, 12, 2, 17, 5, 9, tzinfo=HANOI)
PRINTED = datetime(2026, 12, 2, 17, 6, 0, tzinfo=HANOI)
INIT, CUT, RASTER = b"\x1b@", b"\x1bd\x06\x1dV\x00", b"\x1dv0"


def clock() -> datetime:
    return PRINTED


def slip(*items: ManifestItem, bin_id: str = "2") -> BinSlip:
    return BinSlip(bin_id, "Chuyển chi nhánh", "Transit", EMPTIED, items)


def item(
    item_id: str, title: str = "", destination: str = "", reason: ExceptionReason | None = None
) -> ManifestItem:
    return ManifestItem(item_id, title, destination, EMPTIED - timedelta(hours=1), reason)


TRANSIT = slip(
    item("39999000005678", "Truyện Kiều /", "Chi nhánh Cầu Giấy"),
    item("39999000001234", "Perl best practices"),
)


def printer() -> EscposPrinter:
    device = open_device("escpos+dummy://")
    assert isinstance(device, EscposPrinter)
    return device


def test_the_slip_lists_bin_count_staff_items_and_times() -> None:
    lines = slip_text_lines(TRANSIT, "vi", PRINTED, staff="Thủ thư Lan")
    assert lines == [
        "Phiếu thùng 2: Chuyển chi nhánh",
        "Làm trống lúc 02/12/2026 17:05",
        "Thủ thư: Thủ thư Lan",
        "2 tài liệu",
        "-" * 42,
        "1. Truyện Kiều",
        "   Mã tài liệu: 39999000005678",
        "   chuyển tới Chi nhánh Cầu Giấy",
        "2. Perl best practices",
        "   Mã tài liệu: 39999000001234",
        "-" * 42,
        "In lúc 02/12/2026 17:06",
    ]
    english = slip_text_lines(TRANSIT, "en", PRINTED)
    assert english[:3] == ["Bin slip 2: Transit", "Emptied at 2026-12-02 17:05", "2 items"]
    assert "   to Chi nhánh Cầu Giấy" in english and not any("Staff" in x for x in english)


def test_exception_bin_lines_say_why_and_untitled_items_show_their_id() -> None:
    lines = slip_text_lines(
        slip(item("E1", reason=ExceptionReason.NOT_OURS), bin_id="X"), "en", PRINTED
    )
    assert lines[4:6] == ["1. E1", "   Not ours"]


def test_a_hostile_title_cannot_add_lines_or_printer_commands() -> None:
    evil = item("3001", "Sách\r\n\x1b@\x1dV\x00=cmd|' /c calc'!A0\x0c" + "x" * 200)
    lines = slip_text_lines(slip(evil), "en", PRINTED, width_chars=32)
    assert all(len(line) <= 32 for line in lines)
    assert not any(c in line for line in lines for c in "\r\n\x1b\x1d\x00\x0c")


def test_vietnamese_slip_prints_as_raster_on_a_printer_without_a_vietnamese_code_page() -> None:
    device = printer()
    print_bin_slip(device, TRANSIT, "vi", clock, staff="Lan")
    out = device.output
    assert out.startswith(INIT + RASTER) and out.endswith(CUT)
    assert b"Truy" not in out and b"39999000005678" not in out  # all of it is in the image


def test_an_ascii_slip_prints_as_text_in_exact_bytes() -> None:
    device = printer()
    plain = BinSlip("1", "Sach", "Books", EMPTIED, (item("30001", "Perl best practices"),))
    print_bin_slip(device, plain, "en", clock, width_chars=32)
    out = device.output
    body = (
        b"Bin slip 1: Books\nEmptied at 2026-12-02 17:05\n1 items\n"
        + b"-" * 32
        + b"\n1. Perl best practices\n   Item: 30001\n"
        + b"-" * 32
        + b"\nPrinted at 2026-12-02 17:06\n"
    )
    assert out.startswith(INIT + b"\x1bt\x00")
    assert body in out and out.endswith(CUT) and RASTER not in out


def test_a_printer_that_is_gone_raises_in_the_staffs_language() -> None:
    device = printer()
    device.unplugged = True
    with pytest.raises(ReceiptDeliveryError) as caught:
        print_bin_slip(device, TRANSIT, "vi", clock)
    assert str(caught.value) == SLIP_NOT_PRINTED.format("vi", bin="2")
    assert caught.value.channel == "paper" and "unplugged" in caught.value.detail


def read_manifest(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: spreadsheets then read UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_manifest_is_written_with_bom_under_a_dated_name(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "bins", TRANSIT, clock)
    assert path == tmp_path / "bins" / "bin-2-20261202-170600.csv"
    rows = read_manifest(path)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["item_id"], r["title"], r["destination"]) for r in rows] == [
        ("39999000005678", "Truyện Kiều /", "Chi nhánh Cầu Giấy"),
        ("39999000001234", "Perl best practices", ""),
    ]
    assert rows[0]["emptied_at"] == "2026-12-02T17:05:09+07:00"
    assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0  # not for every user of the box
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_a_second_manifest_in_the_same_second_never_replaces_the_first(tmp_path: Path) -> None:
    first = write_manifest(tmp_path, TRANSIT, clock)
    empty = write_manifest(tmp_path, slip(), clock)
    third = write_manifest(tmp_path, slip(), clock)
    assert [first.name, empty.name, third.name] == [
        "bin-2-20261202-170600.csv",
        "bin-2-20261202-170600-2.csv",
        "bin-2-20261202-170600-3.csv",
    ]
    assert len(read_manifest(first)) == 2 and read_manifest(empty) == []


@pytest.mark.parametrize(
    ("bin_id", "name"),
    [
        ("../../etc/passwd", "bin-_etc_passwd-20261202-170600.csv"),
        ("Thùng 3", "bin-Th_ng_3-20261202-170600.csv"),
        ("", "bin-_-20261202-170600.csv"),
    ],
)
def test_a_bin_id_cannot_steer_the_file_name(bin_id: str, name: str) -> None:
    assert manifest_name(slip(bin_id=bin_id), PRINTED) == name


def test_a_data_dir_that_is_not_a_directory_raises_and_is_left_alone(tmp_path: Path) -> None:
    blocker = tmp_path / "bins"
    blocker.write_bytes(b"not a directory")
    with pytest.raises(OSError):
        write_manifest(blocker, TRANSIT, clock)
    assert blocker.read_bytes() == b"not a directory"
    assert [p.name for p in tmp_path.iterdir()] == ["bins"]


_title = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@hsettings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(
    st.lists(
        st.tuples(st.text(string.printable, min_size=1, max_size=20), _title, _title), max_size=5
    )
)
def test_manifest_round_trips_any_catalogue_text(
    tmp_path: Path, rows: list[tuple[str, str, str]]
) -> None:
    """Whatever the catalogue holds comes back from the file (formula-like text with its ')."""
    written = slip(*(item(i, t, d) for i, t, d in rows))
    path = write_manifest(tmp_path, written, clock)
    back = read_manifest(path)
    path.unlink()

    def shown(text: str) -> str:
        return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text

    expected = [(shown(i), shown(t), shown(d)) for i, t, d in rows]
    # csv in newline="" mode keeps a lone \r or \n inside a quoted cell as it was written.
    assert [(r["item_id"], r["title"], r["destination"]) for r in back] == expected


def test_new_texts_exist_in_both_languages_with_the_same_blanks() -> None:
    for text in (SLIP_STAFF, SLIP_PRINTED, SLIP_ITEM_ID, SLIP_NOT_PRINTED):
        assert isinstance(text, Text) and text.vi.strip() and text.en.strip()
        blanks = [
            {f for _, f, _, _ in string.Formatter().parse(v) if f} for v in (text.vi, text.en)
        ]
        assert blanks[0] == blanks[1]


def test_times_print_in_the_zone_they_carry() -> None:
    utc = BinSlip("1", "A", "A", datetime(2026, 12, 2, 10, 5, tzinfo=UTC), ())
    assert slip_text_lines(utc, "en", PRINTED)[1] == "Emptied at 2026-12-02 10:05"


# --- emptying a bin as the sorter does -------------------------------------------------------


def _machine() -> Bins:
    bins = Bins(
        settings(
            bins=[bin_("2", 1.0, 40), bin_("x", None, 40)],
            default_bin="2",
            hold_bin=None,
            ill_bin=None,
            transit={},
            sort_bins={},
            rules="",
        )
    )
    for placed in TRANSIT.items:
        bins.place("2", placed)
    return bins


def test_empty_bin_with_slip_resets_keeps_and_prints(tmp_path: Path) -> None:
    bins, device = _machine(), printer()
    emptied = empty_bin_with_slip(
        bins, "2", staff="Lan", directory=tmp_path, printer=device, language="vi", clock=clock
    )
    assert emptied == EmptiedBin("2", 2, tmp_path / "bin-2-20261202-170600.csv", printed=True)
    assert bins.level("2").count == 0
    assert len(read_manifest(tmp_path / "bin-2-20261202-170600.csv")) == 2
    assert RASTER in device.output


def test_a_dead_printer_loses_nothing_and_an_unknown_bin_changes_nothing(tmp_path: Path) -> None:
    bins, device = _machine(), printer()
    device.unplugged = True
    with pytest.raises(UnknownBin):
        empty_bin_with_slip(
            bins, "9", staff=None, directory=tmp_path, printer=device, language="en", clock=clock
        )
    assert bins.level("2").count == 2 and list(tmp_path.iterdir()) == []
    emptied = empty_bin_with_slip(
        bins, "2", staff=None, directory=tmp_path, printer=device, language="en", clock=clock
    )
    assert not emptied.printed and emptied.items == 2 and bins.level("2").count == 0
    assert emptied.manifest is not None and len(read_manifest(emptied.manifest)) == 2
    # No printer configured at all: the same, without trying.
    none = empty_bin_with_slip(
        bins, "x", staff=None, directory=tmp_path, printer=None, language="en", clock=clock
    )
    assert none.items == 0 and not none.printed and none.manifest is not None


def test_a_manifest_that_cannot_be_written_leaves_the_bin_as_it_was(tmp_path: Path) -> None:
    bins, device = _machine(), printer()
    blocker = tmp_path / "bins"
    blocker.write_bytes(b"")
    with pytest.raises(OSError):
        empty_bin_with_slip(
            bins, "2", staff=None, directory=blocker, printer=device, language="en", clock=clock
        )
    assert bins.contents("2") == TRANSIT.items
    assert device.output == b""  # no slip for a bin that was not emptied
