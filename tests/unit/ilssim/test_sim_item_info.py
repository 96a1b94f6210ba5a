from __future__ import annotations

import unicodedata
from datetime import datetime

from ilssim.circulation import Circulation, NoticeCode
from protocols.sip2.codes import CirculationStatus, FeeType, MediaType, SecurityMarker


def test_available_book(circ: Circulation) -> None:
    info = circ.item_information("B0001")
    assert info.found and info.item is not None
    item = info.item
    assert item.title == "Truyện Kiều" and item.author == "Nguyễn Du"
    assert item.circulation_status is CirculationStatus.AVAILABLE
    assert item.media_type is MediaType.BOOK
    assert item.security_marker is SecurityMarker.TATTLE_TAPE
    assert (item.permanent_location, item.current_location, item.owner) == ("TT", "TT", "MUONTRA")
    assert item.call_number == "895.9221 NGU"
    assert info.due_at is None and info.hold_queue_length == 0 and info.fee_type is None


def test_charged_item_has_due_date(circ: Circulation, now: datetime) -> None:
    info = circ.item_information("B0008")
    assert info.item and info.item.circulation_status is CirculationStatus.CHARGED
    assert info.due_at is not None and info.due_at < now


def test_item_on_hold_shelf(circ: Circulation) -> None:
    info = circ.item_information("B0005")
    assert info.item and info.item.circulation_status is CirculationStatus.WAITING_ON_HOLD_SHELF
    assert info.hold_queue_length == 1 and info.hold_pickup_date is not None


def test_hold_queue_counts_item_holds(circ: Circulation) -> None:
    assert circ.item_information("B0009").hold_queue_length == 1


def test_nfd_title_is_kept_byte_for_byte(circ: Circulation) -> None:
    info = circ.item_information("B0003")
    assert info.item is not None
    assert unicodedata.is_normalized("NFD", info.item.title)
    assert not unicodedata.is_normalized("NFC", info.item.title)
    assert unicodedata.normalize("NFC", info.item.title) == "Dế Mèn phiêu lưu ký"


def test_rental_fee_and_parts(circ: Circulation) -> None:
    video = circ.item_information("B0014")
    assert video.fee_type is FeeType.RENTAL and video.fee_amount == 10_000
    assert video.item and video.item.media_type is MediaType.VIDEO_TAPE
    parts = circ.item_information("B0017")
    assert parts.item and parts.item.set_parts == 3
    assert parts.notices[0].code is NoticeCode.SET_PARTS
    assert "3 phần" in parts.notices[0].vi and "3 parts" in parts.notices[0].en


def test_lost_and_unknown(circ: Circulation) -> None:
    lost = circ.item_information("B0012")
    assert lost.item and lost.item.circulation_status is CirculationStatus.LOST
    unknown = circ.item_information("NOPE")
    assert not unknown.found and unknown.item is None
    assert unknown.notices[0].code is NoticeCode.ITEM_UNKNOWN
