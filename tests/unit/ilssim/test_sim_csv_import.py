from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ilssim.csv_import import (
    PATRON_COLUMNS,
    CsvImportError,
    import_items,
    import_patrons,
)
from ilssim.models import BlockSource, Item, Patron, PatronType
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus, MediaType, SecurityMarker

PATRONS = (
    ",".join(PATRON_COLUMNS)
    + """
C1001,1111,Nguyễn Văn Nam,nam@example.vn,student,,no,,,2027-12-31,vi,TT
C1002,2222,Trần Thị Bích Ngọc,,child,4,có,Chưa trả sách,,,en,CG
C1003,3333,"Lê, Minh Tuấn",,,,,,yes,,,HK
"""
)

NFD_TITLE = unicodedata.normalize("NFD", "Những ngày thơ ấu")
ITEM_HEADER = "title,barcode,author,media_type,call_number,home_library,current_location,"
ITEM_HEADER += "sort_bin,set_parts,status,loan_fee,security_marker,bib_id"
ITEMS = (
    ITEM_HEADER
    + f"""
Quê nội,I2001,Võ Quảng,book,895.92233 VO,TT,,,,,,,
{NFD_TITLE},I2002,Nguyên Hồng,001,895.92283 NGU,CG,TT,7,2,available,,,
Phim tài liệu Hà Nội,I2003,,video_tape,791.43,HK,,,,lost,15.000,01,film-1
Quê nội,I2004,Võ Quảng,1,895.92233 VO,HK,,,,,,,
"""
)


def _count(store: Store, model: type[Patron | Item]) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_patrons_from_a_file_with_bom(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "patrons.csv"
    path.write_text(PATRONS, encoding="utf-8-sig")
    result = import_patrons(store, path)
    assert result.created == 3 and result.source == str(path)
    with store.read() as session:
        patrons = {p.barcode: p for p in session.scalars(select(Patron))}
    nam, ngoc, tuan = patrons["C1001"], patrons["C1002"], patrons["C1003"]
    assert nam.name == "Nguyễn Văn Nam" and nam.patron_type is PatronType.STUDENT
    assert nam.loan_limit == 10 and not nam.blocked and str(nam.expires_on) == "2027-12-31"
    assert ngoc.loan_limit == 4 and ngoc.blocked and ngoc.block_reason == "Chưa trả sách"
    assert ngoc.block_source is BlockSource.STAFF and ngoc.language == "en"
    assert tuan.name == "Lê, Minh Tuấn" and tuan.card_lost and tuan.blocked
    assert tuan.patron_type is PatronType.ADULT and tuan.email is None


def test_import_items_from_a_stream_keeps_text_as_is(store: Store) -> None:
    result = import_items(store, io.StringIO("\ufeff" + ITEMS))
    assert result.created == 4
    with store.read() as session:
        items = {i.barcode: i for i in session.scalars(select(Item))}
    assert items["I2002"].title == NFD_TITLE  # not normalised
    assert items["I2002"].current_branch_code == "TT" and items["I2002"].sort_bin == "7"
    assert items["I2002"].set_parts == 2 and items["I2001"].media_type is MediaType.BOOK
    film = items["I2003"]
    assert film.media_type is MediaType.VIDEO_TAPE and film.status is CirculationStatus.LOST
    assert film.loan_fee == 15_000 and film.security_marker is SecurityMarker.NONE
    assert film.bib_id == "film-1" and film.owner_code == "MUONTRA"
    assert items["I2001"].bib_id == items["I2004"].bib_id  # same title and author
    assert items["I2001"].bib_id != items["I2002"].bib_id


def test_bad_rows_are_all_reported_and_nothing_is_imported(store: Store) -> None:
    before = _count(store, Patron)
    text = (
        "barcode,pin,name,patron_type,loan_limit,blocked,expires_on,language,home_library\n"
        "C1,1,Một,adult,,no,,vi,TT\n"
        "C2,,Hai,wizard,-1,perhaps,31/12/2027,fr,XX\n"
        "C1,3,Ba,,,,,,TT\n"
        "P0001,4,Bốn,,,,,,TT\n"
    )
    with pytest.raises(CsvImportError) as caught:
        import_patrons(store, io.StringIO(text))
    errors = {(e.line, e.column) for e in caught.value.errors}
    assert errors == {
        (3, "pin"),
        (3, "patron_type"),
        (3, "loan_limit"),
        (3, "blocked"),
        (3, "expires_on"),
        (3, "language"),
        (3, "home_library"),
        (4, "barcode"),
        (5, "barcode"),
    }
    message = str(caught.value)
    assert "line 3, column 'home_library': unknown branch 'XX'" in message
    assert "line 4, column 'barcode': duplicate of line 2" in message
    assert "nothing imported" in message
    assert _count(store, Patron) == before


def test_header_problems(store: Store) -> None:
    with pytest.raises(CsvImportError) as caught:
        import_items(store, io.StringIO("barcode,titel,home_library\nX1,Sách,TT\n"))
    assert {(e.line, e.column) for e in caught.value.errors} == {(1, "titel"), (1, "title")}
    with pytest.raises(CsvImportError, match="empty"):
        import_items(store, io.StringIO(""))


def test_item_rows_that_need_circulation_are_refused(store: Store) -> None:
    text = (
        "barcode,title,home_library,status,media_type,set_parts,current_location\n"
        "X1,Sách một,TT,charged,,,\n"
        "X2,Sách hai,TT,,dvd,0,ZZ\n"
        "B0001,Sách ba,TT,,,,\n"
        "X4,Sách bốn,TT,03,,,,extra\n"
    )
    before = _count(store, Item)
    with pytest.raises(CsvImportError) as caught:
        import_items(store, io.StringIO(text))
    errors = {(e.line, e.column) for e in caught.value.errors}
    assert errors == {
        (2, "status"),
        (3, "media_type"),
        (3, "set_parts"),
        (3, "current_location"),
        (4, "barcode"),
        (5, None),
    }
    assert "comes from circulation" in str(caught.value)
    assert _count(store, Item) == before
