"""Encryption with age (https://age-encryption.org, Debian package ``age``).

The tar is piped through ``age`` so no plaintext copy of the archive touches the
disk. Recipients and identity *files* are named on the command line; neither is a
secret (a recipient is a public key; the identity file's path is not its content).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import IO

__all__ = ["AgeMissing", "decrypting", "encrypting", "is_age_file"]

MAGIC = b"age-encryption.org/"


class AgeMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__("`age` is not installed (Debian: apt-get install age)")


def _age() -> str:
    found = shutil.which("age")
    if found is None:
        raise AgeMissing
    return found


def is_age_file(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(MAGIC)) == MAGIC


def encrypting(recipient: str, out: Path) -> subprocess.Popen[bytes]:
    """An ``age`` process encrypting its stdin to ``recipient`` (a key, or a file of
    keys) into ``out``. Close its stdin, then wait."""
    how = ["-R", recipient] if Path(recipient).is_file() else ["-r", recipient]
    return subprocess.Popen(
        [_age(), *how, "-o", str(out)], stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )


def decrypting(archive: Path, identity: Path) -> subprocess.Popen[bytes]:
    """An ``age`` process writing the plaintext of ``archive`` to its stdout."""
    return subprocess.Popen(
        [_age(), "-d", "-i", str(identity), str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes], stream: IO[bytes] | None = None) -> str | None:
    """Wait for ``process``; its complaint (None when it succeeded)."""
    if stream is not None:
        stream.close()
    err = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    if process.wait() != 0:
        return err.strip() or f"age exited with {process.returncode}"
    return None
