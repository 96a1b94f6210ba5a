from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ilssim.circulation import VIETNAM_TZ, Circulation, NoticeCode, Policy
from ilssim.models import Fee, Hold, HoldStatus, Item, Loan, Patron
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus, FeeType, HoldMode

Due = Callable[[datetime, int], datetime]
OpenLoans = Callable[[str], list[Loan]]


# --------------------------------------------------------------------------- online


def test_checkout_available_book(
    circ: Circulation, store: Store, now: datetime, due: Due, open_loans: OpenLoans
) -> None:
    result = circ.checkout("P0001", "B0001", "1234", terminal="kiosk-1")
    assert result.ok and not result.renewal_ok and result.desensitize
    assert result.magnetic_media is False
    assert result.due_at == due(now, 21)
    assert result.due_at.astimezone(VIETNAM_TZ).strftime("%Y-%m-%d %H:%M:%S") == (
        "2026-03-23 23:59:59"
    )
    assert result.item and result.item.title == "Truyện Kiều"
    assert result.item.circulation_status is CirculationStatus.CHARGED
    assert result.patron and result.patron.barcode == "P0001"
    assert result.code is NoticeCode.CHECKED_OUT and "23/03/2026" in result.notices[0].vi
    loans = open_loans("B0001")
    assert len(loans) == 1 and loans[0].checked_out_at == now and not loans[0].offline


def test_due_dates_by_media_and_patron_type(circ: Circulation, now: datetime, due: Due) -> None:
    assert circ.checkout("P0001", "B0007").due_at == due(now, 7)  # magazine
    assert circ.checkout("P0001", "B0018").due_at == due(now, 7)  # CD
    assert circ.checkout("P0005", "B0002").due_at == due(now, 42)  # staff book
    assert circ.checkout("P0001", "B0006").due_at == due(now, 21)  # book with CD


def test_due_dates_child(store: Store, clock: object, now: datetime, due: Due) -> None:
    circ = Circulation(store, clock, Policy())  # type: ignore[arg-type]
    with store.write() as session:
        patron = session.scalar(select(Patron).where(Patron.barcode == "P0004"))
        assert patron
        patron.loan_limit = 10
    assert circ.checkout("P0004", "B0001").due_at == due(now, 14)


def test_refusals_for_the_patron(circ: Circulation, store: Store, open_loans: OpenLoans) -> None:
    cases = {
        ("P0001", "B0001", "9999"): NoticeCode.WRONG_PIN,
        ("NOPE", "B0001", None): NoticeCode.PATRON_UNKNOWN,
        ("P0002", "B0001", None): NoticeCode.CARD_LOST,
        ("P0006", "B0001", None): NoticeCode.PATRON_BLOCKED,
        ("P0003", "B0001", None): NoticeCode.FINES_EXCEED_LIMIT,
        ("P0004", "B0001", None): NoticeCode.LOAN_LIMIT,
    }
    for (patron, item, pin), code in cases.items():
        result = circ.checkout(patron, item, pin)
        assert not result.ok and result.code is code, (patron, result.code)
        assert not result.desensitize and result.due_at is None
    assert open_loans("B0001") == []
    blocked = circ.checkout("P0006", "B0001")
    assert "Blocked by a self-service device" in blocked.notices[0].en
    assert not circ.checkout("NOPE", "B0001").valid_patron


def test_too_many_overdue_blocks_checkout(store: Store, clock: object) -> None:
    circ = Circulation(store, clock, Policy(max_overdue_items=1))  # type: ignore[arg-type]
    assert circ.checkout("P0004", "B0001").code is NoticeCode.TOO_MANY_OVERDUE


def test_refusals_for_the_item(circ: Circulation) -> None:
    assert circ.checkout("P0001", "NOPE").code is NoticeCode.ITEM_UNKNOWN
    assert circ.checkout("P0001", "B0008").code is NoticeCode.ITEM_ON_LOAN
    assert circ.checkout("P0001", "B0012").code is NoticeCode.ITEM_NOT_AVAILABLE
    assert circ.checkout("P0001", "B0005").code is NoticeCode.ITEM_ON_HOLD


