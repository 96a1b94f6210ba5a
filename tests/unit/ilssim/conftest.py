"""Fixtures for the ILS simulator tests: a seeded in-memory store on a fixed clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ilssim.circulation import VIETNAM_TZ, Circulation, Policy
from ilssim.models import Item, Loan
from ilssim.seed import seed
from ilssim.store import Store

# Monday 2 March 2026, 10:00 in Hanoi.
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def now() -> datetime:
    """The fixed time the store was seeded at (the clock starts there)."""
    return NOW


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo fixtures seeded once into a file; each test gets an in-memory copy."""
    path = tmp_path_factory.mktemp("ils_sim") / "template.db"
    with Store.open(path) as template:
        seed(template, 0, now=NOW)
    return path


@pytest.fixture
def store(seeded_template: Path) -> Iterator[Store]:
    s = Store.open(migrate=False)
    source = sqlite3.connect(seeded_template)
    try:
        with s.engine.connect() as conn:
            target = conn.connection.driver_connection
            assert isinstance(target, sqlite3.Connection)
            source.backup(target)
    finally:
        source.close()
    yield s
    s.close()


@pytest.fixture
def circ(store: Store, clock: FakeClock) -> Circulation:
    return Circulation(store, clock, Policy())


def end_of_day(start: datetime, days: int) -> datetime:
    """When a loan started at ``start`` for ``days`` days is due: end of that Hanoi day."""
    local = start.astimezone(VIETNAM_TZ).date() + timedelta(days=days)
    return datetime.combine(local, time(23, 59, 59), VIETNAM_TZ).astimezone(UTC)


@pytest.fixture
def due() -> Callable[[datetime, int], datetime]:
    """``due(start, days)``: the due time of a loan of ``days`` days started at ``start``."""
    return end_of_day


@pytest.fixture
def open_loans(store: Store) -> Callable[[str], list[Loan]]:
    """``open_loans(item_barcode)``: the item's loans not yet returned."""

    def find(item_barcode: str) -> list[Loan]:
        with store.read() as session:
            return list(
                session.scalars(
                    select(Loan)
                    .join(Item)
                    .where(Item.barcode == item_barcode, Loan.returned_at.is_(None))
                )
            )

    return find
