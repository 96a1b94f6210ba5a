"""`muontra backup --config FILE`: a device's data in one dated archive.

What a device keeps is found, not listed: every file under ``data_dir`` is taken,
so a store a role adds later (gate.sqlite, sorter.sqlite, the sorter's
manifests) is backed up without this module knowing the role (the engine may not
import one). SQLite files — the journal with its offline queue, cached patron
list, PIN verifiers and hourly statistics; the MQTT outbox; a role's own store —
are copied with SQLite's online backup API while the service runs; other files
(the journal's state file, a damaged journal set aside) byte for byte.

Secrets — the keys in ``data_dir`` (``*.key``) and the files the config names for
passwords and keys — go into the archive only when it is encrypted; otherwise the
manifest lists them as omitted and the command says so.

A kill or power cut at any moment leaves every archive already there whole: the
new one is written under a hidden ``.partial`` name, synced with its folder, and
only then renamed to its dated name (the only names restore and rotation take);
rotation runs after that and never removes the archive just written. What a killed
run left (its partial file, its staging folder) the next run removes, under a lock
so two runs never clean up after each other while both are alive.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import IO

from engine.backup import age
from engine.backup.sqlite_copy import alembic_revision, is_sqlite, snapshot
from engine.circulation.crash import crash_point
from engine.config import DeviceConfig
from engine.private_files import sync_directory
from protocols.backup.archive import (
    Entry,
    Manifest,
    archive_name,
    entry_for,
    is_safe_name,
    write_archive,
)
from protocols.backup.folder_lock import folder_lock

__all__ = ["BackupResult", "backup_device", "rotate", "software_version"]

log = logging.getLogger(__name__)

SIDE_FILES = ("-wal", "-shm", "-journal")
"""SQLite's companions of a database: the snapshot already holds what they hold."""
SET_ASIDE = re.compile(r"\.(damaged|recovering|before-restore)-")
"""Files set aside after damage: copied as bytes, never opened as databases."""
MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest: Manifest
    removed: tuple[Path, ...]


def software_version() -> str:
    try:
        return metadata.version("muontra")
    except metadata.PackageNotFoundError:
        return "unknown"


def _walk(root: Path) -> Iterator[Path]:
    """Regular files under ``root`` (links and sockets are not data; never followed)."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        depth = len(Path(folder).relative_to(root).parts)
        if depth >= MAX_DEPTH:
            dirs.clear()
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _config_secrets(config: DeviceConfig) -> list[Path]:
    """The files holding passwords and keys the config points at."""
    found = [
        config.device.site_key_file,
        config.ils.password_file,
        config.journal.pin_key_file,
        config.receipts.smtp.password_file if config.receipts.smtp else None,
        config.mqtt.password_file if config.mqtt else None,
    ]
    return [path for path in found if path is not None]


def _secret_in_data(relative: Path) -> bool:
    return relative.suffix == ".key"


def backup_device(
    config: DeviceConfig,
    config_path: Path,
    out_dir: Path,
    now: datetime,
    *,
    encrypt_to: str | None = None,
    keep: int | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> BackupResult:
    """Write ``muontra-<device>-<UTC time>.tar[.age]`` into ``out_dir``; rotate to ``keep``."""
    data_dir = config.device.data_dir
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data_dir {data_dir} does not exist: nothing to back up")
    if out_dir.resolve().is_relative_to(data_dir.resolve()):
        # The next backup would take the last one in, and its own staging folder.
        raise ValueError(f"--out {out_dir} is inside data_dir {data_dir}: choose another folder")
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    encrypted = encrypt_to is not None
    name = archive_name(config.device.id, now, encrypted=encrypted)
    target = out_dir / name
    with folder_lock(out_dir, progress) as locked:
        for leftover in clean_leftovers(out_dir, config.device.id) if locked else ():
            progress(f"removed {leftover.name}, left by a backup that was killed")
        if target.exists():
            raise FileExistsError(f"{target} exists; not overwritten")
        with tempfile.TemporaryDirectory(
            prefix=f"{_STAGING_PREFIX}{config.device.id}~", dir=out_dir
        ) as staging_dir:
            staging = Path(staging_dir)
            sources, omitted, schemas = _stage(config, config_path, staging, encrypted, progress)
            entries: list[Entry] = []
            for member in sources:
                with (staging / member).open("rb") as stream:
                    entries.append(entry_for(member, stream))
            manifest = Manifest(
                kind="device",
                device=config.device.id,
                role=str(config.device.role),
                site=config.device.site,
                created=now,
                software=software_version(),
                schemas=schemas,
                files=tuple(entries),
                omitted=tuple(omitted),
                encrypted=encrypted,
            )
            _write(manifest, staging, target, encrypt_to)
        progress(f"wrote {target} ({target.stat().st_size} bytes, {len(entries)} files)")
        # Only now that the new archive's name is on disk may an older one go.
        removed = rotate(out_dir, config.device.id, keep, newest=target) if keep else ()
    for path in removed:
        progress(f"rotated out {path.name}")
    return BackupResult(target, manifest, removed)


_STAGING_PREFIX = ".muontra-backup-"


def clean_leftovers(out_dir: Path, device: str) -> list[Path]:
    """Remove the partial archives and staging folders of killed runs of ``device``.
    Call with the folder's lock held: then no living run owns them."""
    mine = re.escape(device)
    partial = re.compile(rf"^\.muontra-{mine}-\d{{8}}T\d{{6}}Z\.tar(\.age)?\.partial$")
    staging = re.compile(rf"^{re.escape(_STAGING_PREFIX)}{mine}~[a-z0-9_]+$")
    removed = []
    for path in sorted(out_dir.iterdir()):
        if partial.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink()
        elif staging.match(path.name) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            continue
        removed.append(path)
    if removed:
        sync_directory(out_dir)
    return removed


