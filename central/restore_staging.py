"""Where `muontra restore --central` unpacks an archive before it loads it: a private
folder under the temporary directory, cleared of what a killed restore left.

A restore killed mid-way (SIGKILL, a power cut) cannot remove its own staging folder,
and that folder holds a copy of central's whole database (a ``pg_dump`` or an SQLite
file). So every run unpacks into a fresh folder inside one folder of this user's,
``$TMPDIR/.muontra-restore-central-<uid>``, which it locks while it works: holding the
lock, anything else in there belongs to a dead run and is removed. Two restores take
turns on the lock (restoring one database twice at once makes no sense anyway).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["restore_staging"]


def _own_folder(base: Path) -> int:
    """``base`` opened (created if need be), after checking that it is this user's own
    private folder and no link: the temporary directory is everyone's to write in."""
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o700)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    info = os.fstat(fd)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.close(fd)
        raise PermissionError(f"{base} is not this user's private folder: not used")
    return fd


@contextlib.contextmanager
def restore_staging(progress: Callable[[str], None]) -> Iterator[Path]:
    """A new empty folder (mode 0700) for one restore, removed at the end."""
    base = Path(tempfile.gettempdir()) / f".muontra-restore-central-{os.getuid()}"
    fd = _own_folder(base)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("waiting for another restore of central to end")
            fcntl.flock(fd, fcntl.LOCK_EX)
        for leftover in sorted(base.iterdir()):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            progress(f"removed {leftover}, left by a restore that was killed")
        staging = Path(tempfile.mkdtemp(prefix="run-", dir=base))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        os.close(fd)  # the lock goes with it (and with a killed process)
