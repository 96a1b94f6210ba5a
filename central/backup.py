"""`muontra backup --central` and `muontra restore --central`: central's database in one
dated archive (docs/backup.md).

SQLite is copied with its online backup API (one read transaction: the copy is the
database at one commit while the service goes on writing); PostgreSQL with
``pg_dump`` in its custom format (one snapshot, restored with ``pg_restore``).
The archive format is the device backup's (protocols.backup.archive). Central may
not import the engine (import-linter), so the few lines that run ``age`` and take
an SQLite snapshot are written here a second time rather than shared.

As on a device, a kill at any moment leaves every dated archive whole (written under
a hidden partial name, synced, renamed, the folder synced; rotation after that and
never of the archive just written; a killed run's leftovers removed by the next).
A restore is refused while central runs: its API answers, or another process has
the SQLite database open (SQLite holds a lock on its ``-shm`` file for as long as a
connection is open), or, on PostgreSQL, other connections use the database.
On PostgreSQL the dump is loaded in one transaction, so a restore killed or failed
mid-way leaves the old data whole (``_pg_restore`` says why); the archive is unpacked
where the next restore finds and removes what a killed one left (central.restore_staging).
An archive made by an older central is restored whole and migrated to this version's
schema (nothing of the newer schema left beside it); one made by a newer central, at a
revision this code does not know, is refused before anything is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from central.db import MIGRATIONS, current_revision, make_engine, migrate
from central.restore_staging import restore_staging
from central.settings import CentralSettings, SettingsError, load_settings
from protocols.backup.archive import (
    ArchiveError,
    Entry,
    ForeignArchive,
    Manifest,
    archive_name,
    entry_for,
    read_archive,
    write_archive,
)
from protocols.backup.folder_lock import folder_lock

__all__ = ["CentralRefused", "backup_central", "central_running", "restore_central"]

NAME = "central"
SQLITE_MEMBER = "data/central.sqlite"
PG_MEMBER = "data/central.pgdump"
AGE_MAGIC = b"age-encryption.org/"
DEFAULT_OUT = Path("/var/backups/muontra")


class CentralRefused(RuntimeError):
    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


@dataclass(frozen=True, slots=True)
class Database:
    """Where central's data is: an SQLite file or a PostgreSQL database."""

    url: URL

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def file(self) -> Path:
        if not self.url.database or self.url.database == ":memory:":
            raise CentralRefused(
                "Cơ sở dữ liệu trong bộ nhớ không sao lưu được",
                "an in-memory database cannot be backed up",
            )
        return Path(self.url.database)

    def libpq(self) -> tuple[str, dict[str, str]]:
        """A libpq URL without the password, and the environment carrying it (a password
        never goes on a command line, where every user can read it)."""
        env = dict(os.environ)
        if self.url.password:
            env["PGPASSWORD"] = str(self.url.password)
        bare = self.url.set(drivername="postgresql", password=None)
        return bare.render_as_string(hide_password=False), env


