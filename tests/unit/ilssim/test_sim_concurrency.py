"""Two connections must never lend one item twice: threads on a real SQLite file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ilssim.circulation import CheckoutResult, Circulation, NoticeCode
from ilssim.models import Item, Loan, Patron, PatronType
from ilssim.seed import seed
from ilssim.store import Store

THREADS = 12
ITEMS = ("B0001", "B0002", "B0006", "B0015", "B0020")


@pytest.fixture
def file_store(tmp_path: Path, now: datetime) -> Iterator[Store]:
    store = Store.open(tmp_path / "sim.db")
    seed(store, 0, now=now)
    with store.write() as session:
        for i in range(THREADS):
            session.add(
                Patron(
                    barcode=f"T{i:03d}",
                    pin="0000",
                    name=f"Bạn đọc {i}",
                    patron_type=PatronType.ADULT,
                    loan_limit=10,
                    blocked=False,
                    card_lost=False,
                    language="vi",
                    home_branch_code="TT",
                )
            )
    yield store
    store.close()


def _race(circ: Circulation, item: str) -> list[CheckoutResult]:
    barrier = threading.Barrier(THREADS)
    results: list[CheckoutResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            result = circ.checkout(f"T{i:03d}", item, "0000", terminal=f"kiosk-{i}")
            with lock:
                results.append(result)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def test_concurrent_checkouts_of_one_item_make_one_loan(file_store: Store, clock: object) -> None:
    circ = Circulation(file_store, clock)  # type: ignore[arg-type]
    for item in ITEMS:
        results = _race(circ, item)
        assert len(results) == THREADS
        winners = [r for r in results if r.ok]
        assert len(winners) == 1, item
        assert {r.code for r in results if not r.ok} == {NoticeCode.ITEM_ON_LOAN}
    with file_store.read() as session:
        open_per_item = session.execute(
            select(Item.barcode, func.count(Loan.id))
            .join(Loan, Loan.item_id == Item.id)
            .where(Loan.returned_at.is_(None), Item.barcode.in_(ITEMS))
            .group_by(Item.barcode)
        ).all()
    assert sorted(open_per_item) == sorted((item, 1) for item in ITEMS)


def test_a_lost_race_is_answered_not_raised(
    file_store: Store, clock: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Force the stale read a deferred transaction could see: the unique index catches it."""
    circ = Circulation(file_store, clock)  # type: ignore[arg-type]
    assert circ.checkout("T000", "B0001").ok
    monkeypatch.setattr(circ, "_open_loan", lambda session, item_id: None)
    loser = circ.checkout("T001", "B0001")
    assert not loser.ok and loser.code is NoticeCode.ITEM_ON_LOAN
    monkeypatch.undo()
    mine = circ.checkout("T000", "B0001", renewal_allowed=False)
    assert mine.code is NoticeCode.ALREADY_ON_LOAN_TO_YOU
    with file_store.read() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Loan)
            .join(Item)
            .where(Item.barcode == "B0001", Loan.returned_at.is_(None))
        )
    assert count == 1


def test_concurrent_mixed_traffic_keeps_the_store_consistent(
    file_store: Store, clock: object
) -> None:
    circ = Circulation(file_store, clock)  # type: ignore[arg-type]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for item in ITEMS:
                circ.checkout(f"T{i:03d}", item)
                circ.patron_information(f"T{i:03d}")
                circ.checkin(item, "TT")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    with file_store.read() as session:
        for item in session.scalars(select(Item).where(Item.barcode.in_(ITEMS))):
            open_loans = session.scalar(
                select(func.count())
                .select_from(Loan)
                .where(Loan.item_id == item.id, Loan.returned_at.is_(None))
            )
            assert open_loans in (0, 1)
            assert (open_loans == 1) == (item.status.value == "04")
