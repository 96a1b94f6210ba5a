from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ilssim.circulation import Circulation, NoticeCode
from ilssim.models import Fee, Hold, HoldStatus, Item, Loan
from ilssim.store import Store
from protocols.sip2.codes import AlertType, CirculationStatus, FeeType

OpenLoans = Callable[[str], list[Loan]]


def _item(store: Store, barcode: str) -> Item:
    with store.read() as session:
        item = session.scalar(select(Item).where(Item.barcode == barcode))
        assert item is not None
        return item


def _fees(store: Store) -> list[Fee]:
    with store.read() as session:
        return list(session.scalars(select(Fee).where(Fee.fee_type == FeeType.OVERDUE)))


def test_checkin_on_time_goes_back_to_the_shelf(
    circ: Circulation, store: Store, open_loans: OpenLoans
) -> None:
    result = circ.checkin("B0010", "TT", terminal="return-1")
    assert result.ok and result.was_on_loan and result.resensitize
    assert not result.alert and result.alert_type is None and result.destination is None
    assert result.sort_bin == "1"
    assert result.patron_barcode == "P0001" and result.fine_amount == 0
    assert result.code is NoticeCode.CHECKED_IN
    assert result.item and result.item.circulation_status is CirculationStatus.AVAILABLE
    assert open_loans("B0010") == []


def test_overdue_checkin_charges_a_fine(circ: Circulation, store: Store) -> None:
    before = len(_fees(store))
    result = circ.checkin("B0008", "TT")
    assert result.ok and result.fine_amount == 20_000  # 10 days at 2.000 VND
    fine = result.notices[1]
    assert fine.code is NoticeCode.OVERDUE_FINE
    assert "10 ngày" in fine.vi and "20.000 VND" in fine.vi and "20,000 VND" in fine.en
    assert len(_fees(store)) == before + 1
    assert circ.patron_status("P0004").fine_amount == 20_000


def test_fine_is_capped(circ: Circulation, store: Store, clock: object) -> None:
    clock.advance(days=200)  # type: ignore[attr-defined]
    assert circ.checkin("B0008", "TT").fine_amount == 100_000


def test_hold_here_goes_to_the_hold_shelf(circ: Circulation, store: Store) -> None:
    result = circ.checkin("B0009", "TT")
    assert result.ok and result.alert and result.alert_type is AlertType.HOLD_LOCAL
    assert result.alert_type.value == "01"
    assert result.sort_bin == "4" and result.destination is None
    assert (result.hold_patron_barcode, result.hold_patron_name) == ("P0001", "Nguyễn Thị Hương")
    assert NoticeCode.HOLD_HERE in [n.code for n in result.notices]
    assert _item(store, "B0009").status is CirculationStatus.WAITING_ON_HOLD_SHELF
    with store.read() as session:
        hold = session.scalar(select(Hold).where(Hold.bib_id == "demo0009"))
        assert hold and hold.status is HoldStatus.READY and hold.ready_until is not None
    info = circ.patron_information("P0001")
    assert info.items.hold == ("B0009",)
    # checking it in again (a re-scan) keeps it on the hold shelf
    again = circ.checkin("B0009", "TT")
    assert again.alert_type is AlertType.HOLD_LOCAL and again.code is NoticeCode.NOT_ON_LOAN


def test_hold_elsewhere_goes_in_transit_then_waits_there(circ: Circulation, store: Store) -> None:
    result = circ.checkin("B0011", "TT")
    assert result.alert and result.alert_type is AlertType.HOLD_REMOTE
    assert (result.destination, result.destination_name) == ("CG", "Chi nhánh Cầu Giấy")
    assert result.sort_bin == "5" and result.hold_pickup == "CG"
    assert "Chi nhánh Cầu Giấy" in result.notices[-1].vi
    item = _item(store, "B0011")
    assert item.status is CirculationStatus.IN_TRANSIT and item.destination_branch_code == "CG"
    info = circ.item_information("B0011")
    assert info.item and info.item.destination == "CG"
    arrived = circ.checkin("B0011", "CG")
    assert arrived.alert_type is AlertType.HOLD_LOCAL and arrived.sort_bin == "4"
    assert _item(store, "B0011").status is CirculationStatus.WAITING_ON_HOLD_SHELF


