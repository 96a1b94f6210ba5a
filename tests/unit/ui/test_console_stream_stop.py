"""The console's live stream stops when the window closes, even while it is still connecting
to a central that never answers (SYNs dropped), and tells nobody anything after that.

The unanswering central is a real listening socket whose accept queue is full: Linux drops
the SYNs of further connects, which then hang as they would on a dead address."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ui.console.client import Central, LiveStream

BOUND = 30.0  # only reached when the test fails; a connect without a timeout lasts ~2 min


def in_connect(thread: threading.Thread) -> bool:
    """The thread is inside socket.create_connection (http.client's connect) right now."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "create_connection":
            return True
        frame = frame.f_back
    return False


def wait_until(condition: Callable[[], bool]) -> bool:
    done = threading.Event()
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            return False
        done.wait(0.01)
    return True


@pytest.fixture
def unanswering_port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)  # fills the queue
    probe = socket.socket()
    probe.settimeout(0.3)
    with pytest.raises(TimeoutError):  # the premise: a connect now hangs
        probe.connect(("127.0.0.1", port))
    probe.close()
    yield port
    filler.close()
    listener.close()


def test_a_stream_stuck_connecting_ends_after_stop_and_says_nothing(
    unanswering_port: int,
) -> None:
    told: list[tuple[str, Any]] = []
    central = Central(f"http://127.0.0.1:{unanswering_port}", timeout=1.0)
    stream = LiveStream(
        central,
        on_event=lambda kind, body: told.append((kind, body)),
        on_state=lambda up: told.append(("state", up)),
        retry_s=(0.1, 0.1),
    )
    stream.start()
    assert wait_until(lambda: in_connect(stream._thread)), "the stream never began connecting"
    stream.stop()
    said_at_stop = list(told)
    stream._thread.join(BOUND)
    assert not stream.running, "the stream's thread still hangs in its connect"
    assert told == said_at_stop  # nothing after stop