def _run_pg_tool(name: str, arguments: list[str], env: dict[str, str], vi: str, en: str) -> None:
    """Run a PostgreSQL client tool; CentralRefused with the end of its complaint if it fails."""
    done = subprocess.run(
        [_pg_tool(name), *arguments], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        complaint = done.stderr.strip()[-2000:]
        raise CentralRefused(f"{vi}: {complaint}", f"{en}: {complaint}")


def _pg_tool(name: str) -> str:
    """The newest installed ``pg_dump``/``pg_restore``/``psql`` (not older than the server)."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    tool = found[-1] if found else shutil.which(name)
    if tool is None:
        raise CentralRefused(
            f"Chưa cài {name} (gói Debian postgresql-client)",
            f"{name} is not installed (Debian package postgresql-client)",
        )
    return tool


def _software() -> str:
    try:
        return metadata.version("muontra")
    except metadata.PackageNotFoundError:
        return "unknown"


def _revision(engine: Engine) -> str:
    return ",".join(sorted(current_revision(engine)))


def _snapshot_sqlite(source: Path, target: Path) -> None:
    with (
        closing(sqlite3.connect(source, timeout=30)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")


def backup_central(
    settings: CentralSettings,
    config_path: Path,
    out_dir: Path,
    now: datetime,
    *,
    encrypt_to: str | None = None,
    keep: int | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> Path:
    database = Database(make_url(settings.database.resolved_url()))
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with folder_lock(out_dir, progress) as locked:
        for leftover in _clean_leftovers(out_dir) if locked else ():
            progress(f"removed {leftover.name}, left by a backup that was killed")
        return _backup_locked(
            settings,
            database,
            config_path=config_path,
            out_dir=out_dir,
            now=now,
            encrypt_to=encrypt_to,
            keep=keep,
            progress=progress,
        )


def _backup_locked(
    settings: CentralSettings,
    database: Database,
    *,
    config_path: Path,
    out_dir: Path,
    now: datetime,
    encrypt_to: str | None,
    keep: int | None,
    progress: Callable[[str], None],
) -> Path:
    target = out_dir / archive_name(NAME, now, encrypted=encrypt_to is not None)
    if target.exists():
        raise FileExistsError(f"{target} exists; not overwritten")
    engine = make_engine(database.url.render_as_string(hide_password=False))
    try:
        schema = _revision(engine)
    finally:
        engine.dispose()
    with tempfile.TemporaryDirectory(prefix=_STAGING, dir=out_dir) as staging_dir:
        staging = Path(staging_dir)
        (staging / "data").mkdir()
        (staging / "config").mkdir()
        if database.is_sqlite:
            member = SQLITE_MEMBER
            _snapshot_sqlite(database.file, staging / member)
            progress(f"snapshot of {database.file} (schema {schema})")
        else:
            member = PG_MEMBER
            url, env = database.libpq()
            _run_pg_tool(
                "pg_dump",
                ["--format=custom", "--no-owner", "--no-privileges",
                 "--file", str(staging / member), "--dbname", url],
                env, "pg_dump thất bại", "pg_dump failed",
            )  # fmt: skip
            progress(f"pg_dump of {database.url.database} (schema {schema})")
        members = [member, f"config/{config_path.name}"]
        shutil.copyfile(config_path, staging / members[1])
        omitted: list[str] = []
        secret = settings.mqtt.password_file
        if secret is not None:
            if encrypt_to is not None and secret.is_file():
                (staging / "secrets" / "etc").mkdir(parents=True)
                members.append(f"secrets/etc/{secret.name}")
                shutil.copyfile(secret, staging / members[-1])
            else:
                omitted.append(str(secret))
                progress(f"not encrypted, so left out: {secret}")
        entries = []
        for name in members:
            with (staging / name).open("rb") as stream:
                entries.append(entry_for(name, stream))
        manifest = Manifest(
            kind="central",
            device=NAME,
            created=now,
            software=_software(),
            files=tuple(entries),
            schemas={member: schema},
            omitted=tuple(omitted),
            encrypted=encrypt_to is not None,
        )
        _write(manifest, staging, target, encrypt_to)
    progress(f"wrote {target} ({target.stat().st_size} bytes)")
    if keep:
        _rotate(out_dir, keep, target, progress)
    return target


_STAGING = f".muontra-backup-{NAME}~"
_PARTIAL = re.compile(rf"^\.muontra-{NAME}-\d{{8}}T\d{{6}}Z\.tar(\.age)?\.partial$")


def _clean_leftovers(out_dir: Path) -> list[Path]:
    removed = []
    for path in sorted(out_dir.iterdir()):
        if path.is_symlink():
            continue
        if _PARTIAL.match(path.name) and path.is_file():
            path.unlink()
        elif path.name.startswith(_STAGING) and path.is_dir():
            shutil.rmtree(path)
        else:
            continue
        removed.append(path)
    if removed:
        _sync_dir(out_dir)
    return removed


def _sync_dir(folder: Path) -> None:
    """A rename or new name in ``folder`` on disk (it survives a power cut)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(manifest: Manifest, staging: Path, target: Path, encrypt_to: str | None) -> None:
    def open_member(entry: Entry) -> IO[bytes]:
        return (staging / entry.name).open("rb")

    partial = target.with_name(f".{target.name}.partial")
    try:
        if encrypt_to is None:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                write_archive(out, manifest, open_member)
                out.flush()
                os.fsync(out.fileno())
        else:
            how = ["-R", encrypt_to] if Path(encrypt_to).is_file() else ["-r", encrypt_to]
            age = _age()
            process = subprocess.Popen(
                [age, *how, "-o", str(partial)], stdin=subprocess.PIPE, stderr=subprocess.PIPE
            )
            assert process.stdin is not None and process.stderr is not None
            # age's complaint, below, says why
            with contextlib.suppress(BrokenPipeError):
                write_archive(process.stdin, manifest, open_member)
            process.stdin.close()
            complaint = process.stderr.read().decode("utf-8", "replace").strip()
            if process.wait() != 0:
                raise CentralRefused(f"age: {complaint}", f"age could not encrypt: {complaint}")
            partial.chmod(0o600)
            _sync_file(partial)
        partial.rename(target)
        _sync_dir(target.parent)
    finally:
        partial.unlink(missing_ok=True)


def _age() -> str:
    found = shutil.which("age")
    if found is None:
        raise CentralRefused("Chưa cài age (apt-get install age)", "age is not installed")
    return found


def _rotate(out_dir: Path, keep: int, newest: Path, progress: Callable[[str], None]) -> None:
    """All but the ``keep`` newest archives removed; ``newest``, just written, is kept
    whatever its date (a clock set back would date it before the others)."""
    stamped = re.compile(rf"^muontra-{NAME}-(\d{{8}}T\d{{6}}Z)\.tar(\.age)?$")
    mine = sorted(
        (
            (m[1], p.name, p)
            for p in out_dir.iterdir()
            if (m := stamped.match(p.name)) and p != newest
        ),
        reverse=True,
    )
    for _stamp, _name, path in mine[max(keep, 1) - 1 :]:
        path.unlink()
        _sync_dir(out_dir)
        progress(f"rotated out {path.name}")


def _read(
    archive: Path,
    identity: Path | None,
    staging: Path,
    progress: Callable[[str], None],
) -> Manifest:
    def check(manifest: Manifest) -> None:
        if manifest.kind != "central":
            raise ForeignArchive(
                f"Đây là bản sao lưu của thiết bị {manifest.device}, không phải của trung tâm",
                f"this is the backup of device {manifest.device}, not central's",
            )
        progress(
            f"central's archive made {manifest.created:%Y-%m-%d %H:%M} UTC by muontra "
            f"{manifest.software}: {len(manifest.files)} files"
        )

    count = [0]

    def sink(entry: Entry) -> IO[bytes]:
        path = staging / entry.name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")

    def verified(entry: Entry) -> None:
        count[0] += 1
        progress(f"[{count[0]}] {entry.name}: {entry.size} bytes, SHA-256 verified")

    with archive.open("rb") as probe:
        encrypted = probe.read(len(AGE_MAGIC)) == AGE_MAGIC
    if not encrypted:
        with archive.open("rb") as source:
            return read_archive(source, sink, on_manifest=check, on_file=verified)
    if identity is None:
        raise CentralRefused(
            "Bản sao lưu được mã hoá: hãy chỉ ra khoá bằng --identity TỆP",
            "the archive is encrypted: name the age key with --identity FILE",
        )
    process = subprocess.Popen(
        [_age(), "-d", "-i", str(identity), str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    failure: ArchiveError | None = None
    manifest: Manifest | None = None
    try:
        manifest = read_archive(process.stdout, sink, on_manifest=check, on_file=verified)
        while process.stdout.read(1 << 16):
            pass
    except ArchiveError as error:
        failure = error
        while process.stdout.read(1 << 16):
            pass  # to its end: age stopped early fails on a broken pipe, hiding the reason
    process.stdout.close()
    complaint = process.stderr.read().decode("utf-8", "replace").strip()
    if process.wait() != 0:
        raise CentralRefused(f"Không giải mã được: {complaint}", f"cannot decrypt: {complaint}")
    if failure is not None:
        raise failure
    assert manifest is not None
    return manifest


def restore_central(
    archive: Path,
    settings: CentralSettings,
    now: datetime,
    *,
    identity: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] = lambda _line: None,
) -> Manifest:
    """Verify ``archive`` whole, then load it into the configured database and migrate."""
    database = Database(make_url(settings.database.resolved_url()))
    url = database.url.render_as_string(hide_password=False)
    running = central_running(settings, database)
    if running is not None and not force:
        raise CentralRefused(
            f"muontra central đang chạy ({running[0]}): hãy dừng nó trước "
            "(systemctl stop muontra-central), hoặc thêm --force",
            f"muontra central is running ({running[1]}): stop it first "
            "(systemctl stop muontra-central), or add --force",
        )
    if database.is_sqlite:
        _refuse_sqlite_in_use(database.file, force)
    else:
        _refuse_pg_in_use(url, force)
    member = SQLITE_MEMBER if database.is_sqlite else PG_MEMBER
    with restore_staging(progress) as staging:
        manifest = _read(archive, identity, staging, progress)
        _refuse_newer_schema(manifest.schemas.get(member, ""))
        if database.is_sqlite:
            if manifest.entry(SQLITE_MEMBER) is None:
                raise CentralRefused(
                    "Bản sao lưu này là của PostgreSQL, cấu hình dùng SQLite",
                    "this archive holds a PostgreSQL dump; the config names an SQLite file",
                )
            _put_sqlite(staging / SQLITE_MEMBER, database.file, now)
        else:
            if manifest.entry(PG_MEMBER) is None:
                raise CentralRefused(
                    "Bản sao lưu này là của SQLite, cấu hình dùng PostgreSQL",
                    "this archive holds an SQLite file; the config names PostgreSQL",
                )
            _pg_restore(database, staging / PG_MEMBER, staging)
        progress("loaded; migrating to this version's schema")
    engine = make_engine(url)
    try:
        before = manifest.schemas.get(member, "")
        migrate(engine)
        after = _revision(engine)
    finally:
        engine.dispose()
    progress(f"schema {before or 'none'} -> {after}")
    return manifest


def _refuse_newer_schema(schema: str) -> None:
    """Refused when the archive's schema is a revision this code's migrations do not have:
    a newer central made it. Loaded anyway, the migration after it could only fail
    ("Can't locate revision"), with the database already replaced by data this version
    cannot read; so this is asked before the database is touched. (An older archive is
    fine: the swap or the transaction replaces the whole schema, then it is migrated.)"""
    revisions = [revision for revision in schema.split(",") if revision]
    script = ScriptDirectory(str(MIGRATIONS))
    known = {found.revision for found in script.walk_revisions()}
    unknown = [revision for revision in revisions if revision not in known]
    if unknown:
        ours = ",".join(sorted(script.get_heads()))
        theirs = ",".join(unknown)
        raise CentralRefused(
            f"Bản sao lưu này do một bản mới hơn (lược đồ {theirs}) của muontra tạo ra; bản "
            f"này chỉ biết tới lược đồ {ours}: hãy khôi phục bằng bản đó hoặc mới hơn",
            f"this archive was made by a newer muontra (schema {theirs}); this one knows up "
            f"to schema {ours}: restore it with that version or a later one",
        )


def central_running(settings: CentralSettings, database: Database) -> tuple[str, str] | None:
    """Why central looks alive, in Vietnamese and English; None when nothing says so.
    (On PostgreSQL the other connections to the database say it later.)"""
    api = settings.api
    if api.enabled and api.port and _answers(api.host, api.port):
        return (
            f"API của nó trả lời trên {api.host}:{api.port}",
            f"its API answers on {api.host}:{api.port}",
        )
    if database.is_sqlite and _sqlite_open_elsewhere(database.file):
        return (
            f"một tiến trình khác đang mở {database.file}",
            f"another process has {database.file} open",
        )
    return None


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


_FLOCK = "hhqqi"  # struct flock on Linux: type, whence, start, len, pid (padded to 32)
_SHM_DMS_BYTE = 128
"""SQLite's "dead man switch" byte in a WAL database's -shm file: every connection
with the database open holds a shared lock on it (os_unix.c, UNIX_SHM_DMS)."""


def _sqlite_open_elsewhere(file: Path) -> bool:
    """Whether another process holds the database open in WAL mode (central's does).
    Only asks the kernel (F_GETLK): taking the lock, even for a moment, could stall
    a central that is starting."""
    try:
        fd = os.open(file.with_name(file.name + "-shm"), os.O_RDONLY)
    except OSError:
        return False  # no -shm: no connection is open (the last one removes it)
    try:
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, _SHM_DMS_BYTE, 1, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query.ljust(32, b"\0"))
    except OSError:
        return False
    finally:
        os.close(fd)
    lock_type = struct.unpack(_FLOCK, answer[: struct.calcsize(_FLOCK)])[0]
    return bool(lock_type != fcntl.F_UNLCK)


def _refuse_sqlite_in_use(file: Path, force: bool) -> None:
    if file.exists() and file.stat().st_size > 0 and not force:
        raise CentralRefused(
            f"{file} đã có dữ liệu; dừng muontra central rồi thêm --force "
            "(tệp cũ được đổi tên sang một bên)",
            f"{file} already holds data; stop muontra central and add --force "
            "(the old file is renamed aside)",
        )


def _refuse_pg_in_use(url: str, force: bool) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            others = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            tables = connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
    finally:
        engine.dispose()
    if force:
        return
    if others:
        raise CentralRefused(
            f"{others} kết nối khác đang dùng cơ sở dữ liệu (muontra central đang chạy?); "
            "hãy dừng chúng, hoặc thêm --force",
            f"{others} other connections use the database (is muontra central running?); "
            "stop them, or add --force",
        )
    if tables:
        raise CentralRefused(
            "Cơ sở dữ liệu đã có bảng; thêm --force để thay nội dung của nó",
            "the database already has tables; add --force to replace its contents",
        )


def _put_sqlite(restored: Path, file: Path, now: datetime) -> None:
    """The restored file in place: copied beside it and synced first, so the moment
    without a database file is two renames long; a kill in it leaves the old file aside
    (``.before-restore-…``) and the restored one whole, and a rerun puts it in place."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    file.parent.mkdir(parents=True, exist_ok=True)
    placed = file.with_name(f".{file.name}.restoring")
    shutil.copyfile(restored, placed)
    placed.chmod(0o600)
    _sync_file(placed)
    if file.exists():
        for suffix in ("", "-wal", "-shm"):
            old = file.with_name(file.name + suffix)
            if old.exists():
                old.rename(old.with_name(f"{file.name}.before-restore-{stamp}{suffix}"))
    placed.rename(file)
    _sync_dir(file.parent)


RESTORE_APPLICATION = "muontra-restore"
"""The restore's ``application_name`` on the server (``pg_stat_activity``)."""

_DROP_CENTRAL_SCHEMA = r"""
SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                             ELSE 'TABLE' END,
              n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relkind IN ('r', 'p') DESC, c.relname
\gexec
SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
              CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND (t.typtype IN ('e', 'd', 'r')
      OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY t.typname
\gexec
SELECT format('DROP %s IF EXISTS %I.%I(%s) CASCADE',
              CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
              n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY p.proname
\gexec
"""
r"""psql's script dropping every object of central's schema (``public``), whether the dump
names it or not, but an extension's own (``DROP EXTENSION`` is the dump's business):
tables first, in the order of their names, then what is left of sequences, views, types
and routines. One statement per object (``\gexec``), so an error names the object."""


def _pg_restore(database: Database, dump: Path, staging: Path) -> None:
    """The dump loaded in ONE transaction that first drops every object of central's
    schema, then creates and fills the archive's, and only then commits.

    Why one transaction: run statement by statement, as before, a kill mid-way (the
    command stopped, the loader or the machine killed) left a database with its keys and
    indexes dropped or its tables half filled, which central would start on. In one, the
    server rolls back what a dead client began: the database is the old data whole, and
    the rerun starts from it (PostgreSQL's own answer for an in-place restore; restoring
    beside under a temporary name and renaming needs CREATEDB, leaves the database's own
    grants and settings behind, and is two renames long).

    Why drop everything first, rather than ``pg_restore --clean`` alone: ``--clean``
    drops only the objects the dump names. An archive made before a newer migration
    (central upgraded, then last week's archive restored) does not name that
    migration's table or index, so it stayed: the restore failed on the old table it
    references (``cannot drop constraint pk_alerts ... other objects depend on it``), or,
    without such a key, committed a mix of the archive's alembic version and the newer
    schema's objects, on which the migration to head fails ("already exists"). Dropping
    the whole schema in the same transaction makes the result the archive's schema
    exactly, whichever version made it; then :func:`migrate` brings it to head. Only
    central's schema is dropped (the database's own grants, settings and extensions
    stay), and dropping needs no right beyond the ownership of central's objects that
    ``--clean`` needed already.

    How: ``pg_restore`` has no hook to run statements in its transaction, so it only
    turns the dump into SQL (``--file``: no connection), which ``psql
    --single-transaction`` runs after the drops, stopping at the first error
    (``ON_ERROR_STOP``: the transaction is then never committed). The SQL goes through a
    file in the staging folder, not a pipe: a ``pg_restore`` killed while writing a pipe
    would give ``psql`` an early end of input, on which it commits what it has read. Its
    cost: one lock per table, index and sequence until the commit (a few dozen for
    central, far below max_locks_per_transaction), and a central still connected
    (``--force``) waits on those locks and then sees the restored data."""
    url, env = database.libpq()
    drops, script = staging / "drop-central.sql", staging / "central.sql"
    drops.write_text(_DROP_CENTRAL_SCHEMA)
    _run_pg_tool(
        "pg_restore",
        ["--no-owner", "--no-privileges", "--clean", "--if-exists",
         "--file", str(script), str(dump)],
        env, "pg_restore thất bại", "pg_restore failed",
    )  # fmt: skip
    # The drops of objects that are not there say so; only warnings and errors matter.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c client_min_messages=warning".strip()
    env["PGAPPNAME"] = RESTORE_APPLICATION
    _run_pg_tool(
        "psql",
        ["--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
         "--single-transaction", "--file", str(drops), "--file", str(script),
         "--dbname", url],
        env, "Nạp bản sao lưu thất bại (không thay đổi gì)",
        "loading the dump failed (nothing changed)",
    )  # fmt: skip


# -- the command line (muontra/backup_cli.py and muontra/restore_cli.py call these) --


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def cli_backup(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
        path = backup_central(
            settings,
            args.config,
            args.out or DEFAULT_OUT,
            datetime.now(UTC),
            encrypt_to=args.encrypt_to,
            keep=args.keep,
            progress=_say,
        )
    except CentralRefused as refused:
        _say(f"muontra backup: {refused.en}")
        _say(f"muontra backup: {refused.vi}")
        return 1
    except (SettingsError, OSError, ValueError) as error:
        _say(f"muontra backup: {error}")
        return 1
    sys.stdout.write(f"{path}\n")
    return 0


def cli_restore(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
        if not args.archive.is_file():
            _say(f"muontra restore: {args.archive}: no such file")
            return 1
        restore_central(
            args.archive,
            settings,
            datetime.now(UTC),
            identity=args.identity,
            force=args.force,
            progress=_say,
        )
    except (ArchiveError, CentralRefused) as refused:
        _say(f"muontra restore: refused: {refused.en}")
        _say(f"muontra restore: từ chối: {refused.vi}")
        return 1
    except (SettingsError, OSError) as error:
        _say(f"muontra restore: {error}")
        return 1
    _say("restored; start muontra central")
    return 0
