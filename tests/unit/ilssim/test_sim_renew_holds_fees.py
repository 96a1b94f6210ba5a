from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from ilssim.circulation import Circulation, NoticeCode, Policy
from ilssim.models import BlockSource, Fee, Hold, HoldStatus, Item, Patron, Payment
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus, FeeType, HoldMode, PaymentType

Due = Callable[[datetime, int], datetime]

# --------------------------------------------------------------------------- renew


def test_renew(circ: Circulation, now: datetime, due: Due) -> None:
    result = circ.renew("P0001", "B0010", "1234")
    assert result.ok and result.renewal_ok and result.desensitize
    assert result.renewals == 1 and result.renewals_left == 1
    assert result.due_at == due(now, 21)
    assert result.item and result.item.title == "Vợ nhặt"
    assert result.code is NoticeCode.RENEWED


def test_renew_refusals(circ: Circulation, store: Store) -> None:
    assert circ.renew("P0001", "B0013").code is NoticeCode.RENEWAL_LIMIT
    assert circ.renew("P0004", "B0009").code is NoticeCode.RENEWAL_HOLD
    assert circ.renew("P0004", "B0008").code is NoticeCode.RENEWAL_OVERDUE
    assert circ.renew("P0001", "B0008").code is NoticeCode.NOT_ON_LOAN_TO_YOU
    assert circ.renew("P0001", "B0010", "0000").code is NoticeCode.WRONG_PIN
    assert circ.renew("NOPE", "B0010").code is NoticeCode.PATRON_UNKNOWN
    assert circ.renew("P0001", "NOPE").code is NoticeCode.ITEM_UNKNOWN
    refused = circ.renew("P0001", "B0013")
    assert not refused.ok and refused.renewals == 2 and refused.renewals_left == 0
    # a patron over the fine limit may not renew either
    assert circ.checkout("P0003", "B0001", no_block=True).ok
    assert circ.renew("P0003", "B0001").code is NoticeCode.FINES_EXCEED_LIMIT


def test_overdue_renewal_when_policy_allows(store: Store, clock: object) -> None:
    lenient = Circulation(store, clock, Policy(renew_overdue=True))  # type: ignore[arg-type]
    assert lenient.renew("P0004", "B0008").ok


def test_title_hold_blocks_renewal_only_without_another_copy(circ: Circulation) -> None:
    assert circ.checkout("P0001", "B0015").ok
    assert circ.hold("P0005", HoldMode.ADD, title_id="demo0015").ok
    assert circ.renew("P0001", "B0015").ok  # B0016 can fill the hold
    assert circ.checkout("P0005", "B0016").ok
    # P0005's hold was fulfilled by B0016; now another patron waits and no copy is free
    assert circ.hold("P0003", HoldMode.ADD, title_id="demo0015").ok
    assert circ.renew("P0001", "B0015").code is NoticeCode.RENEWAL_HOLD


def test_no_block_renewal_ignores_the_rules(circ: Circulation, now: datetime) -> None:
    result = circ.renew("P0001", "B0013", no_block=True, transaction_at=now - timedelta(hours=1))
    assert result.ok and result.renewals == 3


def test_renew_all(circ: Circulation) -> None:
    one = circ.renew_all("P0001", "1234")
    assert one.ok and one.renewed == ("B0010",) and one.unrenewed == ("B0013",)
    assert (one.renewed_count, one.unrenewed_count) == (1, 1)
    assert "1" in one.notices[0].vi
    other = circ.renew_all("P0004")
    assert other.ok and other.renewed == () and set(other.unrenewed) == {"B0008", "B0009", "B0011"}
    assert not circ.renew_all("P0001", "0000").ok
    assert not circ.renew_all("NOPE").ok


def test_renew_all_for_a_blocked_patron(circ: Circulation) -> None:
    circ.block_patron("P0001", "test")
    result = circ.renew_all("P0001")
    assert not result.ok and set(result.unrenewed) == {"B0010", "B0013"}


# --------------------------------------------------------------------------- holds


def test_place_item_hold_and_queue_position(circ: Circulation) -> None:
    first = circ.hold("P0003", HoldMode.ADD, item_barcode="B0010", pickup_location="HK")
    # P0003 is over the fine limit but fines do not deny holds
    assert first.ok and first.queue_position == 1 and not first.available
    assert first.pickup_location == "HK" and first.title == "Vợ nhặt"
    second = circ.hold("P0005", HoldMode.ADD, item_barcode="B0009")
    assert second.ok and second.queue_position == 2  # P0001 was first
    assert circ.item_information("B0009").hold_queue_length == 2


