"""A device's SQLite database: opening it, migrating it (alembic), handing out sessions.

Shared by the ILS simulator and the engine's journal; each subclass names its
migrations directory.

Why the transaction handling is explicit: Python's sqlite3 driver starts a
transaction lazily, as DEFERRED, at the first write. Two connections that
both read "this item is free" and then try to write get SQLITE_BUSY on the
upgrade from reader to writer, which a busy timeout does not cure. Every
circulation request therefore runs in :meth:`Store.write`, which begins with
``BEGIN IMMEDIATE``: writers queue on the database lock (bounded by the busy
timeout) and each sees the previous one's committed work. The partial unique
index on open loans is the second line of defence.

A file database runs in WAL mode so that readers never wait for the writer.
WAL with ``synchronous=NORMAL`` survives a killed process but a power cut may take
the last commits back; a store whose every commit must outlive a power cut (the
journal: its record of a loan is written before the ILS is asked) sets ``DURABLE``
and gets ``synchronous=FULL``, an fsync of the log at each commit.
An in-memory database lives in a single connection, shared by every thread
under a lock (there is nothing to gain from concurrency there).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["SqliteStore", "alembic_config"]

log = logging.getLogger(__name__)

# How long a writer waits for the database lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

# SQLite's page cache per connection, in KiB (a negative cache_size is KiB). The default
# is 2 MiB per connection, and a pool holds several per database: on a device's small
# tables 512 KiB keeps the hot pages and the process a few MB smaller (issue 15).
CACHE_KIB = 512

_BEGIN_OPTION = "muontra_sqlite_begin"


def migrate_in_child(enabled: bool = True) -> None:
    """Have file databases that need migrating migrated by a short-lived child process.

    For the daemons (:func:`engine.cli_daemon.load_device` turns it on): alembic,
    mako and the migration scripts cost a process about 7 MB that stay resident
    for its whole life after a first start or an upgrade (issue 15); a child takes
    them with it when it exits, for about half a second of start-up. Tests and
    tools migrate in-process as before. A child that fails is followed by the
    same migration in-process, which then fails the way it always did.
    """
    SqliteStore.MIGRATE_IN_CHILD = enabled


_CHILD = "import sys; from engine.db import migrate_file; migrate_file(sys.argv[1], sys.argv[2])"


def migrate_file(migrations: str | Path, path: str | Path) -> None:
    """Bring the file database at ``path`` to the head of ``migrations`` (the child's work)."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    _install_sqlite_hooks(engine, wal=True)
    from alembic import command

    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(Path(migrations), connection), "head")
    finally:
        engine.dispose()


def alembic_config(
    migrations: Path, connection: Connection | None = None, url: str | None = None
) -> Config:
    """An alembic configuration built in code, pointing at the packaged migrations.

    With ``connection`` the migrations run on it (and inside its transaction);
    otherwise on ``url``.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def run_migrations(metadata: Any) -> None:
    """The body of every ``migrations/env.py``: run alembic on the handed-over connection.

    There is no alembic.ini: :func:`alembic_config` builds the configuration in
    code and may hand over an open connection (the only way to migrate an
    in-memory SQLite database, which lives and dies with its connection).
    Without one, the URL in ``sqlalchemy.url`` is opened.
    """
    from alembic import context

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url to migrate")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            run(conn)
    finally:
        engine.dispose()


def head_revision(migrations: Path) -> str | None:
    """The newest migration shipped with this version of muontra."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(migrations)).get_current_head()


_REVISION = re.compile(r"^(down_)?revision\b[^=\n]*=\s*(.+)$", re.MULTILINE)