def test_item_of_another_branch_goes_home(circ: Circulation, store: Store) -> None:
    result = circ.checkin("B0004", "TT")
    assert result.ok and result.alert and result.alert_type is AlertType.TRANSIT
    assert result.alert_type.value == "04" and result.destination == "CG"
    assert result.code is NoticeCode.NOT_ON_LOAN
    home = circ.checkin("B0004", "CG")
    assert not home.alert and home.sort_bin == "1"
    assert _item(store, "B0004").status is CirculationStatus.AVAILABLE


def test_item_not_on_loan_is_received(circ: Circulation) -> None:
    result = circ.checkin("B0001", "TT")
    assert result.ok and not result.was_on_loan and result.code is NoticeCode.NOT_ON_LOAN
    assert result.sort_bin == "1"


def test_sort_bins_follow_the_mapping(circ: Circulation) -> None:
    assert circ.checkin("B0018", "TT").sort_bin == "2"  # CD
    assert circ.checkin("B0007", "TT").sort_bin == "3"  # magazine
    assert circ.checkin("B0014", "TT").sort_bin == "2"  # video


def test_unknown_item_or_branch_fails(circ: Circulation) -> None:
    unknown = circ.checkin("NOPE", "TT")
    assert not unknown.ok and unknown.code is NoticeCode.ITEM_UNKNOWN and not unknown.resensitize
    branch = circ.checkin("B0010", "XX")
    assert not branch.ok and branch.code is NoticeCode.UNKNOWN_BRANCH


def test_lost_item_is_found(circ: Circulation, store: Store) -> None:
    result = circ.checkin("B0012", "TT")
    assert result.ok and NoticeCode.ITEM_FOUND in [n.code for n in result.notices]
    assert _item(store, "B0012").status is CirculationStatus.AVAILABLE


def test_media_flags_and_parts(circ: Circulation) -> None:
    assert circ.checkin("B0019", "TT").magnetic_media is True
    assert circ.checkin("B0001", "TT").magnetic_media is False
    parts = circ.checkin("B0017", "TT")
    assert parts.notices[-1].code is NoticeCode.SET_PARTS


def test_offline_return_is_dated_and_idempotent(
    circ: Circulation, store: Store, now: datetime
) -> None:
    # B0008 was due 10 days ago; offline it came back 11 days ago, so no fine.
    at = now - timedelta(days=11)
    before = len(_fees(store))
    first = circ.checkin("B0008", "TT", no_block=True, return_at=at)
    assert first.ok and first.was_on_loan and first.fine_amount == 0
    second = circ.checkin("B0008", "TT", no_block=True, return_at=at)
    assert second.ok and second.already_recorded and second.code is NoticeCode.ALREADY_RECORDED
    assert len(_fees(store)) == before
    with store.read() as session:
        loan = session.scalar(select(Loan).join(Item).where(Item.barcode == "B0008"))
        assert loan and loan.returned_at == at and loan.return_offline


def test_online_checkin_ignores_a_return_date(circ: Circulation, now: datetime) -> None:
    result = circ.checkin("B0008", "TT", return_at=now - timedelta(days=11))
    assert result.fine_amount == 20_000


def test_offline_return_older_than_the_current_loan_changes_nothing(
    circ: Circulation, open_loans: OpenLoans, now: datetime
) -> None:
    result = circ.checkin("B0010", "TT", no_block=True, return_at=now - timedelta(days=20))
    assert result.ok and result.code is NoticeCode.RETURN_PREDATES_LOAN
    assert len(open_loans("B0010")) == 1


def test_offline_return_from_the_future_is_refused(circ: Circulation, now: datetime) -> None:
    result = circ.checkin("B0010", "TT", no_block=True, return_at=now + timedelta(days=1))
    assert not result.ok and result.code is NoticeCode.INVALID_DATE


def test_checkin_count_of_loans_closed(circ: Circulation, store: Store) -> None:
    for barcode in ("B0008", "B0009", "B0010", "B0011", "B0013"):
        assert circ.checkin(barcode, "TT").was_on_loan
    with store.read() as session:
        assert (
            session.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None)))
            == 0
        )