def test_title_hold_matches_nfd_title_typed_in_nfc(circ: Circulation) -> None:
    result = circ.hold("P0001", HoldMode.ADD, title_id="Dế Mèn phiêu lưu ký")
    assert result.ok and result.bib_id == "demo0003" and result.available
    assert result.pickup_location == "TT"
    again = circ.hold("P0001", HoldMode.ADD, title_id="demo0003")
    assert not again.ok and again.notices[0].code is NoticeCode.HOLD_EXISTS


def test_hold_refusals(circ: Circulation, store: Store) -> None:
    assert circ.hold("P0001", HoldMode.ADD, item_barcode="B0009").notices[0].code is (
        NoticeCode.HOLD_EXISTS
    )
    assert circ.hold("P0001", HoldMode.ADD, item_barcode="B0010").notices[0].code is (
        NoticeCode.HOLD_ON_OWN_LOAN
    )
    assert circ.hold("P0002", HoldMode.ADD, item_barcode="B0001").notices[0].code is (
        NoticeCode.HOLD_DENIED
    )
    assert circ.hold("P0001", HoldMode.ADD, title_id="Không có").notices[0].code is (
        NoticeCode.TITLE_UNKNOWN
    )
    assert circ.hold("P0001", HoldMode.ADD, item_barcode="NOPE").notices[0].code is (
        NoticeCode.ITEM_UNKNOWN
    )
    assert circ.hold("P0001", HoldMode.ADD, item_barcode="B0001", pickup_location="XX").notices[
        0
    ].code is (NoticeCode.UNKNOWN_BRANCH)
    assert circ.hold("P0001", HoldMode.ADD, item_barcode="B0001", pin="0").notices[0].code is (
        NoticeCode.WRONG_PIN
    )


def test_hold_limit(store: Store, clock: object) -> None:
    circ = Circulation(store, clock, Policy(hold_limit=1))  # type: ignore[arg-type]
    result = circ.hold("P0001", HoldMode.ADD, item_barcode="B0001")
    assert not result.ok and result.notices[0].code is NoticeCode.HOLD_LIMIT


def test_cancel_and_change_holds(circ: Circulation, store: Store) -> None:
    changed = circ.hold("P0001", HoldMode.CHANGE, item_barcode="B0009", pickup_location="HK")
    assert changed.ok and changed.pickup_location == "HK"
    cancelled = circ.hold("P0001", HoldMode.DELETE, item_barcode="B0009")
    assert cancelled.ok and cancelled.notices[0].code is NoticeCode.HOLD_CANCELLED
    again = circ.hold("P0001", HoldMode.DELETE, item_barcode="B0009")
    assert not again.ok and again.notices[0].code is NoticeCode.HOLD_NOT_FOUND
    assert circ.renew("P0004", "B0009").ok  # nobody waits any more
    # cancelling a ready hold takes the item off the hold shelf
    assert circ.hold("P0005", HoldMode.DELETE, item_barcode="B0005").ok
    with store.read() as session:
        item = session.scalar(select(Item).where(Item.barcode == "B0005"))
        assert item and item.status is CirculationStatus.WAITING_TO_BE_RESHELVED
    assert circ.checkout("P0001", "B0005").ok


def test_title_hold_is_trapped_at_checkin(circ: Circulation, store: Store) -> None:
    assert circ.checkout("P0001", "B0015").ok
    assert circ.checkout("P0005", "B0016").ok
    placed = circ.hold("P0004", HoldMode.ADD, title_id="demo0015", pickup_location="CG")
    assert placed.ok and not placed.available
    result = circ.checkin("B0015", "TT")
    assert result.destination == "CG" and result.hold_patron_barcode == "P0004"
    with store.read() as session:
        hold = session.scalar(select(Hold).where(Hold.patron.has(Patron.barcode == "P0004")))
        assert hold and hold.status is HoldStatus.IN_TRANSIT and hold.item_id is not None


def test_expired_holds_no_longer_count(circ: Circulation, clock: object) -> None:
    clock.advance(days=30)  # type: ignore[attr-defined]
    # B0005's hold-shelf period is over: anyone may borrow it
    assert circ.item_information("B0005").hold_queue_length == 0
    assert circ.checkout("P0001", "B0005").ok


# --------------------------------------------------------------------------- fees


def test_payment_goes_to_the_oldest_fee(circ: Circulation, store: Store) -> None:
    result = circ.fee_paid("P0003", 10_000, payment_type=PaymentType.CASH, transaction_id="T1")
    assert result.ok and result.balance == 65_000 and result.transaction_id == "T1"
    assert [(a.amount) for a in result.applied] == [10_000]
    assert "65.000 VND" in result.notices[0].vi
    with store.read() as session:
        fees = list(session.scalars(select(Fee).order_by(Fee.created_at)))
        assert [f.paid for f in fees] == [10_000, 0]
        assert session.scalar(select(Payment.amount)) == 10_000


