from __future__ import annotations

import unicodedata
from datetime import datetime

import pytest
from sqlalchemy import func, select

from ilssim.circulation import Circulation
from ilssim.models import Base, Hold, HoldStatus, Item, Loan, Patron
from ilssim.seed import DEMO_ITEMS, DEMO_PATRONS, seed
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus, MediaType


def _dump(store: Store) -> dict[str, list[tuple[object, ...]]]:
    with store.read() as session:
        return {
            name: [
                tuple(row) for row in session.execute(table.select().order_by(*table.primary_key))
            ]
            for name, table in Base.metadata.tables.items()
        }


def test_seed_is_deterministic(now: datetime) -> None:
    a, b, c = Store.open(), Store.open(), Store.open()
    first = seed(a, 300, rng_seed=7, now=now)
    assert seed(b, 300, rng_seed=7, now=now) == first
    seed(c, 300, rng_seed=8, now=now)
    assert _dump(a) == _dump(b)
    assert _dump(a)["items"] != _dump(c)["items"]
    # the fixtures do not depend on the seed
    fixtures = [row for row in _dump(c)["items"] if str(row[1]).startswith("B0")]
    assert fixtures == [row for row in _dump(a)["items"] if str(row[1]).startswith("B0")]


def test_generated_catalogue_is_realistic(now: datetime) -> None:
    store = Store.open()
    summary = seed(store, 1000, rng_seed=1, now=now)
    assert summary.items == 1000 + len(DEMO_ITEMS)
    assert summary.patrons == 200 + len(DEMO_PATRONS)
    assert summary.loans > 100 and 10 < summary.overdue_loans < summary.loans // 2
    assert summary.holds > 10 and summary.fees > 5 and summary.blocked_patrons > 3
    with store.read() as session:
        media = set(session.scalars(select(Item.media_type).distinct()))
        assert len(media) == len(MediaType)
        assert session.scalar(select(func.count()).select_from(Item).where(Item.set_parts > 1))
        titles = list(session.scalars(select(Item.title)))
        assert any(t == "Truyện Kiều" for t in titles)
        assert any(any(c in t for c in "ắằẳẵặơưđ") for t in titles)
        assert any(t.startswith(("Introduction", "Understanding", "Principles")) for t in titles)
        names = list(session.scalars(select(Patron.name)))
        assert sum(1 for n in names if unicodedata.normalize("NFD", n) != n) > len(names) // 2
        call_numbers = list(session.scalars(select(Item.call_number)))
        assert all(cn[:3].isdigit() for cn in call_numbers)
        branches = set(session.scalars(select(Item.home_branch_code).distinct()))
        assert branches == {"TT", "CG", "HK"}
        # circulation state agrees with the loans and holds
        for item in session.scalars(select(Item)):
            open_loans = session.scalar(
                select(func.count())
                .select_from(Loan)
                .where(Loan.item_id == item.id, Loan.returned_at.is_(None))
            )
            assert (item.status is CirculationStatus.CHARGED) == (open_loans == 1)
            if item.status is CirculationStatus.WAITING_ON_HOLD_SHELF:
                assert session.scalar(
                    select(Hold.id).where(Hold.item_id == item.id, Hold.status == HoldStatus.READY)
                )
        for patron in session.scalars(select(Patron)):
            assert len([loan for loan in patron.loans if loan.returned_at is None]) <= max(
                patron.loan_limit, 3
            )
    # and the generated data is usable through the rules
    circ = Circulation(store, lambda: now)
    assert circ.patron_status("20000000000001").valid_patron
    assert circ.item_information("30000000000001").found


def test_seed_refuses_a_store_with_a_catalogue(store: Store, now: datetime) -> None:
    with pytest.raises(ValueError, match="already has a catalogue"):
        seed(store, 10, now=now)
    with pytest.raises(ValueError):
        seed(Store.open(), -1)


def test_demo_fixtures(store: Store) -> None:
    with store.read() as session:
        patrons = {p.barcode: p for p in session.scalars(select(Patron))}
        assert set(patrons) == set(DEMO_PATRONS)
        assert [patrons[b].pin for b in DEMO_PATRONS] == [
            "1234",
            "2345",
            "3456",
            "4567",
            "5678",
            "6789",
        ]
        items = {i.barcode: i for i in session.scalars(select(Item))}
        assert set(items) == set(DEMO_ITEMS)
        assert items["B0002"].title == "Số đỏ" and items["B0002"].author == "Vũ Trọng Phụng"
        assert items["B0003"].author == "Tô Hoài"
        assert unicodedata.is_normalized("NFD", items["B0003"].title)