def test_checkout_of_own_loan_is_a_renewal(circ: Circulation, now: datetime, due: Due) -> None:
    result = circ.checkout("P0001", "B0010", "1234")
    assert result.ok and result.renewal_ok and result.renewals == 1
    assert result.code is NoticeCode.RENEWED
    assert result.due_at == due(now, 21)
    refused = circ.checkout("P0001", "B0010", renewal_allowed=False)
    assert not refused.ok and refused.code is NoticeCode.ALREADY_ON_LOAN_TO_YOU
    at_limit = circ.checkout("P0001", "B0013")
    assert not at_limit.ok and not at_limit.renewal_ok and at_limit.code is NoticeCode.RENEWAL_LIMIT


def test_ready_hold_is_fulfilled_by_its_patron(circ: Circulation, store: Store) -> None:
    result = circ.checkout("P0005", "B0005", "5678")
    assert result.ok
    assert [n.code for n in result.notices] == [NoticeCode.CHECKED_OUT, NoticeCode.HOLD_FULFILLED]
    with store.read() as session:
        hold = session.scalar(select(Hold).where(Hold.bib_id == "demo0005"))
        assert hold and hold.status is HoldStatus.FULFILLED


def test_title_hold_of_another_patron_blocks_checkout_of_a_shelf_copy(
    circ: Circulation,
) -> None:
    assert circ.hold("P0005", HoldMode.ADD, title_id="demo0015").ok
    assert circ.checkout("P0001", "B0015").code is NoticeCode.ITEM_ON_HOLD
    assert circ.checkout("P0005", "B0015").ok


def test_loan_fee_must_be_acknowledged(circ: Circulation, store: Store) -> None:
    first = circ.checkout("P0001", "B0014")
    assert not first.ok and first.code is NoticeCode.FEE_NOT_ACKNOWLEDGED
    assert first.fee_type is FeeType.RENTAL and first.fee_amount == 10_000
    assert first.magnetic_media is True
    second = circ.checkout("P0001", "B0014", fee_acknowledged=True)
    assert second.ok and second.fee_amount == 10_000
    assert NoticeCode.LOAN_FEE_CHARGED in [n.code for n in second.notices]
    with store.read() as session:
        fee = session.scalar(select(Fee).where(Fee.fee_type == FeeType.RENTAL))
        assert fee and fee.amount == 10_000


def test_multi_part_item_warns(circ: Circulation) -> None:
    result = circ.checkout("P0001", "B0017")
    assert result.ok and result.notices[-1].code is NoticeCode.SET_PARTS


def test_transit_item_can_be_lent_and_transit_ends(circ: Circulation, store: Store) -> None:
    assert circ.checkin("B0004", "TT").destination == "CG"
    assert circ.checkout("P0001", "B0004").ok
    with store.read() as session:
        item = session.scalar(select(Item).where(Item.barcode == "B0004"))
        assert item and item.destination_branch_code is None


# --------------------------------------------------------------------------- offline


def test_no_block_accepts_what_rules_would_refuse(
    circ: Circulation, now: datetime, due: Due, open_loans: OpenLoans
) -> None:
    at = now - timedelta(hours=2)
    result = circ.checkout("P0002", "B0001", no_block=True, transaction_at=at)
    assert result.ok and result.offline
    assert result.due_at == due(at, 21)
    assert NoticeCode.OFFLINE_ACCEPTED in [n.code for n in result.notices]
    (loan,) = open_loans("B0001")
    assert loan.checked_out_at == at and loan.offline
    # wrong PIN, fines, loan limit: it already happened
    assert circ.checkout("P0003", "B0002", "bad", no_block=True, transaction_at=at).ok
    assert circ.checkout("P0004", "B0007", no_block=True, transaction_at=at).ok
    lost = circ.checkout("P0001", "B0012", no_block=True, transaction_at=at)
    assert lost.ok and NoticeCode.ITEM_FOUND in [n.code for n in lost.notices]


