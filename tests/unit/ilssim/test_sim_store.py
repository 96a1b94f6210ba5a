from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from ilssim.models import Base, Item, Loan, Patron
from ilssim.seed import seed
from ilssim.store import Store, head_revision

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def test_migrations_build_the_models_schema_from_empty(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "sim.db", migrate=False)
    assert store.current_revision() is None
    store.upgrade()
    assert store.current_revision() == head_revision() == "0001"
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_reopening_an_existing_file_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "sim.db"
    with Store.open(path) as store:
        seed(store, 0, now=NOW)
    with Store.open(path) as again, again.read() as session:
        assert session.scalar(select(Patron.name).where(Patron.barcode == "P0001")) == (
            "Nguyễn Thị Hương"
        )


def test_in_memory_store_is_migrated() -> None:
    with Store.open(":memory:") as store:
        assert store.current_revision() == "0001"
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []


def test_partial_unique_index_allows_one_open_loan_per_item(store: Store) -> None:
    with store.write() as session:
        item = session.scalar(select(Item).where(Item.barcode == "B0001"))
        patron = session.scalar(select(Patron).where(Patron.barcode == "P0001"))
        assert item and patron
        # Closed loans may pile up; they do not count.
        for _ in range(2):
            session.add(
                Loan(item=item, patron=patron, checked_out_at=NOW, due_at=NOW, returned_at=NOW)
            )
        session.add(Loan(item=item, patron=patron, checked_out_at=NOW, due_at=NOW))
    with pytest.raises(IntegrityError), store.write() as session:
        item = session.scalar(select(Item).where(Item.barcode == "B0001"))
        patron = session.scalar(select(Patron).where(Patron.barcode == "P0001"))
        session.add(Loan(item=item, patron=patron, checked_out_at=NOW, due_at=NOW))


def test_times_round_trip_as_aware_utc_and_naive_times_are_refused(store: Store) -> None:
    with store.read() as session:
        loan = session.scalars(select(Loan)).first()
        assert loan is not None and loan.checked_out_at.tzinfo is UTC
    with pytest.raises(Exception, match="naive"), store.write() as session:
        loan = session.scalars(select(Loan)).first()
        assert loan is not None
        loan.due_at = datetime(2026, 1, 1)  # naive on purpose
        session.flush()


def test_write_session_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as session:
        patron = session.scalar(select(Patron).where(Patron.barcode == "P0001"))
        assert patron
        patron.name = "changed"
        session.flush()
        raise RuntimeError
    with store.read() as session:
        assert session.scalar(select(Patron.name).where(Patron.barcode == "P0001")) != "changed"