def _stage(
    config: DeviceConfig,
    config_path: Path,
    staging: Path,
    encrypted: bool,
    progress: Callable[[str], None],
) -> tuple[list[str], list[str], dict[str, str]]:
    """Copy everything into ``staging`` under its member name; (members, omitted, schemas)."""
    data_dir = config.device.data_dir
    members: list[str] = []
    omitted: list[str] = []
    schemas: dict[str, str] = {}

    def place(member: str) -> Path:
        path = staging / member
        path.parent.mkdir(parents=True, exist_ok=True)
        members.append(member)
        return path

    for path in _walk(data_dir):
        relative = path.relative_to(data_dir)
        if relative.name.endswith(SIDE_FILES) and not SET_ASIDE.search(relative.name):
            continue  # a live database's companions: its snapshot holds what they hold
        secret = _secret_in_data(relative)
        member = ("secrets/data/" if secret else "data/") + relative.as_posix()
        if not is_safe_name(member):
            log.warning("backup: %s has a name a backup cannot carry; left out", relative)
            progress(f"left out {relative} (a name a backup cannot carry)")
            continue
        if secret and not encrypted:
            omitted.append(f"data/{relative.as_posix()}")
            continue
        if is_sqlite(path) and not SET_ASIDE.search(relative.name):
            snapshot(path, place(member))
            schemas[member] = alembic_revision(staging / member)
            progress(f"snapshot {relative} (schema {schemas[member] or 'none'})")
        else:
            shutil.copyfile(path, place(member))
            progress(f"copied {relative}")
    shutil.copyfile(config_path, place(f"config/{config_path.name}"))
    for secret_file in _config_secrets(config):
        # Without encryption, or a systemd credential name (LoadCredential=) that is
        # not a file here: listed as omitted, never archived in the clear.
        if not encrypted or not secret_file.is_file():
            omitted.append(str(secret_file))
            continue
        shutil.copyfile(secret_file, place(f"secrets/etc/{secret_file.name}"))
    if omitted:
        progress(
            "not encrypted, so left out: " + ", ".join(omitted) + " (use --encrypt-to to keep them)"
        )
    return members, omitted, schemas


def _write(manifest: Manifest, staging: Path, target: Path, encrypt_to: str | None) -> None:
    """The archive under a hidden partial name, synced, then renamed to ``target`` and
    the folder synced: after a cut, ``target`` is either absent or whole."""
    flushing: list[IO[bytes]] = []

    def open_member(entry: Entry) -> IO[bytes]:
        if entry is not manifest.files[0]:
            # Test hook: killed with the manifest and the first files on disk.
            for stream in flushing:
                stream.flush()
            crash_point("backup:archive_partial")
        return (staging / entry.name).open("rb")

    partial = target.with_name(f".{target.name}.partial")
    if encrypt_to is None:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            flushing.append(out)
            write_archive(out, manifest, open_member)
            out.flush()
            os.fsync(out.fileno())
    else:
        process = age.encrypting(encrypt_to, partial)
        assert process.stdin is not None
        flushing.append(process.stdin)
        # age stopped reading: its own complaint says why, below
        with contextlib.suppress(BrokenPipeError):
            write_archive(process.stdin, manifest, open_member)
        problem = age.finish(process, process.stdin)
        if problem is not None:
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"age could not encrypt the backup: {problem}")
        partial.chmod(0o600)
        _fsync_file(partial)  # age wrote it; its data must be on disk before the rename
    crash_point("backup:before_rename")
    partial.rename(target)
    sync_directory(target.parent)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_STAMPED = re.compile(r"^muontra-(?P<device>[a-z0-9-]+)-(?P<stamp>\d{8}T\d{6}Z)\.tar(\.age)?$")


def rotate(
    out_dir: Path, device: str, keep: int, *, newest: Path | None = None
) -> tuple[Path, ...]:
    """Remove all but the ``keep`` newest archives of ``device`` in ``out_dir``.

    ``newest``, the archive just written, is kept whatever its name says: a clock set
    back would otherwise date it before the others and rotate the good copy out.
    Only whole archives have a dated name, so a killed run's partial is never counted.
    """
    return tuple(_rotate(out_dir, device, keep, newest))


def _rotate(out_dir: Path, device: str, keep: int, newest: Path | None) -> Iterator[Path]:
    mine = []
    for path in out_dir.iterdir():
        match = _STAMPED.match(path.name)
        if match and match["device"] == device and path.is_file() and path != newest:
            mine.append((match["stamp"], path.name, path))
    mine.sort(reverse=True)
    room = max(keep, 1) - (1 if newest is not None else 0)
    for _stamp, _name, path in mine[room:]:
        path.unlink()
        sync_directory(out_dir)
        yield path
        crash_point("backup:rotating")  # test hook: killed with some old ones gone