def test_payment_of_a_chosen_fee_and_across_fees(circ: Circulation) -> None:
    info = circ.patron_information("P0003")
    damage = next(f for f in info.fees if f.fee_type is FeeType.DAMAGE)
    paid = circ.fee_paid("P0003", 15_000, fee_id=damage.fee_id)
    assert paid.ok and paid.applied[0].fee_id == damage.fee_id and paid.balance == 60_000
    rest = circ.fee_paid("P0003", 60_000, fee_type=FeeType.OTHER)
    assert rest.ok and rest.balance == 0
    assert circ.patron_status("P0003").flags == frozenset()


def test_paying_down_fines_lifts_the_checkout_block(circ: Circulation) -> None:
    assert not circ.checkout("P0003", "B0001").ok
    assert circ.fee_paid("P0003", 25_000).ok
    assert circ.checkout("P0003", "B0001").ok


def test_payment_refusals(circ: Circulation) -> None:
    assert circ.fee_paid("P0003", 0).notices[0].code is NoticeCode.PAYMENT_INVALID_AMOUNT
    over = circ.fee_paid("P0003", 80_000)
    assert not over.ok and over.notices[0].code is NoticeCode.PAYMENT_EXCEEDS_BALANCE
    assert circ.fee_paid("P0003", 1, currency="USD").notices[0].code is (
        NoticeCode.PAYMENT_WRONG_CURRENCY
    )
    assert circ.fee_paid("P0003", 1, fee_id="999").notices[0].code is NoticeCode.FEE_UNKNOWN
    assert circ.fee_paid("NOPE", 1).notices[0].code is NoticeCode.PATRON_UNKNOWN
    assert circ.fee_paid("P0003", 1, fee_type=FeeType.REPLACEMENT).notices[0].code is (
        NoticeCode.PAYMENT_EXCEEDS_BALANCE
    )


def test_repeated_transaction_id_pays_once(circ: Circulation) -> None:
    assert circ.fee_paid("P0003", 5_000, transaction_id="BK-1").balance == 70_000
    again = circ.fee_paid("P0003", 5_000, transaction_id="BK-1")
    assert again.ok and again.balance == 70_000 and again.applied == ()
    assert again.notices[0].code is NoticeCode.DUPLICATE_PAYMENT


# --------------------------------------------------------------------------- the rest


def test_end_session(circ: Circulation) -> None:
    assert circ.end_session("P0001").ok
    assert circ.end_session("P0001").notices[0].code is NoticeCode.SESSION_ENDED
    assert not circ.end_session("NOPE").ok


def test_item_status_update(circ: Circulation) -> None:
    result = circ.item_status_update("B0001", "tag:AFI=07")
    assert result.ok and result.item and result.item.properties == "tag:AFI=07"
    assert circ.item_information("B0001").item.properties == "tag:AFI=07"  # type: ignore[union-attr]
    assert not circ.item_status_update("NOPE", "x").ok


def test_block_and_enable_patron(circ: Circulation, store: Store) -> None:
    blocked = circ.block_patron("P0001", "Thẻ bị báo mất", card_retained=True)
    assert blocked.valid_patron
    assert blocked.notices[0].code is NoticeCode.PATRON_BLOCKED_NOW
    assert {f.name for f in blocked.flags} >= {"CHARGE_PRIVILEGES_DENIED"}
    refused = circ.checkout("P0001", "B0001")
    assert refused.code is NoticeCode.PATRON_BLOCKED and "card retained" in refused.notices[0].en
    enabled = circ.patron_enable("P0001", "1234")
    assert enabled.notices[0].code is NoticeCode.PATRON_ENABLED and enabled.flags == frozenset()
    assert circ.checkout("P0001", "B0001").ok
    with store.read() as session:
        patron = session.scalar(select(Patron).where(Patron.barcode == "P0001"))
        assert patron and not patron.blocked and patron.block_source is None


def test_enable_does_not_lift_a_staff_block(circ: Circulation) -> None:
    result = circ.patron_enable("P0002")
    assert result.notices[0].code is NoticeCode.PATRON_STILL_BLOCKED
    kiosk_block = circ.patron_enable("P0006")
    assert kiosk_block.notices[0].code is NoticeCode.PATRON_ENABLED
    # a kiosk blocking an already staff-blocked patron keeps the staff block
    circ.block_patron("P0002")
    assert circ.patron_enable("P0002").notices[0].code is NoticeCode.PATRON_STILL_BLOCKED
    assert not circ.patron_enable("NOPE").valid_patron


def test_block_source_of_seeded_patrons(store: Store) -> None:
    with store.read() as session:
        p6 = session.scalar(select(Patron).where(Patron.barcode == "P0006"))
        assert p6 and p6.block_source is BlockSource.KIOSK
