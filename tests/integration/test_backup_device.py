"""`muontra backup` / `muontra restore` for a device: consistent while written, keys only
encrypted, dated names and rotation, refusals, and migration of an older schema."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.backup.device import backup_device
from engine.backup.sqlite_copy import alembic_revision
from engine.config import load_config
from engine.mqtt.outbox import Outbox
from muontra.cli import main

WHEN = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
CONFIG = """
[device]
id = "kiosk-01"
site = "MUONTRA"
role = "self-checkout"
data_dir = "{data}"
api_socket = "{socket}"
site_key_file = "{site_key}"

[ils]
url = "sip2://127.0.0.1:6001?institution=MUONTRA"

[devices]
pad = "sim://pad"
"""
PIN_KEY = b"pin-key-" + bytes(range(24))
REF_KEY = b"ref-key-" + bytes(range(100, 124))
SITE_KEY = "5f" * 32


@pytest.fixture
def device(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "pin.key").write_bytes(PIN_KEY)
    (data / "patron-ref.key").write_bytes(REF_KEY)
    site_key = tmp_path / "etc" / "site-key"
    site_key.parent.mkdir()
    site_key.write_text(SITE_KEY)
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.format(data=data, socket=tmp_path / "k.sock", site_key=site_key))
    Outbox.open(data / "outbox.sqlite").close()
    return {"config": config, "data": data, "root": tmp_path, "out": tmp_path / "backups"}


def backup(device: dict[str, Path], when: datetime = WHEN, **options: object) -> Path:
    config = load_config(device["config"])
    return backup_device(config, device["config"], device["out"], when, **options).path  # type: ignore[arg-type]


def members(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


class PairWriter(threading.Thread):
    """Writes two rows per transaction into a WAL database as fast as it can, with no
    automatic checkpoint: the committed rows live in the -wal file, where a copy of the
    main file would not see them."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.committed = 0
        self.ready = threading.Event()

    def run(self) -> None:
        with closing(sqlite3.connect(self.path, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA wal_autocheckpoint=0")
            db.execute("CREATE TABLE IF NOT EXISTS pairs (txn INTEGER, half INTEGER, pad BLOB)")
            while not self.stop.is_set():
                db.execute("BEGIN IMMEDIATE")
                for half in (1, 2):
                    db.execute(
                        "INSERT INTO pairs VALUES (?, ?, randomblob(2000))", (self.committed, half)
                    )
                db.execute("COMMIT")
                self.committed += 1
                if self.committed >= 300:
                    self.ready.set()


def test_backup_while_the_database_is_written_is_one_consistent_moment(
    device: dict[str, Path],
) -> None:
    writer = PairWriter(device["data"] / "journal.sqlite")
    writer.start()
    try:
        assert writer.ready.wait(30), "the writer never committed 300 transactions"
        before = writer.committed
        archive = backup(device)
        after = writer.committed
    finally:
        writer.stop.set()
        writer.join(10)
    assert after > before, "nothing was written while the backup ran"
    with tarfile.open(archive) as tar:
        tar.extract("data/journal.sqlite", device["root"] / "x", filter="data")
    with closing(sqlite3.connect(device["root"] / "x" / "data" / "journal.sqlite")) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = copy.execute("SELECT txn, count(*) FROM pairs GROUP BY txn").fetchall()
    # Every transaction committed before the backup began, in whole, and none in half.
    assert len(rows) >= before
    assert {txn for txn, _ in rows} == set(range(len(rows)))
    assert all(count == 2 for _, count in rows)


def test_unencrypted_archive_leaves_every_key_out_and_says_so(
    device: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backup", "--config", str(device["config"]), "--out", str(device["out"])])
    out, err = capsys.readouterr()
    assert code == 0
    archive = Path(out.strip())
    assert re.fullmatch(r"muontra-kiosk-01-\d{8}T\d{6}Z\.tar", archive.name)
    names = members(archive)
    assert "data/outbox.sqlite" in names and "config/kiosk.toml" in names
    assert not [name for name in names if name.startswith("secrets/") or name.endswith(".key")]
    blob = archive.read_bytes()
    assert PIN_KEY not in blob and REF_KEY not in blob and SITE_KEY.encode() not in blob
    assert "left out: data/patron-ref.key, data/pin.key" in err
    with tarfile.open(archive) as tar:
        manifest = tar.extractfile("manifest.json").read().decode()  # type: ignore[union-attr]
    assert '"data/pin.key"' in manifest and str(device["root"] / "etc" / "site-key") in manifest
    assert oct(archive.stat().st_mode & 0o777) == "0o600"


def age_key(folder: Path) -> tuple[Path, str]:
    if shutil.which("age-keygen") is None:
        pytest.skip("age is not installed (scripts/apt-packages.txt)")
    identity = folder / "backup-key.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    public = subprocess.run(
        ["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return identity, public


def test_encrypted_archive_carries_the_keys_and_restores_them(
    device: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    identity, public = age_key(device["root"])
    archive = backup(device, encrypt_to=public)
    assert archive.name == "muontra-kiosk-01-20310102T030405Z.tar.age"
    blob = archive.read_bytes()
    assert blob.startswith(b"age-encryption.org/v1")
    assert PIN_KEY not in blob and b"outbox" not in blob
    shutil.rmtree(device["data"])
    args = ["restore", str(archive), "--config", str(device["config"])]
    assert main(args) == 1
    assert "name the age key with --identity" in capsys.readouterr().err
    (device["root"] / "other").mkdir()
    wrong, _ = age_key(device["root"] / "other")
    assert main([*args, "--identity", str(wrong)]) == 1
    assert "cannot decrypt" in capsys.readouterr().err
    assert not device["data"].exists()
    config_out = device["root"] / "from-archive"
    code = main([*args, "--identity", str(identity), "--config-out", str(config_out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (device["data"] / "pin.key").read_bytes() == PIN_KEY
    assert (device["data"] / "patron-ref.key").read_bytes() == REF_KEY
    assert (config_out / "site-key").read_text() == SITE_KEY
    assert (config_out / "kiosk.toml").read_text() == device["config"].read_text()
    assert "SHA-256 verified" in err
    assert oct(device["data"].stat().st_mode & 0o777) == "0o700"


def test_rotation_keeps_the_newest_of_this_device_only(device: dict[str, Path]) -> None:
    device["out"].mkdir()
    stranger = device["out"] / "muontra-gate-1-20200101T000000Z.tar"
    stranger.write_bytes(b"another device's")
    made = [backup(device, WHEN + timedelta(days=day), keep=2) for day in range(4)]
    left = sorted(p.name for p in device["out"].iterdir())
    assert left == sorted([stranger.name, made[2].name, made[3].name])


def test_restore_refuses_existing_data_and_a_running_service_unless_forced(
    device: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup(device)
    args = ["restore", str(archive), "--config", str(device["config"])]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "already holds data; add --force" in err
    assert "đã có dữ liệu" in err
    # A service answering on the config's API socket.
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(device["root"] / "k.sock"))
        server.listen()
        assert main(args) == 1
        assert "a service is running on" in capsys.readouterr().err
    (device["data"] / "marker").write_text("what was there")
    assert main([*args, "--force"]) == 0
    kept = device["root"] / "data.before-restore-"
    (aside,) = device["root"].glob("data.before-restore-*")
    assert str(aside).startswith(str(kept))
    assert (aside / "marker").read_text() == "what was there"
    assert not (device["data"] / "marker").exists()
    assert (device["data"] / "outbox.sqlite").exists()


def test_restore_migrates_an_older_schema_forward(
    device: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = device["data"] / "outbox.sqlite"
    outbox.unlink()
    old = Outbox.open(outbox, migrate=False)
    old.upgrade("0001")
    old.close()
    assert alembic_revision(outbox) == "0001"
    archive = backup(device)
    shutil.rmtree(device["data"])
    assert main(["restore", str(archive), "--config", str(device["config"])]) == 0
    assert "migrated outbox.sqlite: schema 0001 -> 0002" in capsys.readouterr().err
    assert alembic_revision(outbox) == "0002"


@pytest.fixture
def no_leftovers(device: dict[str, Path]) -> Iterator[None]:
    yield
    assert not list(device["root"].glob("*.restoring-*"))
    assert not list(device["out"].glob(".*"))


def test_nothing_half_made_is_left_behind(
    device: dict[str, Path], no_leftovers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup(device)
    shutil.rmtree(device["data"])
    archive.write_bytes(archive.read_bytes()[:3000])
    assert main(["restore", str(archive), "--config", str(device["config"])]) == 1
    assert not device["data"].exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_restore_as_root_gives_the_files_to_the_service_user(
    device: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup(device)
    shutil.rmtree(device["data"])
    device["data"].mkdir(mode=0o700)  # the service's StateDirectory, empty
    os.chown(device["data"], 65534, 65534)
    assert main(["restore", str(archive), "--config", str(device["config"])]) == 0
    owners = {
        (p.stat().st_uid, p.stat().st_gid) for p in [device["data"], *device["data"].rglob("*")]
    }
    assert owners == {(65534, 65534)}


def test_a_hostile_archive_inside_age_is_named_as_such(
    device: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.test_backup_archive import manifest_for, raw_tar, regular

    identity, public = age_key(device["root"])
    evil = raw_tar(
        manifest_for({"data/journal.sqlite": b"j"}),
        [regular("../escape", b"e" * 200_000), regular("data/journal.sqlite", b"j" * 500_000)],
    )
    archive = device["root"] / "evil.tar.age"
    subprocess.run(["age", "-r", public, "-o", str(archive)], input=evil, check=True)
    shutil.rmtree(device["data"])
    args = ["restore", str(archive), "--config", str(device["config"]), "--identity", str(identity)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "unsafe member name '../escape'" in err
    assert "cannot decrypt" not in err
    assert not device["data"].exists() and not (device["root"] / "escape").exists()


def test_an_out_folder_inside_data_dir_is_refused(
    device: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = device["data"] / "backups"
    assert main(["backup", "--config", str(device["config"]), "--out", str(out)]) == 1
    assert "is inside data_dir" in capsys.readouterr().err
    assert not out.exists()
