"""Central's database: an engine from a URL (SQLite by default, PostgreSQL in production),
sessions, and alembic migrations run in code.

SQLite serves one library and ``make demo``: WAL so readers never wait for the
writer, a busy timeout so two central processes on one file queue instead of
failing, and ``BEGIN IMMEDIATE`` so a writer takes the lock at the start of its
transaction (a deferred transaction upgrading from reader to writer gets
SQLITE_BUSY, which the busy timeout does not cure). PostgreSQL serves a
province: several central processes write to it at once, and the store's
inserts are written to be safe under that (``ON CONFLICT``, sorted keys).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from central.base import Base
from protocols.extras import require

__all__ = ["HEAD", "current_revision", "make_engine", "migrate", "run_migrations", "sessions"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "heads"
BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is off (isolation_level=None): the
    # "begin" listener below issues BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url``; ``postgresql://`` URLs use psycopg (v3)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # sqlite3 keeps 128 prepared statements per connection, and the store's batched
        # inserts are a statement per batch size: resident memory that grew about 1 MB per
        # 1,000 events until the cache was full. Central's own statements are few.
        options.setdefault("connect_args", {"cached_statements": 16})
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        require("postgres", "central on PostgreSQL (postgresql+psycopg://)")
    options.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **options)


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _load_models() -> None:
    """Import every module whose tables hang from :data:`Base` (the staff side's too, when
    it is installed), so the metadata alembic compares against is complete."""
    importlib.import_module("central.models")
    if importlib.util.find_spec("central.staff_models") is not None:
        importlib.import_module("central.staff_models")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = HEAD) -> None:
    """Bring the database up to ``revision`` (every head by default)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def current_revision(engine: Engine) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def run_migrations() -> None:
    """The body of central/migrations/env.py: run on the connection :func:`migrate` hands over."""
    from alembic import context

    _load_models()
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("central migrates only through central.db.migrate (no alembic.ini)")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