def test_no_block_replay_is_idempotent(
    circ: Circulation, store: Store, now: datetime, open_loans: OpenLoans
) -> None:
    at = now - timedelta(minutes=30)
    first = circ.checkout("P0001", "B0001", no_block=True, transaction_at=at)
    second = circ.checkout("P0001", "B0001", no_block=True, transaction_at=at)
    assert first.ok and second.ok and second.already_recorded and not first.already_recorded
    assert second.due_at == first.due_at
    with store.read() as session:
        assert (
            len(list(session.scalars(select(Loan).join(Item).where(Item.barcode == "B0001")))) == 1
        )
    # still recognised after the item came back
    circ.checkin("B0001", "TT")
    third = circ.checkout("P0001", "B0001", no_block=True, transaction_at=at)
    assert third.already_recorded and open_loans("B0001") == []


def test_no_block_honours_the_promised_due_date(circ: Circulation, now: datetime) -> None:
    due = datetime(2026, 3, 9, 16, 59, 59, tzinfo=UTC)
    result = circ.checkout(
        "P0001", "B0001", no_block=True, transaction_at=now - timedelta(hours=1), nb_due_at=due
    )
    assert result.due_at == due


def test_no_block_still_refuses_the_impossible(circ: Circulation, now: datetime) -> None:
    assert circ.checkout("NOPE", "B0001", no_block=True).code is NoticeCode.PATRON_UNKNOWN
    assert circ.checkout("P0001", "NOPE", no_block=True).code is NoticeCode.ITEM_UNKNOWN
    future = circ.checkout("P0001", "B0001", no_block=True, transaction_at=now + timedelta(hours=1))
    assert future.code is NoticeCode.INVALID_DATE
    # B0010 was lent to P0001 14 days ago: an offline loan 20 days ago contradicts it.
    conflict = circ.checkout(
        "P0003", "B0010", no_block=True, transaction_at=now - timedelta(days=20)
    )
    assert not conflict.ok and conflict.code is NoticeCode.CONFLICTING_LOAN


def test_no_block_closes_a_stale_loan_of_another_patron(
    circ: Circulation, store: Store, now: datetime
) -> None:
    at = now - timedelta(hours=1)
    result = circ.checkout("P0001", "B0008", no_block=True, transaction_at=at)
    assert result.ok and NoticeCode.PREVIOUS_LOAN_CLOSED in [n.code for n in result.notices]
    with store.read() as session:
        loans = list(
            session.scalars(
                select(Loan).join(Item).where(Item.barcode == "B0008").order_by(Loan.id)
            )
        )
        assert loans[0].returned_at == at and loans[0].return_offline
        assert loans[1].returned_at is None and loans[1].patron.barcode == "P0001"
        fine = session.scalar(select(Fee).where(Fee.loan_id == loans[0].id))
        assert fine and fine.amount == 20_000  # 10 days at 2.000 VND


def test_no_block_releases_a_hold_for_someone_else(circ: Circulation, store: Store) -> None:
    result = circ.checkout("P0001", "B0005", no_block=True)
    assert result.ok and NoticeCode.HOLD_RELEASED in [n.code for n in result.notices]
    with store.read() as session:
        hold = session.scalar(select(Hold).where(Hold.bib_id == "demo0005"))
        assert hold and hold.status is HoldStatus.WAITING and hold.item_id is None


def test_no_block_on_own_loan_is_a_renewal(circ: Circulation, now: datetime) -> None:
    result = circ.checkout("P0001", "B0013", no_block=True, transaction_at=now)
    assert result.ok and result.renewal_ok and result.renewals == 3
