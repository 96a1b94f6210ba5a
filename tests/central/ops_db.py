"""Fresh central databases for the staff-side tests: SQLite, and PostgreSQL when core's
``pg_server`` fixture (tests/central/conftest.py, from Debian's server) is there.

With core's ``central.db`` present the database is built by alembic, the whole history
(c0001 then c0002), so these tests also prove the migrations; before that, by
``Base.metadata.create_all``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from central.cli_staff import open_database

_numbers = itertools.count()


def _engine(url: str) -> Engine:
    return open_database(url)


def sqlite_sessions(folder: Path) -> Callable[[], Session]:
    return sessionmaker(_engine(f"sqlite:///{folder / 'central.sqlite'}"), expire_on_commit=False)


@pytest.fixture(params=["sqlite", "postgresql"], name="fresh_db")
def fresh_db_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Session]]:
    """Sessions on a fresh database of each kind."""
    if request.param == "sqlite":
        engine = _engine(f"sqlite:///{tmp_path / 'central.sqlite'}")
    else:
        try:
            server = request.getfixturevalue("pg_server")
        except pytest.FixtureLookupError:
            pytest.skip("no PostgreSQL fixture yet (tests/central/conftest.py comes with core)")
        name = f"ops{os.getpid()}_{next(_numbers)}"
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = _engine(server.url(name))
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()
