"""The simulator's SQLite database (see :mod:`engine.db` for how it is opened and locked)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from engine import db

if TYPE_CHECKING:
    # Only for the annotations: importing alembic (and mako) at run time costs a process
    # holding the simulator (``sip2+sim://``) several MB it keeps for life (issue 15);
    # engine.db imports it only when a database needs migrating.
    from alembic.config import Config
    from sqlalchemy import Connection

__all__ = ["MIGRATIONS_DIR", "Store", "alembic_config", "head_revision"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Store(db.SqliteStore):
    """One simulator database. Create it with :meth:`open`."""

    MIGRATIONS: ClassVar[Path] = MIGRATIONS_DIR


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    return db.alembic_config(MIGRATIONS_DIR, connection, url)


def head_revision() -> str | None:
    return db.head_revision(MIGRATIONS_DIR)
