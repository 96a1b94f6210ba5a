"""The restored data directory put in place so that a kill or power cut at any instant
leaves ``data_dir`` usable: the old data or the restored data, never neither.

On Linux the two directories trade names in one step, ``renameat2(RENAME_EXCHANGE)``
(through ctypes: Python has no binding), then the old one, now in the staging
folder, is renamed aside. Where the kernel or file system cannot exchange, two
renames do it (old aside, restored in), and for a moment ``data_dir`` is missing.

Either way a marker in the staging folder, written and synced before the first
rename, names the old directory by its inode and says where it goes aside. A
restore killed part way leaves its staging folder; the next restore reads the
marker and finishes the swap (the restored data was whole and verified before the
marker was written) or, when nothing was renamed yet, removes the staging folder.
The old data is never deleted: only a folder proven not to be it is removed.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from engine.circulation.crash import crash_point
from engine.private_files import sync_directory

__all__ = [
    "exchange",
    "finish_or_roll_back",
    "put_in_place",
    "settle_at_start",
    "staging_dirs",
    "sync_tree",
]

MARKER = "SWAP.json"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_CANNOT_EXCHANGE = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def exchange(first: Path, second: Path) -> bool:
    """Swap the names of ``first`` and ``second`` atomically; False when this system
    cannot (not Linux, a kernel before 3.15, a file system without the flag)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    done = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in _CANNOT_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def sync_tree(root: Path) -> None:
    """Every file and folder under ``root`` on disk (before it is renamed into place)."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        sync_directory(Path(folder))


def _inode(path: Path) -> list[int] | None:
    try:
        found = path.lstat()
    except FileNotFoundError:
        return None
    return [found.st_dev, found.st_ino]


def _write_marker(staging: Path, data_dir: Path, aside: Path) -> None:
    marker = staging / MARKER
    document = {"old": _inode(data_dir), "aside": aside.name}
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(document).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    sync_directory(staging)


def _free(path: Path) -> Path:
    """``path``, or ``path-2``, ``-3``…: two restores in one second (one finishing what a
    killed one began) must not put the old data onto each other's."""
    found, n = path, 1
    while found.exists():
        n += 1
        found = path.with_name(f"{path.name}-{n}")
    return found


def _set_aside(old: Path, aside: Path) -> Path | None:
    """The old data renamed to ``aside``; an empty folder (one made for the restore, a
    systemd StateDirectory) is removed instead. Returns where the data went."""
    if not any(old.iterdir()):
        old.rmdir()
        return None
    old.rename(aside)
    return aside


def put_in_place(staging: Path, data_dir: Path, aside: Path) -> Path | None:
    """Make ``staging/data`` the ``data_dir``; the old one goes to ``aside``. Returns
    ``aside`` when data was kept there."""
    restored = staging / "data"
    sync_tree(restored)
    aside = _free(aside)
    _write_marker(staging, data_dir, aside)
    parent = data_dir.parent
    if not data_dir.exists():
        restored.rename(data_dir)
        sync_directory(parent)
        return None
    if exchange(restored, data_dir):
        sync_directory(parent)
        sync_directory(staging)
        crash_point("restore:swapping")  # test hook: the new data in, the old in staging
        kept = _set_aside(restored, aside)
    else:
        data_dir.rename(aside)
        sync_directory(parent)
        crash_point("restore:swapping")  # test hook: the old data aside, no data_dir
        restored.rename(data_dir)
        kept = aside
        if not any(aside.iterdir()):
            aside.rmdir()
            kept = None
    sync_directory(parent)
    return kept


def staging_dirs(data_dir: Path) -> list[Path]:
    """The staging folders restores of ``data_dir`` made (a killed one leaves its own)."""
    named = re.compile(rf"^{re.escape(data_dir.name)}\.restoring-\d{{8}}T\d{{6}}Z$")
    if not data_dir.parent.is_dir():
        return []
    return sorted(
        path
        for path in data_dir.parent.iterdir()
        if named.match(path.name) and path.is_dir() and not path.is_symlink()
    )


def finish_or_roll_back(
    staging: Path, data_dir: Path, progress: Callable[[str], None]
) -> Path | None:
    """Settle what a killed restore left in ``staging``; returns where old data was put
    aside when the swap is finished here. Call with the restore lock held."""
    marker = staging / MARKER
    restored = staging / "data"
    try:
        document = json.loads(marker.read_text(encoding="utf-8"))
        old, aside = document["old"], data_dir.with_name(str(document["aside"]))
    except FileNotFoundError:
        shutil.rmtree(staging)
        progress(f"removed {staging}, left by a restore killed before it changed {data_dir}")
        return None
    except (ValueError, KeyError, TypeError):
        # A marker cut short: it was being written, so nothing was renamed yet.
        old, aside = None, None
    kept: Path | None = None
    if old is not None and aside is not None and _inode(restored) == old:
        # Exchanged: the restored data is in place, the old data waits in staging.
        kept = _set_aside(restored, _free(aside))
        finished = True
    elif old is not None and aside is not None and not data_dir.exists() and _inode(aside) == old:
        # Two renames, killed between them: the old data is aside, the restored not in.
        restored.rename(data_dir)
        kept, finished = aside, True
    else:
        finished = False
    sync_directory(data_dir.parent)
    shutil.rmtree(staging)
    if finished:
        kept_line = f"; the data that was there is kept in {kept}" if kept else ""
        progress(f"finished the restore killed while it swapped {data_dir}{kept_line}")
    else:
        progress(f"removed {staging}, left by a restore killed before it changed {data_dir}")
    return kept


def settle_at_start(data_dir: Path, progress: Callable[[str], None]) -> None:
    """A daemon starting on ``data_dir`` settles what a restore killed part way left, so
    it does not start on an empty folder where two renames were cut between them (the
    restored data is whole in staging, the old data aside). Skipped while a restore runs:
    it holds the same lock on the parent folder (engine/backup/restore.py)."""
    if not staging_dirs(data_dir):
        return  # the common case costs one directory listing
    fd = os.open(data_dir.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"a restore is running beside {data_dir}: its folders are left to it")
            return
        for stale in staging_dirs(data_dir):
            finish_or_roll_back(stale, data_dir, progress)
    finally:
        os.close(fd)
