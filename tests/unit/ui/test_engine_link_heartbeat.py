"""EngineLink's heartbeat: an engine that hangs with its socket open goes out of service.

The engine here is a fake: a real Unix socket server in tmp_path that answers
JSON lines like the local API (one answering thread per connection, commands
in order) and can be told to hang — keep every connection open, answer
nothing — and to resume. Intervals are a fraction of a second so the tests
are quick; every wait is on a condition, with a generous bound for a loaded
machine.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.events import EventBus
from engine.jsonlines import JsonLinesServer
from kiosk.api import COMMANDS
from ui.client import CLOSED, EngineLink

HEARTBEAT = 0.05
DEAD_AFTER = 0.3
BOUND = 5.0  # how long a wait may take before the test fails: only reached when it fails

Message = dict[str, Any]


class FakeEngine:
    """A JSON-lines server with a hang switch; it records every command as it arrives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answering = threading.Event()
        self.answering.set()
        self.release_slow = threading.Event()  # the answer to ``slow`` waits for this
        self.ping_with_event = False  # answer a ping with an event instead of an answer
        self.received: list[str] = []
        self.connections = 0
        self._changed = threading.Condition()
        self._conns: list[socket.socket] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self) -> None:
        """Stop answering (as SIGSTOP or a deadlock would), connections left open."""
        self.answering.clear()

    def resume(self) -> None:
        self.answering.set()

    def count(self, cmd: str) -> int:
        with self._changed:
            return self.received.count(cmd)

    def wait(self, predicate: Callable[[], bool]) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, BOUND)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self._listener.close()
        self.answering.set()
        self.release_slow.set()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            with self._changed:
                self.connections += 1
                self._changed.notify_all()
            inbox: queue.Queue[Message | None] = queue.Queue()
            threading.Thread(target=self._receive, args=(conn, inbox), daemon=True).start()
            threading.Thread(target=self._answer, args=(conn, inbox), daemon=True).start()

    def _receive(self, conn: socket.socket, inbox: queue.Queue[Message | None]) -> None:
        with contextlib.suppress(OSError, ValueError), conn.makefile("rb") as lines:
            for raw in lines:
                request = json.loads(raw)
                with self._changed:
                    self.received.append(str(request.get("cmd")))
                    self._changed.notify_all()
                inbox.put(request)
        inbox.put(None)

    def _answer(self, conn: socket.socket, inbox: queue.Queue[Message | None]) -> None:
        # Like the real server: one command at a time per connection, in order.
        while (request := inbox.get()) is not None:
            self.answering.wait()
            cmd = request.get("cmd")
            if cmd == "slow":
                self.release_slow.wait()
            if cmd == "ping" and self.ping_with_event:
                message: Message = {"event": "tick"}
            elif cmd == "subscribe":
                message = {"id": request.get("id"), "ok": True, "result": {"subscribed": True}}
            else:
                message = {"id": request.get("id"), "ok": True, "result": {"cmd": cmd}}
            try:
                conn.sendall((json.dumps(message) + "\n").encode())
            except OSError:
                return


class Screen:
    """What the touchscreen would hear from the link: connection changes and events."""

    def __init__(self) -> None:
        self.states: list[bool] = []
        self.events: list[Message] = []
        self._changed = threading.Condition()

    def connection(self, up: bool) -> None:
        with self._changed:
            self.states.append(up)
            self._changed.notify_all()

    def event(self, event: Message) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = BOUND) -> bool:
        with self._changed:
            return self._changed.wait_for(predicate, timeout)


class Answers:
    """An ``on_answer`` callback that can be waited for."""

    def __init__(self) -> None:
        self.got: list[Message] = []
        self._done = threading.Event()

    def __call__(self, answer: Message) -> None:
        self.got.append(answer)
        self._done.set()

    def wait(self, timeout: float = BOUND) -> Message:
        assert self._done.wait(timeout), "no answer"
        return self.got[0]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    fake = FakeEngine(tmp_path / "engine.sock")
    yield fake
    fake.close()


@pytest.fixture
def screen() -> Screen:
    return Screen()


@pytest.fixture
def links() -> Iterator[Callable[..., EngineLink]]:
    started: list[EngineLink] = []

    def start(path: Path, screen: Screen, **intervals: float) -> EngineLink:
        intervals.setdefault("heartbeat", HEARTBEAT)
        intervals.setdefault("dead_after", DEAD_AFTER)
        link = EngineLink(
            path, screen.event, screen.connection, retry_min=0.01, retry_max=0.05, **intervals
        )
        started.append(link)
        link.start()
        return link

    yield start
    for link in started:
        link.stop()


