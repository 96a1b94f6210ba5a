"""`muontra restore --central` of an archive made by an OLDER central (before a migration
this one has), over a database already at this version's schema: the unlucky library
that upgraded central, then restored last week's archive. On a real PostgreSQL and on
SQLite, the result is the archive's data at this version's schema, exactly as a fresh
database migrated to head has it (no table or index of the newer schema left over
beside the archive's, no "already exists"). An archive made by a NEWER central (a
revision this code does not know) is refused before anything is touched."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from central.backup import CentralRefused, backup_central, restore_central
from central.db import current_revision, head_revisions, make_engine, migrate
from central.settings import load_settings
from central.staff_models import SecurityAlertRow
from muontra.cli import main
from tests.central.conftest import PgServer, fresh_pg
from tests.central.test_backup_central import checkouts, settings_file, snapshot_of, store
from tests.central.test_backup_crash_pg import add_alert, add_device

T0 = datetime(2026, 11, 25, 8, 15, tzinfo=UTC)
OLDER = "c0002"
"""A revision before head: c0003 adds the table ``security_alerts`` (with a foreign key
to ``alerts``) and an index on ``events``, which an archive made at c0002 has not."""
UNKNOWN = "c9999"
"""The revision of a central newer than this code."""


def add_security_alert(engine: Engine, device: str) -> None:
    """An alert with its security row: a row in the newer table, whose key points into a
    table the archive has too (so the old ``alerts`` cannot be dropped alone)."""
    add_alert(engine, device)
    with Session(engine) as session, session.begin():
        alert_id = session.execute(
            text("SELECT id FROM alerts WHERE device = :d"), {"d": device}
        ).scalar_one()
        session.add(SecurityAlertRow(alert_id=alert_id, severity="high", count=1,
                                     evidence={"gate": device}, last_seen=2.0))  # fmt: skip


def pg_schema(engine: Engine) -> dict[str, object]:
    """The schema's tables, indexes, constraints and sequences, by name."""
    with engine.connect() as connection:
        return {
            name: connection.execute(text(query)).all()
            for name, query in {
                "tables": "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                "indexes": "SELECT tablename, indexname FROM pg_indexes "
                "WHERE schemaname = 'public' ORDER BY 1, 2",
                "constraints": "SELECT conrelid::regclass::text, conname, contype "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
                "sequences": "SELECT sequencename FROM pg_sequences "
                "WHERE schemaname = 'public' ORDER BY 1",
                "views": "SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY 1",
                "types": "SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace "
                "AND typtype IN ('e', 'd') ORDER BY 1",
            }.items()
        }


def sqlite_schema(file: Path) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(file)) as connection:
        return sorted(
            connection.execute(
                "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchall()
        )


def contents(engine: Engine) -> dict[str, object]:
    with engine.connect() as connection:
        devices = connection.execute(text("SELECT device FROM devices ORDER BY 1")).all()
        security = connection.execute(text("SELECT count(*) FROM security_alerts")).all()
    return {**snapshot_of(engine), "devices": devices, "security": security,
            "revision": current_revision(engine)}  # fmt: skip


def older_archive(url: str, folder: Path) -> tuple[Path, Path, dict[str, object]]:
    """An archive made at :data:`OLDER`, then the database upgraded to head and written to.
    Returns the archive, the config and the data the archive holds."""
    config = settings_file(folder, url)
    engine = make_engine(url)
    try:
        migrate(engine, OLDER)
        store(engine, checkouts(5))
        add_device(engine, "kiosk-01")
        add_alert(engine, "kiosk-01")
        archive = backup_central(load_settings(config), config, folder / "out", T0)
        migrate(engine)  # central upgraded: the newer migration's table and index
        # Written after the upgrade: the restore takes it back, newer table included.
        store(engine, checkouts(3, 100))
        add_device(engine, "gate-01")
        add_security_alert(engine, "gate-01")
        assert current_revision(engine) == head_revisions()
    finally:
        engine.dispose()
    expected = {
        "events": 5,
        "counted": 5,
        "alerts": [("offline|VN|kiosk-01|", "silent 5 min")],
        "audit": [],
        "devices": [("kiosk-01",)],
        "security": [(0,)],
        "revision": head_revisions(),
    }
    return archive, config, expected


def test_postgresql_restores_an_archive_made_before_a_newer_migration(
    pg_server: PgServer, tmp_path: Path
) -> None:
    url = fresh_pg(pg_server)
    archive, config, expected = older_archive(url, tmp_path)
    later = make_engine(url)
    try:
        with later.begin() as connection:  # what other newer migrations could have made
            for statement in (
                "CREATE TYPE later_kind AS ENUM ('a', 'b')",
                "CREATE SEQUENCE later_numbers",
                "CREATE VIEW later_view AS SELECT device FROM devices",
            ):
                connection.execute(text(statement))
    finally:
        later.dispose()
    lines: list[str] = []
    restore_central(archive, load_settings(config), T0, force=True, progress=lines.append)
    assert f"schema {OLDER} -> {','.join(sorted(head_revisions()))}" in lines
    engine = make_engine(url)
    fresh = make_engine(fresh_pg(pg_server))
    try:
        assert contents(engine) == expected
        migrate(fresh)
        assert pg_schema(engine) == pg_schema(fresh)  # nothing of the newer one left over
        store(engine, checkouts(2, 200))  # central works on it
        add_security_alert(engine, "gate-02")
        assert snapshot_of(engine)["events"] == 7
    finally:
        engine.dispose()
        fresh.dispose()


def test_sqlite_restores_an_archive_made_before_a_newer_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c' / 'central.db'}"
    archive, config, expected = older_archive(url, tmp_path)
    restore_central(archive, load_settings(config), T0, force=True)
    engine = make_engine(url)
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert contents(engine) == expected
        migrate(fresh)
        assert sqlite_schema(tmp_path / "c" / "central.db") == sqlite_schema(tmp_path / "fresh.db")
        store(engine, checkouts(2, 200))
        add_security_alert(engine, "gate-02")
        assert snapshot_of(engine)["events"] == 7
    finally:
        engine.dispose()
        fresh.dispose()


def newer_archive(url: str, folder: Path) -> tuple[Path, Path]:
    """An archive made by a central newer than this code (its database at a revision this
    code's migrations do not have), then more written."""
    config = settings_file(folder, url)
    engine = make_engine(url)
    try:
        migrate(engine)
        store(engine, checkouts(5))
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": UNKNOWN})
        archive = backup_central(load_settings(config), config, folder / "out", T0)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"),
                               {"v": ",".join(head_revisions())})  # fmt: skip
        store(engine, checkouts(3, 100))
    finally:
        engine.dispose()
    return archive, config


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_archive_newer_than_this_code_is_refused_before_anything_is_touched(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'c' / 'central.db'}"
    else:
        url = fresh_pg(request.getfixturevalue("pg_server"))
    archive, config = newer_archive(url, tmp_path)
    engine = make_engine(url)
    try:
        before = contents(engine)
        args = ["restore", str(archive), "--central", "--config", str(config), "--force"]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert f"made by a newer muontra (schema {UNKNOWN})" in err, err
        assert f"bản mới hơn (lược đồ {UNKNOWN})" in err, err
        assert "Traceback" not in err
        assert contents(engine) == before  # untouched: 8 events, this code's revision
        assert before["events"] == 8
        with pytest.raises(CentralRefused, match=UNKNOWN):
            restore_central(archive, load_settings(config), T0, force=True)
        assert contents(engine) == before
    finally:
        engine.dispose()
    if kind == "sqlite":
        assert not list((tmp_path / "c").glob("*.before-restore-*"))
