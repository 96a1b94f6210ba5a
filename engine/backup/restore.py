"""`muontra restore ARCHIVE --config FILE`: a device's backup onto its data directory.

The archive is read into a staging directory beside ``data_dir`` and every file
checked against the manifest's SHA-256 before anything is put in place, so a
damaged, foreign or hostile archive leaves the machine as it was. An existing
data directory is never deleted: with ``force`` it is renamed aside. A service
still answering on the config's API socket is refused (without ``force``), as
restoring under it would lose what it writes. Databases at an older schema are
migrated forward with alembic, through the migrations the caller maps to each
file name (the dispatcher knows the roles' stores; the engine may not).

A kill or power cut at any moment leaves a usable ``data_dir`` (engine/backup/swap.py
puts the restored one in place); the next restore finishes or rolls back what a
killed one left, and says so. One restore of a ``data_dir`` runs at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from alembic import command
from sqlalchemy import create_engine

from engine.backup import age
from engine.backup.sqlite_copy import alembic_revision, is_sqlite
from engine.backup.swap import MARKER, finish_or_roll_back, put_in_place, staging_dirs
from engine.circulation.crash import crash_point
from engine.config import DeviceConfig
from engine.db import alembic_config
from protocols.backup.archive import (
    ArchiveError,
    Entry,
    ForeignArchive,
    Manifest,
    read_archive,
)

__all__ = ["RestoreRefused", "Restored", "restore_device", "service_running"]


class RestoreRefused(RuntimeError):
    """Not restored, and nothing changed; ``vi`` and ``en`` say why."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


@dataclass
class Restored:
    manifest: Manifest
    data_dir: Path
    set_aside: Path | None
    migrated: dict[str, tuple[str, str]] = field(default_factory=dict)
    config_files: list[Path] = field(default_factory=list)


def service_running(api_socket: Path) -> bool:
    """Whether something answers on the device's local API socket."""
    if not api_socket.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(api_socket))
        except OSError:
            return False
    return True


def _has_data(folder: Path) -> bool:
    return folder.exists() and any(folder.iterdir())