@functools.cache
def script_heads(migrations: Path) -> frozenset[str]:
    """The head revisions of the migration scripts, read from their text without alembic.

    Why not alembic: importing it (and mako, and its script machinery) costs a daemon
    a few MB that stay resident, only to learn that a database already at head needs
    nothing (issue 15). Each script's ``revision = "…"`` and ``down_revision = …``
    lines are what alembic itself reads; the heads are the revisions no script
    builds on. An unreadable script gives no heads, and the caller then asks alembic.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((migrations / "versions").glob("*.py")):
        found = {bool(down): value for down, value in _REVISION.findall(script.read_text("utf-8"))}
        if False not in found:
            return frozenset()
        ids = re.findall(r"[\"']([^\"']+)[\"']", found[False])
        if len(ids) != 1:
            return frozenset()
        revisions.add(ids[0])
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", found.get(True, "None")))
    return frozenset(revisions - parents)


def _install_sqlite_hooks(engine: Engine, *, wal: bool, durable: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class SqliteStore:
    """One database. Create it with :meth:`open` on a subclass that sets ``MIGRATIONS``."""

    MIGRATIONS: ClassVar[Path]
    DURABLE: ClassVar[bool] = False
    """Every commit survives a power cut (``synchronous=FULL``); see the module's docstring."""
    MIGRATE_IN_CHILD: ClassVar[bool] = False
    """See :func:`migrate_in_child`."""

    def __init__(self, engine: Engine, *, path: Path | None) -> None:
        self.engine = engine
        self.path = path
        self._write_engine = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        # An in-memory database is one shared connection: serialise its users.
        self._lock: threading.RLock | None = threading.RLock() if path is None else None
        # Writers of this process queue here rather than in SQLite's busy handler, which
        # sleeps in steps of milliseconds: two threads writing at once lose no time.
        self._writers = threading.Lock()

    @classmethod
    def open(cls, path: str | Path | None = None, *, migrate: bool = True) -> Self:
        """Open (creating if needed) the database at ``path``, or in memory for None/":memory:".

        With ``migrate`` the schema is brought to the newest revision, so a new
        file is ready to use and an old one is upgraded in place.
        """
        if path is None or str(path) == ":memory:":
            engine = create_engine(
                "sqlite://",
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
            _install_sqlite_hooks(engine, wal=False)
            store = cls(engine, path=None)
        else:
            file = Path(path)
            file.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                f"sqlite:///{file}",
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            _install_sqlite_hooks(engine, wal=True, durable=cls.DURABLE)
            store = cls(engine, path=file)
        if migrate:
            store.upgrade()
        return store

    def _guard(self) -> AbstractContextManager[object]:
        return self._lock if self._lock is not None else nullcontext()

    def upgrade(self, revision: str = "head") -> None:
        """Run the alembic migrations up to ``revision``.

        A database already at the scripts' head is left alone without importing
        alembic at all (see :func:`script_heads`): the daemons' usual start.
        """
        where = self.path or "in-memory database"
        if revision == "head":
            heads = script_heads(self.MIGRATIONS)
            if heads and self._stored_revisions() == heads:
                log.info("%s at revision %s", where, ", ".join(sorted(heads)))
                return
        child = revision == "head" and self.path is not None and self.MIGRATE_IN_CHILD
        if child and self._migrate_in_child():
            log.info("%s at revision %s (migrated by a child)", where, self.current_revision())
            return
        from alembic import command

        with self._guard(), self.engine.begin() as connection:
            command.upgrade(alembic_config(self.MIGRATIONS, connection), revision)
        log.info("%s at revision %s", where, self.current_revision())

    def _migrate_in_child(self) -> bool:
        """Migrate to head in a child process (see :func:`migrate_in_child`); True if it did."""
        root = str(Path(__file__).resolve().parent.parent)  # where ``engine`` is importable
        paths = [root, *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        command = [sys.executable, "-c", _CHILD, str(self.MIGRATIONS), str(self.path)]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        except OSError as error:
            log.warning("%s: no child to migrate it (%s); migrating here", self.path, error)
            return False
        # Pooled connections were opened on the old schema; SQLite notices, but why keep them.
        self.engine.dispose()
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            log.warning("%s: migration child failed (%s); migrating here", self.path, last)
            return False
        return True

    def _stored_revisions(self) -> frozenset[str]:
        """What alembic_version holds: empty for a new database (the table is not there)."""
        try:
            with self._guard(), self.engine.connect() as connection:
                rows = connection.execute(text("SELECT version_num FROM alembic_version"))
                return frozenset(str(row[0]) for row in rows)
        except exc.OperationalError:
            return frozenset()

    def current_revision(self) -> str | None:
        """The revision the database is at (None for an empty database)."""
        stored = self._stored_revisions()
        if len(stored) > 1:
            raise RuntimeError(f"the database is at several heads: {sorted(stored)}")
        return next(iter(stored), None)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading: a deferred transaction, rolled back at the end."""
        with self._guard(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in an immediate (write-locked) transaction, committed on success."""
        with (
            self._writers,
            self._guard(),
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def close(self) -> None:
        """Close every pooled connection (an in-memory database is gone after this)."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
