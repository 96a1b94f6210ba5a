"""A device's own secret key file, made once in ``data_dir`` when none is configured.

The patron_ref key and the offline PIN key both fall back to one. Made 0600
(the touchscreen's user must not read it), written in full and synced before
it appears under its name, and never replacing a key another process made
first: a key that changed under a running kiosk would forget every PIN lockout
or make every cached PIN unusable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def make_key_once(path: Path) -> None:
    """Create ``path`` holding 64 random hex digits unless it exists already."""
    if path.exists():
        return
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{path.name}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        # A link never replaces: if another process made the key meanwhile, its key wins.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
