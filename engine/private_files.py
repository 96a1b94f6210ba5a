"""Small files only the engine's user may read, put in place so that a power cut
leaves the old content or the new one, never half of either.

Written to a temporary name (0600), synced, then moved or linked under the real
name, and the directory synced so that the name itself survives the cut. Used by
the journal's state file and by the keys a device makes for itself.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_private(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Put ``data`` at ``path`` (mode 0600). With ``replace=False`` an existing file,
    even one another process put there a moment ago, wins and ``data`` is dropped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if replace:
        os.replace(temporary, path)
    else:
        try:
            os.link(temporary, path)  # a link never replaces
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make renames and new names in ``directory`` survive a power cut (best effort)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def make_key_once(path: Path) -> None:
    """Create ``path`` holding 64 random hex digits unless it exists already.

    A device's own key (patron_ref, offline PINs) must never change under a running
    kiosk: every PIN lockout or cached PIN would be forgotten. So the first key wins.
    """
    if not path.exists():
        write_private(path, (secrets.token_hex(32) + "\n").encode("ascii"), replace=False)
