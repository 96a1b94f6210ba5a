from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import select

from ilssim.circulation import (
    Circulation,
    NoticeCode,
    Policy,
    format_vnd,
    patron_status_string,
)
from ilssim.models import Patron, TransactionKind, TransactionLog
from ilssim.store import Store
from protocols.sip2.codes import PatronStatusFlag as F


def test_good_patron_with_right_pin(circ: Circulation) -> None:
    result = circ.patron_status("P0001", "1234", terminal="kiosk-1")
    assert result.valid_patron and result.valid_pin is True and result.ok
    assert result.flags == frozenset()
    assert result.status == " " * 14
    assert result.patron is not None and result.patron.name == "Nguyễn Thị Hương"
    assert result.patron.home_library == "TT" and result.patron.sip2_language == "000"
    assert result.fee_amount == 0 and result.currency == "VND"
    assert result.notices[0].code is NoticeCode.PATRON_OK


def test_missing_pin_is_not_checked_and_wrong_pin_is_reported(circ: Circulation) -> None:
    assert circ.patron_status("P0001").valid_pin is None
    wrong = circ.patron_status("P0001", "0000")
    assert wrong.valid_patron and wrong.valid_pin is False and not wrong.ok
    assert wrong.notices[0].code is NoticeCode.WRONG_PIN


def test_unknown_patron(circ: Circulation) -> None:
    result = circ.patron_status("NOPE", "1")
    assert not result.valid_patron and result.valid_pin is False and result.patron is None
    assert F.CHARGE_PRIVILEGES_DENIED in result.flags
    assert result.notices[0].code is NoticeCode.PATRON_UNKNOWN


def test_lost_card_flags(circ: Circulation) -> None:
    result = circ.patron_status("P0002", "2345")
    assert {
        F.CARD_REPORTED_LOST,
        F.CHARGE_PRIVILEGES_DENIED,
        F.RENEWAL_PRIVILEGES_DENIED,
        F.HOLD_PRIVILEGES_DENIED,
        F.RECALL_PRIVILEGES_DENIED,
    } == result.flags
    assert result.status == "YYYYY         "
    assert result.notices[0].code is NoticeCode.CARD_LOST


def test_excessive_fines_and_fees(circ: Circulation) -> None:
    result = circ.patron_status("P0003", "3456")
    assert result.fee_amount == 75_000 and result.fine_amount == 60_000
    assert F.EXCESSIVE_OUTSTANDING_FINES in result.flags
    assert F.EXCESSIVE_OUTSTANDING_FEES in result.flags
    assert F.CHARGE_PRIVILEGES_DENIED in result.flags
    assert result.status[10:12] == "YY"
    notice = result.notices[0]
    assert notice.code is NoticeCode.FINES_EXCEED_LIMIT
    assert "60.000 VND" in notice.vi and "60,000 VND" in notice.en


def test_too_many_items_charged(circ: Circulation) -> None:
    result = circ.patron_status("P0004")
    assert result.flags == {F.TOO_MANY_ITEMS_CHARGED}


def test_too_many_overdue_with_a_stricter_policy(store: Store, clock: object) -> None:
    strict = Circulation(store, clock, Policy(max_overdue_items=1))  # type: ignore[arg-type]
    result = strict.patron_status("P0004")
    assert F.TOO_MANY_ITEMS_OVERDUE in result.flags and F.CHARGE_PRIVILEGES_DENIED in result.flags
    assert result.notices[0].code is NoticeCode.TOO_MANY_OVERDUE


def test_expired_card(circ: Circulation, store: Store) -> None:
    with store.write() as session:
        patron = session.scalar(select(Patron).where(Patron.barcode == "P0001"))
        assert patron
        patron.expires_on = date(2026, 3, 1)
    result = circ.patron_status("P0001")
    assert F.CHARGE_PRIVILEGES_DENIED in result.flags
    assert result.notices[0].code is NoticeCode.PATRON_EXPIRED


def test_patron_information_counts_and_lists(circ: Circulation) -> None:
    info = circ.patron_information("P0004", "4567")
    assert info.ok
    assert (info.charged_items_count, info.overdue_items_count) == (3, 1)
    assert info.items.charged == ("B0008", "B0009", "B0011")  # by due date
    assert info.items.overdue == ("B0008",)
    assert info.charged_items_limit == 3
    assert info.overdue_items_limit == 3 and info.hold_items_limit == 10
    window = circ.patron_information("P0004", start=2, end=2)
    assert window.items.charged == ("B0009",)
    assert window.charged_items_count == 3


def test_patron_information_holds(circ: Circulation) -> None:
    info = circ.patron_information("P0005", "5678")
    assert info.hold_items_count == 1 and info.items.hold == ("B0005",)
    assert info.unavailable_holds_count == 1 and info.items.unavailable_hold == ("B0011",)
    assert info.status.patron is not None and info.status.patron.sip2_language == "001"
    assert any(n.code is NoticeCode.HOLDS_READY for n in info.status.notices)


def test_patron_information_fees(circ: Circulation) -> None:
    info = circ.patron_information("P0003")
    assert info.fine_items_count == 2
    assert [f.outstanding for f in info.fees] == [60_000, 15_000]
    assert info.items.fine == ("B0002", "B0001")
    assert info.fee_limit == 50_000


def test_patron_information_with_wrong_pin_gives_no_lists(circ: Circulation) -> None:
    info = circ.patron_information("P0004", "0000")
    assert not info.ok and info.items.charged == () and info.charged_items_count == 0


def test_status_string_helper() -> None:
    assert patron_status_string([]) == " " * 14
    assert patron_status_string([F.TOO_MANY_ITEMS_BILLED]) == " " * 13 + "Y"


def test_notices_in_both_languages() -> None:
    assert format_vnd(1_234_567) == "1.234.567 VND"
    assert format_vnd(1_234_567, "en") == "1,234,567 VND"


def test_requests_are_logged_without_pins_or_patron_data(
    circ: Circulation, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    circ.patron_status("P0001", "1234", terminal="kiosk-1")
    circ.checkout("P0001", "B0001", "1234", terminal="kiosk-1")
    circ.checkout("P0002", "B0002", "2345", terminal="kiosk-1")
    circ.log_request(TransactionKind.LOGIN, terminal="kiosk-1", ok=True)
    with store.read() as session:
        rows = list(session.scalars(select(TransactionLog).order_by(TransactionLog.id)))
    assert [r.kind for r in rows] == [
        TransactionKind.PATRON_STATUS,
        TransactionKind.CHECKOUT,
        TransactionKind.CHECKOUT,
        TransactionKind.LOGIN,
    ]
    assert [r.ok for r in rows] == [True, True, False, True]
    assert rows[2].code == "card_lost" and rows[1].terminal == "kiosk-1"
    for row in rows:
        assert "1234" not in repr(vars(row)) and "2345" not in repr(vars(row))
    for secret in ("P0001", "P0002", "1234", "Hương", "Nguyễn"):
        assert secret not in caplog.text
