"""`muontra restore --central` on a real PostgreSQL, killed (SIGKILL to its whole process
group: the command and its ``psql``, as systemd's stop or the OOM killer would)
while the load is mid-way: the database is then the old data whole, schema and
rows, never half of it; the rerun brings back the archive's data exactly and leaves
nothing behind (no staging folder, no other database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from central.backup import RESTORE_APPLICATION, backup_central
from central.db import make_engine, migrate
from central.settings import load_settings
from central.staff_models import AlertRow
from central.store import parse_message
from tests.central.conftest import PgServer, fresh_pg
from tests.central.helpers import PREFIX, state
from tests.central.test_backup_central import checkouts, settings_file, snapshot_of, store
from tests.engine.harness import wait_for

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 25, 8, 15, tzinfo=UTC)
LOCKED = "hourly_stats"
"""The table a reader holds while the restore runs: the restore drops central's tables in
the order of their names first, so it waits there mid-way (alembic_version, alerts,
devices, events... already dropped in its transaction)."""


def add_alert(engine: Engine, device: str) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            AlertRow(key=f"offline|VN|{device}|", rule="offline", site="VN", device=device,
                     subject="", detail="silent 5 min", raised=1.0)
        )  # fmt: skip


def add_device(engine: Engine, device: str) -> None:
    store(engine, [parse_message(*state("online", T0, device=device), PREFIX)])


def contents(engine: Engine) -> dict[str, object]:
    """Everything that must be whole: the rows, and the schema's tables, keys and indexes
    (central on a table without its primary key would store a repeated event twice)."""
    with engine.connect() as connection:
        indexes = connection.execute(
            text("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' "
                 "ORDER BY 1, 2")
        ).all()  # fmt: skip
        constraints = connection.execute(
            text("SELECT conrelid::regclass::text, conname FROM pg_constraint "
                 "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2")
        ).all()  # fmt: skip
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).all()
        devices = connection.execute(text("SELECT device FROM devices ORDER BY 1")).all()
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return {
        **snapshot_of(engine),
        "devices": devices,
        "revision": revision,
        "tables": tables,
        "indexes": indexes,
        "constraints": constraints,
    }


def databases(server: PgServer) -> list[str]:
    admin = make_engine(server.url())
    try:
        with admin.connect() as connection:
            return list(connection.execute(text("SELECT datname FROM pg_database")).scalars())
    finally:
        admin.dispose()


def restore_backends(engine: Engine, waiting: bool) -> int:
    """The restore's connections to the server (only those waiting for a lock)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
    if waiting:
        query += " AND wait_event_type = 'Lock'"
    with engine.connect() as connection:
        found = connection.execute(text(query), {"name": RESTORE_APPLICATION}).scalar_one()
        return int(found)


def dropped_yet(engine: Engine, table: str) -> bool:
    """Whether the restore's transaction holds ``table`` as one that drops it."""
    query = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE a.application_name = :name AND l.granted AND l.mode = 'AccessExclusiveLock' "
        "AND l.relation = to_regclass(:table)"
    )
    with engine.connect() as connection:
        found = connection.execute(text(query), {"name": RESTORE_APPLICATION, "table": table})
        return bool(found.scalar_one())


def restore_command(archive: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "muontra", "restore", str(archive), "--central",
            "--config", str(config), "--force"]  # fmt: skip


def test_a_postgresql_restore_killed_midway_leaves_the_old_data_whole(
    pg_server: PgServer, tmp_path: Path
) -> None:
    url = fresh_pg(pg_server)
    config = settings_file(tmp_path, url)
    engine = make_engine(url)
    try:
        migrate(engine)
        store(engine, checkouts(5))
        add_device(engine, "kiosk-01")
        add_alert(engine, "kiosk-01")
        archive = backup_central(load_settings(config), config, tmp_path / "out", T0)
        backed_up = contents(engine)
        # Written after the backup: a restore takes it back, a killed one must not half.
        store(engine, checkouts(3, 100))
        add_device(engine, "gate-01")
        add_alert(engine, "gate-01")
        before = contents(engine)
        assert before != backed_up
        names = databases(pg_server)

        staging = tmp_path / "tmp"  # the restore's temporary folder, to see what is left
        staging.mkdir()
        env = {**os.environ, "TMPDIR": str(staging)}
        env.pop("MUONTRA_CRASH_AT", None)
        holder = engine.connect()  # a reader of central's, still connected
        try:
            holder.execute(text(f"LOCK TABLE {LOCKED} IN ACCESS SHARE MODE"))
            restore = subprocess.Popen(
                restore_command(archive, config),
                cwd=ROOT, env=env, start_new_session=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                wait_for(
                    lambda: restore.poll() is not None or restore_backends(engine, waiting=True),
                    timeout=60,
                    what="the restore to wait for the reader's lock",
                )
                assert restore.poll() is None, restore.communicate()
                assert dropped_yet(engine, "events")  # mid-way indeed
            finally:
                os.killpg(restore.pid, signal.SIGKILL)
                restore.communicate()
            assert restore.returncode == -signal.SIGKILL
        finally:
            holder.rollback()
            holder.close()
        # The server notices the dead client when its statement ends (the lock is free).
        wait_for(
            lambda: restore_backends(engine, waiting=False) == 0,
            timeout=30,
            what="the killed restore's connection to end",
        )
        assert contents(engine) == before  # the old data whole: schema and rows
        assert list(staging.rglob("*.pgdump"))  # the dead run did leave its dump behind

        again = subprocess.run(
            restore_command(archive, config),
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "left by a restore that was killed" in again.stderr
        assert contents(engine) == backed_up  # the archive's data exactly
        assert [p for p in staging.rglob("*") if p.is_file()] == []
        assert databases(pg_server) == names  # no temporary database either
    finally:
        engine.dispose()