def test_a_hung_engine_takes_the_link_down_within_dead_after(
    engine: FakeEngine,
    screen: Screen,
    links: Callable[..., EngineLink],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ui.client")
    link = links(engine.path, screen)
    assert screen.wait(lambda: screen.states == [True])
    engine.hang()
    hung_at = time.monotonic()
    assert screen.wait(lambda: len(screen.states) > 1, timeout=DEAD_AFTER + 2.0)
    took = time.monotonic() - hung_at
    assert screen.states == [True, False]
    assert not link.connected
    # No sooner than the heartbeat would have had to go unanswered.
    assert took >= DEAD_AFTER - HEARTBEAT * 2
    assert any("hung" in r.getMessage() for r in caplog.records if r.name == "ui.client")


def test_requests_waiting_on_a_hung_engine_get_the_closed_answer(
    engine: FakeEngine, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    # A request of ours is waiting, so the link allows the longer busy silence first.
    link = links(engine.path, screen, busy_dead_after=1.0)
    assert screen.wait(lambda: screen.states == [True])
    engine.hang()
    answers = Answers()
    sent_at = time.monotonic()
    link.send("status", {}, answers)
    assert answers.wait() == CLOSED
    took = time.monotonic() - sent_at
    # The drop answers the waiting requests first, then reports the link down.
    assert screen.wait(lambda: screen.states == [True, False])
    # Longer than dead_after: a slow command is not a hang until busy_dead_after.
    assert took >= DEAD_AFTER * 2


def test_while_the_engine_stays_hung_reconnecting_does_not_report_connected(
    engine: FakeEngine, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    link = links(engine.path, screen)
    assert screen.wait(lambda: screen.states == [True])
    engine.hang()
    assert screen.wait(lambda: screen.states == [True, False])
    # The socket accepts; the handshake gets no answer. Two more connections mean the
    # link gave up on at least one handshake and tried again.
    after_drop = engine.connections
    engine.wait(lambda: engine.connections >= after_drop + 2)
    assert screen.states == [True, False]
    assert not link.connected
    answers = Answers()
    link.send("status", {}, answers)
    assert answers.wait(timeout=0.5) == CLOSED  # at once: the screen is told it is away


def test_a_link_started_against_a_hung_engine_never_reports_connected(
    engine: FakeEngine, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    engine.hang()
    links(engine.path, screen)
    engine.wait(lambda: engine.count("subscribe") >= 3)  # three handshakes, none answered
    assert screen.states == []


def test_the_link_comes_back_when_the_engine_answers_again(
    engine: FakeEngine, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    link = links(engine.path, screen)
    assert screen.wait(lambda: screen.states == [True])
    engine.hang()
    assert screen.wait(lambda: screen.states == [True, False])
    engine.wait(lambda: engine.connections >= 2)
    engine.resume()
    assert screen.wait(lambda: screen.states == [True, False, True])
    answers = Answers()
    link.send("status", {}, answers)
    assert answers.wait()["result"] == {"cmd": "status"}


def test_a_quiet_healthy_engine_stays_connected_across_heartbeats(
    engine: FakeEngine, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    links(engine.path, screen)
    assert screen.wait(lambda: screen.states == [True])
    # Twelve heartbeats span twice dead_after: time enough to have dropped a silent engine.
    engine.wait(lambda: engine.count("ping") >= 12)
    assert screen.states == [True]
    assert engine.connections == 1


def test_events_alone_count_as_signs_of_life(
    engine: FakeEngine, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    engine.ping_with_event = True  # no ping is ever answered, but each brings an event
    links(engine.path, screen)
    engine.wait(lambda: engine.count("ping") >= 12)
    assert screen.states == [True]
    assert screen.wait(lambda: len(screen.events) >= 11)


def test_a_slow_command_does_not_take_the_link_down(
    engine: FakeEngine, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    link = links(engine.path, screen, busy_dead_after=30.0)
    assert screen.wait(lambda: screen.states == [True])
    answers = Answers()
    link.send("slow", {}, answers)
    # The ping queues behind the slow command, as on the real server: it goes unanswered.
    engine.wait(lambda: engine.received[-2:] == ["slow", "ping"])
    # A bounded wait for what must not happen: several times dead_after.
    assert not screen.wait(lambda: False in screen.states, timeout=DEAD_AFTER * 4)
    engine.release_slow.set()
    assert answers.wait()["ok"] is True
    assert screen.states == [True]
    assert link.connected


def test_the_real_api_server_answers_the_heartbeat(
    tmp_path: Path, screen: Screen, links: Callable[..., EngineLink]
) -> None:
    pings: list[float] = []
    counted = threading.Condition()

    def ping(target: Any, args: Message) -> Any:
        with counted:
            pings.append(time.monotonic())
            counted.notify_all()
        return COMMANDS["ping"](target, args)

    server = JsonLinesServer(tmp_path / "api.sock", None, EventBus(), {**COMMANDS, "ping": ping})
    server.serve_in_thread()
    try:
        link = links(server.path, screen)
        assert screen.wait(lambda: screen.states == [True])  # the subscribe's real answer
        with counted:
            assert counted.wait_for(lambda: len(pings) >= 12, BOUND)
        assert screen.states == [True]
        answers = Answers()
        link.send("ping", {}, answers)
        assert answers.wait()["result"] == {"pong": True}
    finally:
        server.close()
