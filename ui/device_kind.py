"""Which screen ``muontra ui`` shows: the kiosk's or the return machine's.

One command for every device, as a library installs it: the touchscreen asks
the daemon behind the socket for its ``status`` and picks the screens from the
answer. A sorter's status has its ``bins`` and ``belt`` (the contract in
docs of the sorter's local API; ``role = "sorter"`` is taken too, should the
daemon ever say so); anything else is a kiosk. ``--device`` skips the question,
for a machine whose daemon starts after its screen.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KINDS = ("kiosk", "sorter")
# Far more than an answer to ``status`` needs; the line is read no further.
MAX_ANSWER = 1024 * 1024


def kind_of(status: dict[str, Any]) -> str:
    """The screens for a daemon that answered ``status`` with this."""
    if status.get("role") == "sorter" or ("bins" in status and "belt" in status):
        return "sorter"
    return "kiosk"


def ask(path: Path, wait: float, *, clock: Any = time.monotonic) -> str | None:
    """Ask the daemon at ``path`` what it is, trying for up to ``wait`` seconds.

    None when nobody answered in time (not started yet, or hung): the caller
    decides. Each try is short, so a daemon that comes up during the wait is
    found within a fraction of a second.
    """
    deadline = clock() + wait
    while True:
        kind = _ask_once(path, timeout=max(0.1, min(2.0, deadline - clock())))
        if kind is not None or clock() >= deadline:
            return kind
        time.sleep(min(0.2, max(0.0, deadline - clock())))


def _ask_once(path: Path, timeout: float) -> str | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with contextlib.closing(sock):
            sock.connect(str(path))
            sock.sendall(b'{"id": "which", "cmd": "status"}\n')
            with sock.makefile("rb") as lines:
                while raw := lines.readline(MAX_ANSWER):
                    answer = json.loads(raw)
                    if isinstance(answer, dict) and answer.get("id") == "which":
                        result = answer.get("result")
                        if answer.get("ok") and isinstance(result, dict):
                            return kind_of(result)
                        return None
    except (OSError, ValueError, RecursionError) as error:
        log.debug("no status from %s: %s", path, error)
    return None
