"""Central's backup and restore on SQLite (online backup API) and on a real PostgreSQL
(pg_dump / pg_restore): consistent while ingest writes, events, alerts and audit survive
the drill, ingest after restore stays idempotent, and the refusals."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from central.backup import CentralRefused, backup_central, restore_central
from central.db import current_revision, head_revisions, make_engine, migrate
from central.models import Event, HourlyStat
from central.settings import load_settings
from central.staff_models import AlertRow, AuditEntry
from central.store import Incoming, parse_message, store_batch
from muontra.cli import main
from tests.central.conftest import PgServer, fresh_pg
from tests.central.helpers import PREFIX, event

WHEN = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
T0 = datetime(2026, 11, 25, 8, 15, tzinfo=UTC)


def clock() -> datetime:
    return T0 + timedelta(minutes=1)


def checkouts(count: int, start: int = 0) -> list[Incoming]:
    return [
        parse_message(
            *event("checkout", T0 + timedelta(seconds=n), item_id=f"30{n:08d}", success=True),
            PREFIX,
        )
        for n in range(start, start + count)
    ]


def store(engine: Engine, messages: list[Incoming]) -> None:
    with Session(engine) as session, session.begin():
        store_batch(session, messages, clock)


def settings_file(folder: Path, url: str, name: str = "central.toml") -> Path:
    path = folder / name
    path.write_text(f'[central.database]\nurl = "{url}"\n')
    return path


class Ingesting(threading.Thread):
    """Central's ingest as it runs: one event per transaction, each with its counter."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.stop = threading.Event()
        self.stored = 0

    def run(self) -> None:
        while not self.stop.is_set():
            store(self.engine, checkouts(1, 10_000 + self.stored))
            self.stored += 1


