"""The config file changed on disk outside a ``reload``: ``config_changed``.

The file names the ILS, the broker, the readers and the site's AFI values: one
edited on the device (a reader URL pointed at a laptop, the secured AFI swapped
so the gate keeps quiet) is an attack that a restart would make real. So the
daemon hashes the file when it loads it, checks it every so often, and says so
when it differs; a ``reload`` command takes the file as it is then (its re-read
is the one legitimate change, and the restarted daemon hashes it again).

One check is allowed to pass first: whoever edits the file and then sends
``reload`` should not set the alarm off in between. A change is reported when it
is still there, unreloaded, ``settle`` seconds after it was first seen. ``detail``
is ``changed`` or ``removed`` (a file put back as it was is no longer a change).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat

__all__ = ["CHANGED", "REMOVED", "ConfigFileWatch", "file_digest"]

log = logging.getLogger(__name__)

CHANGED, REMOVED = "changed", "removed"


def file_digest(path: Path) -> bytes | None:
    """SHA-256 of the file's bytes; None when it cannot be read (removed, no permission)."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


class ConfigFileWatch:
    """Compares the file with the digest taken at load (or at the last reload)."""

    def __init__(
        self,
        path: Path,
        reporter: SecurityReporter,
        *,
        settle: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.reporter = reporter
        self.settle = settle
        self.clock = clock
        self._lock = threading.Lock()
        self._digest = file_digest(path)
        self._pending: tuple[str, float] | None = None
        """A difference seen and not yet reported: (detail, first seen)."""

    def reloading(self) -> None:
        """A ``reload`` command reads the file: what is on disk now is the configuration."""
        with self._lock:
            self._digest = file_digest(self.path)
            self._pending = None

    def check(self) -> str | None:
        """Compare now; returns the detail reported (changed, removed), if any."""
        now = self.clock()
        digest = file_digest(self.path)
        with self._lock:
            if digest == self._digest:
                self._pending = None
                return None
            detail = REMOVED if digest is None else CHANGED
            if self._pending is None or self._pending[0] != detail:
                self._pending = (detail, now)
            if now - self._pending[1] < self.settle:
                return None
        self.reporter.report(Threat.CONFIG_CHANGED, Severity.WARNING, detail, detail=detail)
        return detail
