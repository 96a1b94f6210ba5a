"""What `muontra kiosk` and `muontra gate` share around their own parts.

Both load the device's TOML (problems named by key and line, exit 2), take
the same overrides, stop cleanly on SIGTERM or SIGINT, tell systemd when they
are ready, feed its watchdog only while their loops are healthy (a loop stuck
in a driver then gets the service restarted rather than a device that quietly
stopped working), report their health to central monitoring every minute and
reload on a command: the file is checked first, and only a valid one makes the
process start again in place on it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from engine import db, sdnotify
from engine.backup.swap import settle_at_start
from engine.config import ConfigError, DeviceConfig, load_config
from protocols.allocator import release_free_memory, tune_allocator

__all__ = ["Service", "add_arguments", "load_device", "release_free_memory", "tune_allocator"]

log = logging.getLogger(__name__)

TELEMETRY_EVERY = 60.0
"""Seconds between health reports to central monitoring."""


def add_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--config", required=True, type=Path, help=f"the {what}'s TOML file")
    parser.add_argument("--socket", type=Path, help="override device.api_socket")
    parser.add_argument("--data-dir", type=Path, help="override device.data_dir")


def load_device(command: str, args: argparse.Namespace) -> DeviceConfig | None:
    """The device's configuration with the command line's overrides, or None after saying
    on stderr what is wrong with it."""
    tune_allocator()  # first, before any thread of the daemon's allocates
    try:
        config = load_config(args.config, secrets=True)
    except ConfigError as error:
        print(f"muontra {command}: {args.config} has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    if args.data_dir:
        config.device.data_dir = args.data_dir
    if args.socket:
        config.device.api_socket = args.socket
    settle_at_start(config.device.data_dir, lambda line: log.warning("%s: %s", command, line))
    # A long-lived process keeps what alembic costs; a child migrates and takes it away.
    db.migrate_in_child()
    return config


class Service:
    """Signals, readiness, watchdog, telemetry and reload for one daemon process."""

    def __init__(self, command: str, config_path: Path) -> None:
        self.command = command
        self.config_path = config_path
        self.stop = threading.Event()
        self.restart = threading.Event()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def reload(self) -> str | None:
        """Check the file again; when valid, stop and start again on it (see ``finish``).
        Returns the problems when it is not, and the daemon goes on as it was."""
        try:
            load_config(self.config_path, secrets=True)
        except ConfigError as error:
            return "; ".join(str(problem) for problem in error.problems)[:500]
        self.restart.set()
        self.stop.set()
        return None

    def serve(
        self,
        ready: str,
        healthy: Callable[[], bool],
        report: Callable[[], None] | None = None,
    ) -> None:
        """Tell systemd (and the log) that the daemon is ready, then watch it until stopped."""
        print(f"muontra {self.command}: {ready}", file=sys.stderr, flush=True)
        sdnotify.notify("READY=1")
        interval = min(sdnotify.watchdog_interval() or 5.0, 5.0)
        last_report = time.monotonic()
        try:
            while not self.stop.wait(interval):
                release_free_memory()
                if healthy():
                    sdnotify.notify("WATCHDOG=1")
                else:
                    log.error("a %s loop is not running; not feeding the watchdog", self.command)
                    sdnotify.notify("STATUS=a loop is not running; not feeding the watchdog")
                if report is not None and time.monotonic() - last_report >= TELEMETRY_EVERY:
                    last_report = time.monotonic()
                    report()
        finally:
            sdnotify.notify("STOPPING=1")

    def finish(self) -> int:
        """Once every part is closed: start again in place if a reload asked for it."""
        if self.restart.is_set():
            log.info("restarting on %s", self.config_path)
            # The same process id, so systemd's watchdog and notify socket carry over.
            os.execv(sys.executable, [sys.executable, "-m", "muontra", *sys.argv[1:]])
        return 0
