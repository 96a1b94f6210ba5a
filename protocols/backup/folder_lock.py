"""One backup into a folder at a time, for a device's and central's backups alike."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["folder_lock"]


@contextlib.contextmanager
def folder_lock(out_dir: Path, progress: Callable[[str], None]) -> Iterator[bool]:
    """Hold the lock of ``out_dir`` (a timer's run and a person's take turns); yields False
    where the folder cannot be locked (a share without locks).

    The lock is what lets a run take a partial file it finds for a dead run's leftover:
    without it (False), the caller backs up but touches no one's files. Taken on the
    folder itself, so no lock file sits among the archives; closing releases it, and a
    killed run's lock goes with its process."""
    fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for another backup into {out_dir} to end")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            progress(f"{out_dir} cannot be locked: leftovers of killed backups are kept")
            yield False
            return
        yield True
    finally:
        os.close(fd)
