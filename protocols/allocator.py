"""glibc's allocator for a long-lived process: settings at start, free pages given back.

Used by the device daemons (engine.cli_daemon) and central (central.cli, central.ops),
which may not import each other. glibc gives each thread that allocates an arena of its
own (up to eight per core), raises its mmap and trim thresholds each time a large block
is freed (up to 32 MB), and keeps what SQLite, OpenSSL and a batch of events freed inside
its arenas; the resident size then keeps every past peak (issue 15). Two arenas are
plenty under Python's GIL, fixed thresholds turn the ratchet off, and ``malloc_trim(0)``
gives the free pages back. Values from the environment (``MALLOC_ARENA_MAX`` and the
like, or ``GLIBC_TUNABLES``) win. Where there is no glibc (musl, macOS), nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
"""mallopt's parameter numbers (glibc's malloc.h)."""

ALLOCATOR_SETTINGS: dict[int, tuple[str, int]] = {
    M_ARENA_MAX: ("MALLOC_ARENA_MAX", 2),
    M_MMAP_THRESHOLD: ("MALLOC_MMAP_THRESHOLD_", 128 * 1024),
    M_TRIM_THRESHOLD: ("MALLOC_TRIM_THRESHOLD_", 128 * 1024),
}
"""Each setting with the environment variable that overrides it."""

_TUNABLES = {
    M_ARENA_MAX: "glibc.malloc.arena_max",
    M_MMAP_THRESHOLD: "glibc.malloc.mmap_threshold",
    M_TRIM_THRESHOLD: "glibc.malloc.trim_threshold",
}


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both, or it is not glibc
    except (OSError, AttributeError):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    return libc


def tune_allocator(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Apply :data:`ALLOCATOR_SETTINGS` at start, before the process's threads (an arena made
    earlier stays); the settings applied, by environment variable name."""
    libc = _libc()
    if libc is None:
        return {}
    environ = os.environ if environ is None else environ
    tunables = environ.get("GLIBC_TUNABLES", "")
    applied: dict[str, int] = {}
    for parameter, (variable, value) in ALLOCATOR_SETTINGS.items():
        if variable in environ or _TUNABLES[parameter] in tunables:
            continue
        if libc.mallopt(parameter, value) == 1:
            applied[variable] = value
        else:
            log.warning("mallopt(%d, %d) refused", parameter, value)
    return applied


def release_free_memory() -> bool:
    """``malloc_trim(0)``: the free pages of glibc's arenas back to the system; True if done.

    It takes a millisecond or so on a daemon's heap, and changes nothing Python holds;
    the daemons' service loop calls it every few seconds, central's staff side every 10 s.
    """
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