def restore_device(
    archive: Path,
    config: DeviceConfig,
    now: datetime,
    *,
    migrations: Mapping[str, Path],
    identity: Path | None = None,
    force: bool = False,
    config_out: Path | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> Restored:
    data_dir = config.device.data_dir
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if service_running(config.device.api_socket) and not force:
        raise RestoreRefused(
            f"Dịch vụ đang chạy trên {config.device.api_socket}: hãy dừng nó trước "
            "(systemctl stop), hoặc thêm --force",
            f"a service is running on {config.device.api_socket}: stop it first "
            "(systemctl stop muontra-…), or add --force",
        )
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with _restore_lock(data_dir):
        for stale in staging_dirs(data_dir):
            finish_or_roll_back(stale, data_dir, progress)
        if _has_data(data_dir) and not force:
            raise RestoreRefused(
                f"{data_dir} đã có dữ liệu; thêm --force để đổi tên nó sang một bên rồi khôi phục",
                f"{data_dir} already holds data; add --force to rename it aside and restore",
            )
        staging = data_dir.with_name(f"{data_dir.name}.restoring-{stamp}")
        staging.mkdir(mode=0o700)
        try:
            manifest = _unpack(archive, staging, config, identity, progress)
            migrated = _migrate(staging / "data", migrations, progress)
            crash_point("restore:unpacked")  # test hook: all in staging, nothing swapped
            placed = _place_config(staging, config_out) if config_out is not None else []
            set_aside = _swap(staging, data_dir, stamp)
        except BaseException:
            # Once the marker is written staging may hold the old data (swapped out):
            # the next restore settles it; before, staging is only a copy.
            if not (staging / MARKER).exists():
                shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return Restored(manifest, data_dir, set_aside, migrated, placed)


@contextlib.contextmanager
def _restore_lock(data_dir: Path) -> Iterator[None]:
    """One restore beside ``data_dir`` at a time: the lock is what lets a restore take
    a staging folder it finds for the leftover of a killed one. Taken on the parent
    folder itself, so no lock file is left there."""
    fd = os.open(data_dir.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RestoreRefused(
                f"Một lần khôi phục khác đang chạy trong {data_dir.parent}",
                f"another restore is running in {data_dir.parent}",
            ) from None
        yield
    finally:
        os.close(fd)


def _unpack(
    archive: Path,
    staging: Path,
    config: DeviceConfig,
    identity: Path | None,
    progress: Callable[[str], None],
) -> Manifest:
    def check(manifest: Manifest) -> None:
        if manifest.kind != "device":
            raise ForeignArchive(
                "Đây là bản sao lưu của máy chủ trung tâm: hãy dùng --central",
                "this is central's backup: restore it with --central",
            )
        if manifest.device != config.device.id:
            raise ForeignArchive(
                f"Đây là bản sao lưu của {manifest.device}, không phải {config.device.id}",
                f"this is the backup of {manifest.device}, not of {config.device.id} "
                "(the config's device.id)",
            )
        progress(
            f"archive of {manifest.device} ({manifest.role}) made {manifest.created:%Y-%m-%d %H:%M}"
            f" UTC by muontra {manifest.software}: {len(manifest.files)} files"
        )
        if manifest.omitted:
            progress("not in the archive (it was not encrypted): " + ", ".join(manifest.omitted))

    done = [0]

    def sink(entry: Entry) -> IO[bytes]:
        path = staging / entry.name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")

    def verified(entry: Entry) -> None:
        done[0] += 1
        progress(f"[{done[0]}] {entry.name}: {entry.size} bytes, SHA-256 verified")

    return read_stream(archive, identity, sink, check, verified)


def read_stream(
    archive: Path,
    identity: Path | None,
    sink: Callable[[Entry], IO[bytes]],
    check: Callable[[Manifest], None],
    verified: Callable[[Entry], None],
) -> Manifest:
    """Read ``archive`` (through age when it is encrypted) with every check."""
    if not age.is_age_file(archive):
        with archive.open("rb") as source:
            return read_archive(source, sink, on_manifest=check, on_file=verified)
    if identity is None:
        raise RestoreRefused(
            "Bản sao lưu được mã hoá: hãy chỉ ra khoá bằng --identity TỆP",
            "the archive is encrypted: name the age key with --identity FILE",
        )
    process: subprocess.Popen[bytes] = age.decrypting(archive, identity)
    assert process.stdout is not None
    try:
        manifest = read_archive(process.stdout, sink, on_manifest=check, on_file=verified)
        while process.stdout.read(1 << 16):
            pass
    except ArchiveError:
        # Read age to its end: stopped early, it would fail on a broken pipe and hide
        # the archive's own problem behind "cannot decrypt".
        while process.stdout.read(1 << 16):
            pass
        problem = age.finish(process, process.stdout)
        if problem is not None:  # age's own reason beats "truncated"
            raise RestoreRefused(
                f"Không giải mã được: {problem}", f"cannot decrypt: {problem}"
            ) from None
        raise
    problem = age.finish(process, process.stdout)
    if problem is not None:
        raise RestoreRefused(f"Không giải mã được: {problem}", f"cannot decrypt: {problem}")
    return manifest


def _migrate(
    data: Path, migrations: Mapping[str, Path], progress: Callable[[str], None]
) -> dict[str, tuple[str, str]]:
    migrated: dict[str, tuple[str, str]] = {}
    if not data.is_dir():
        return migrated
    for path in sorted(data.iterdir()):
        where = migrations.get(path.name)
        if where is None or not is_sqlite(path):
            continue
        before = alembic_revision(path)
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(where, connection), "head")
        finally:
            engine.dispose()
        after = alembic_revision(path)
        if after != before:
            migrated[path.name] = (before, after)
            progress(f"migrated {path.name}: schema {before or 'none'} -> {after}")
    return migrated


def _swap(staging: Path, data_dir: Path, stamp: str) -> Path | None:
    """Put the restored data in place: the old directory renamed aside, never deleted."""
    restored = staging / "data"
    restored.mkdir(exist_ok=True, mode=0o700)
    keys = staging / "secrets" / "data"
    if keys.is_dir():
        for key in keys.rglob("*"):
            if key.is_file():
                target = restored / key.relative_to(keys)
                target.parent.mkdir(parents=True, exist_ok=True)
                key.rename(target)
    if data_dir.exists():
        _own_like(restored, data_dir)
    restored.chmod(0o700)
    aside = data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}")
    return put_in_place(staging, data_dir, aside)


def _own_like(tree: Path, model: Path) -> None:
    """Run as root, give the restored files the owner of the directory they replace (the
    service's user, whose StateDirectory it is), or the service could not open them."""
    if os.geteuid() != 0:
        return
    owner = model.stat()
    for path in [tree, *tree.rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)


def _place_config(staging: Path, config_out: Path) -> list[Path]:
    """The archived config and secret files into ``config_out`` (0600), for staff to
    compare with /etc and put back by hand; never over an existing file."""
    folders = [staging / "config", staging / "secrets" / "etc"]
    files = [path for folder in folders if folder.is_dir() for path in sorted(folder.iterdir())]
    for path in files:
        target = config_out / path.name
        if target.exists():
            raise RestoreRefused(
                f"{target} đã có; không ghi đè", f"{target} exists; not overwritten"
            )
    config_out.mkdir(parents=True, exist_ok=True, mode=0o700)
    placed: list[Path] = []
    for path in files:
        target = config_out / path.name
        shutil.copyfile(path, target)
        target.chmod(0o600)
        placed.append(target)
    return placed