def snapshot_of(engine: Engine) -> dict[str, object]:
    with Session(engine) as session:
        events = session.scalar(select(func.count()).select_from(Event))
        counted = session.scalar(
            select(func.sum(HourlyStat.count)).where(HourlyStat.metric == "checkout")
        )
        alerts = [
            (a.key, a.detail) for a in session.scalars(select(AlertRow).order_by(AlertRow.id))
        ]
        audit = [
            (a.actor, a.action, a.args)
            for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    return {"events": events, "counted": counted, "alerts": alerts, "audit": audit}


def other_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> str:
    """A second, empty database of the same kind: where the restore goes."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'central.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return fresh_pg(server)


def test_central_drill(
    request: pytest.FixtureRequest, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    first = checkouts(40)
    store(engine, first)
    with Session(engine) as session, session.begin():
        session.add(
            AlertRow(
                key="offline|VN|kiosk-01|",
                rule="offline",
                site="VN",
                device="kiosk-01",
                subject="",
                detail="silent 5 min",
                raised=1.0,
            )
        )
        session.add(AuditEntry(time=2.0, actor="lan", action="lock", args='{"device": "kiosk-01"}',
                               outcome="ok"))  # fmt: skip
    ingest = Ingesting(engine)
    ingest.start()
    try:
        deadline = time.monotonic() + 30
        while ingest.stored < 20:
            assert ingest.is_alive() and time.monotonic() < deadline, "ingest did not get going"
            time.sleep(0.01)
        before = ingest.stored
        archive = backup_central(
            load_settings(settings_file(tmp_path, db_url)), tmp_path / "central.toml",
            tmp_path / "out", WHEN,
        )  # fmt: skip
        after = ingest.stored
    finally:
        ingest.stop.set()
        ingest.join(10)
    assert after > before, "nothing was ingested while the backup ran"
    assert archive.name == "muontra-central-20310102T030405Z.tar"

    target = other_url(request, db_url, tmp_path)
    lines: list[str] = []
    restore_central(
        archive, load_settings(settings_file(tmp_path, target, "restored.toml")), WHEN,
        progress=lines.append,
    )  # fmt: skip
    assert any("SHA-256 verified" in line for line in lines)
    restored = make_engine(target)
    try:
        assert current_revision(restored) == head_revisions()
        got = snapshot_of(restored)
        # One moment: every event has its counter, and all that came before the backup.
        assert got["events"] == got["counted"]
        assert 40 + before <= got["events"] <= 40 + after  # type: ignore[operator]
        assert got["alerts"] == [("offline|VN|kiosk-01|", "silent 5 min")]
        assert got["audit"] == [("lan", "lock", '{"device": "kiosk-01"}')]
        # The same messages delivered again after the restore: stored and counted once.
        store(restored, first)
        assert snapshot_of(restored) == got
        store(restored, checkouts(1, 50_000))
        assert snapshot_of(restored)["events"] == got["events"] + 1  # type: ignore[operator]
    finally:
        restored.dispose()


@pytest.fixture
def pg_pair(pg_server: PgServer, tmp_path: Path) -> tuple[str, Path]:
    url = fresh_pg(pg_server)
    made = make_engine(url)
    migrate(made)
    store(made, checkouts(5))
    made.dispose()
    return url, settings_file(tmp_path, url)


def test_postgresql_restore_refuses_a_used_database_unless_forced(
    pg_pair: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, config = pg_pair
    code = main(["backup", "--central", "--config", str(config), "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 0, err
    archive = Path(out.strip())
    args = ["restore", str(archive), "--central", "--config", str(config)]
    assert main(args) == 1
    assert "the database already has tables; add --force" in capsys.readouterr().err
    holder = make_engine(url)
    try:
        with holder.connect() as connection:  # muontra central, still running
            connection.execute(text("SELECT 1"))
            assert main(args) == 1
            assert "other connections use the database" in capsys.readouterr().err
    finally:
        holder.dispose()
    later = make_engine(url)
    store(later, checkouts(3, 100))  # written after the backup: the restore takes it back
    later.dispose()
    assert main([*args, "--force"]) == 0, capsys.readouterr().err
    back = make_engine(url)
    try:
        assert snapshot_of(back)["events"] == 5
    finally:
        back.dispose()


def test_sqlite_restore_keeps_the_old_file_aside(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c' / 'central.db'}"
    made = make_engine(url)
    migrate(made)
    store(made, checkouts(2))
    made.dispose()
    settings = load_settings(settings_file(tmp_path, url))
    archive = backup_central(settings, tmp_path / "central.toml", tmp_path / "o", WHEN)
    with pytest.raises(CentralRefused, match="already holds data"):
        restore_central(archive, settings, WHEN)
    restore_central(archive, settings, WHEN, force=True)
    assert (tmp_path / "c" / "central.db.before-restore-20310102T030405Z").exists()


def test_a_device_archive_is_not_central_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.test_backup_archive import good_archive

    archive = tmp_path / "kiosk.tar"
    archive.write_bytes(good_archive({"data/journal.sqlite": b"j"}))
    config = settings_file(tmp_path, f"sqlite:///{tmp_path / 'central.db'}")
    assert main(["restore", str(archive), "--central", "--config", str(config)]) == 1
    assert "the backup of device kiosk-01, not central's" in capsys.readouterr().err
    assert not (tmp_path / "central.db").exists()


def restore_child(archive: Path, config: Path, *more: str) -> subprocess.CompletedProcess[str]:
    """`muontra restore --central` in its own process: a process never sees its own
    SQLite locks, so central's must be held by another process than the one asking."""
    return subprocess.run(
        [sys.executable, "-m", "muontra", "restore", str(archive), "--central",
         "--config", str(config), *more],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_sqlite_restore_refuses_while_central_has_the_database_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c' / 'central.db'}"
    config = settings_file(tmp_path, url)
    running = make_engine(url)  # central, as it runs: its pool keeps a connection open
    try:
        migrate(running)
        store(running, checkouts(2))
        archive = backup_central(load_settings(config), config, tmp_path / "o", WHEN)
        refused = restore_child(archive, config)
        assert refused.returncode == 1, refused.stderr
        assert f"muontra central is running (another process has {tmp_path / 'c'}" in refused.stderr
        assert "muontra central đang chạy" in refused.stderr
        assert snapshot_of(running)["events"] == 2  # untouched
        assert not list((tmp_path / "c").glob("*.before-restore-*"))
    finally:
        running.dispose()
    # Stopped: what stands in the way now is only the data already there.
    refused = restore_child(archive, config)
    assert refused.returncode == 1
    assert "is running" not in refused.stderr and "already holds data" in refused.stderr
    done = restore_child(archive, config, "--force")
    assert done.returncode == 0, done.stderr


def test_restore_refuses_while_central_s_api_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'c' / 'central.db'}"
    made = make_engine(url)
    migrate(made)
    made.dispose()
    archive = backup_central(
        load_settings(settings_file(tmp_path, url)), tmp_path / "central.toml", tmp_path / "o", WHEN
    )
    shutil.rmtree(tmp_path / "c")  # a fresh machine: no database in the way
    with socket.create_server(("127.0.0.1", 0)) as api:  # central's API, listening
        port = api.getsockname()[1]
        config = tmp_path / "api.toml"
        config.write_text(
            f'[central.database]\nurl = "{url}"\n[central.api]\nenabled = true\nport = {port}\n'
        )
        args = ["restore", str(archive), "--central", "--config", str(config)]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert f"muontra central is running (its API answers on 127.0.0.1:{port})" in err
        assert f"API của nó trả lời trên 127.0.0.1:{port}" in err
        assert not (tmp_path / "c" / "central.db").exists()
        assert main([*args, "--force"]) == 0, capsys.readouterr().err
    assert (tmp_path / "c" / "central.db").is_file()


def test_a_killed_backup_s_leftovers_go_and_rotation_keeps_the_new_archive(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    made = make_engine(url)
    migrate(made)
    made.dispose()
    settings = load_settings(settings_file(tmp_path, url))
    out = tmp_path / "o"
    later = backup_central(settings, tmp_path / "central.toml", out, WHEN + timedelta(days=30))
    partial = out / ".muontra-central-20310101T000000Z.tar.partial"
    partial.write_bytes(b"half an archive")
    (out / ".muontra-backup-central~dead1234").mkdir()
    lines: list[str] = []
    # Dated before the other (a clock set back): it is the one kept all the same.
    new = backup_central(
        settings, tmp_path / "central.toml", out, WHEN, keep=1, progress=lines.append
    )
    assert f"removed {partial.name}, left by a backup that was killed" in lines
    assert f"rotated out {later.name}" in lines
    assert sorted(p.name for p in out.iterdir()) == [new.name]
