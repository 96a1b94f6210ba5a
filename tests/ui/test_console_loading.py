"""Every request the console makes to central leaves its window alive (issue 14).

Central is the real API of test_console.py; between it and the console stands a TCP
proxy that, while holding, accepts a request and never answers it (a province's server
that stopped answering) until the test releases it. The console must keep turning its
event loop, say it is loading, draw the answer once it comes, drop an answer that a newer
choice has overtaken, say in both languages that central is gone, and close at once.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer

from central.api import ApiServer
from central.settings_ops import ApiSection
from tests.ui.test_console import NOW, SITE, TODAY, Central, Fleet, settle
from ui.console.tickets import Tickets
from ui.console.window import Console, Options


class HoldingProxy:
    """TCP in front of central; ``hold(match)`` keeps each request whose head holds ``match``.

    A held request is accepted and read, and nothing is sent on to central until
    ``release()``; ``hung_up`` is set when the console closes a held connection itself.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.match: bytes | None = None
        self.released = threading.Event()
        self.held = 0
        self.changed = threading.Condition()
        self.hung_up = threading.Event()
        self.sockets: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hold(self, match: bytes = b"") -> None:
        self.released = threading.Event()
        self.match = match

    def release(self) -> None:
        self.match = None
        self.released.set()

    def wait_held(self, count: int, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.held >= count, timeout)

    def close(self) -> None:
        self.closed = True
        self.released.set()
        for sock in [self.listener, *self.sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            match, released = self.match, self.released
            if match is not None and match in head:
                with self.changed:
                    self.held += 1
                    self.changed.notify_all()
                while not released.is_set():
                    # watch the held socket: the console hanging up is what a test waits for
                    readable, _, _ = select.select([client], [], [], 0.05)
                    if readable:
                        chunk = client.recv(65536)
                        if not chunk:
                            self.hung_up.set()
                            client.close()
                            return
                        head += chunk
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.sockets.append(upstream)
            upstream.sendall(head)
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
            sink.shutdown(socket.SHUT_WR)


class DeviceFleet(Fleet):
    """The stand-in fleet, each device with an event of its own (so a stale one shows)."""

    def events(self, site: str | None, device: str | None, limit: int) -> list[dict[str, Any]]:
        return [
            {
                "time": NOW - 30,
                "kind": "alarm",
                "device": device,
                "data": {"item_id": f"item-of-{device}"},
            }
        ]


def _server(c: Central, port: int = 0) -> ApiServer:
    return ApiServer(
        ApiSection(enabled=True, port=port),
        c.sessions,
        alerts=c.store,
        book=c.book,
        send=c.send,
        evaluator=c.evaluator,
        fleet=DeviceFleet(),
        clock=lambda: c.clock,
    )


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    c = Central(tmp_path)
    c.server = _server(c)
    c.server.start()
    yield c
    c.server.stop()


@pytest.fixture
def proxy(central: Central) -> Iterator[HoldingProxy]:
    p = HoldingProxy(central.server.port)
    yield p
    p.close()


def open_console(qtbot: Any, server: str, token: str) -> Console:
    # A long client timeout: a held request must stay out until the test releases it,
    # however slow the machine, and closing must not wait for it to time out.
    window = Console(
        Options(server=server, token=token, language="en", today=lambda: TODAY, timeout=120)
    )
    qtbot.addWidget(window, before_close_func=lambda w: w.close())
    window.resize(1200, 760)
    window.show()
    return window


def signed_in(qtbot: Any, server: str, token: str) -> Console:
    window = open_console(qtbot, server, token)
    assert window.sign_in()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.main_page, timeout=10_000)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window.live, timeout=10_000)
    return window


def the_event_loop_turns(qtbot: Any) -> None:
    timer = QTimer()
    timer.setSingleShot(True)
    with qtbot.waitSignal(timer.timeout, timeout=5000):
        timer.start(0)


def event_details(window: Console) -> list[str]:
    table = window.events_table
    return [table.item(r, 2).text() for r in range(table.rowCount())]  # type: ignore[union-attr]


def test_a_held_central_leaves_the_window_turning_says_loading_then_draws_the_answer(
    qtbot: Any, central: Central, proxy: HoldingProxy
) -> None:
    window = open_console(qtbot, proxy.url, central.tokens["desk"])
    proxy.hold()
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    assert proxy.wait_held(1)  # central has the sign-in; the click has returned all the same
    assert window.login_message.text() == "Signing in…"
    assert not window.sign_in_button.isEnabled()
    the_event_loop_turns(qtbot)
    window.repaint()  # paints now: a frozen window could not
    assert window.stack.currentWidget() is window.login_page
    proxy.release()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.main_page, timeout=10_000)
    settle(qtbot, window)
    assert window.fleet_tree.topLevelItemCount() == 2

    window.tabs.setCurrentIndex(1)
    proxy.hold(b"/v1/devices")
    qtbot.mouseClick(window.fleet_refresh, Qt.MouseButton.LeftButton)
    assert proxy.wait_held(2)
    assert window.fleet_message.text() == "Loading…"
    assert not window.fleet_refresh.isEnabled()
    assert window.fleet_tree.topLevelItemCount() == 2  # what was shown stays meanwhile
    the_event_loop_turns(qtbot)
    window.toggle_language()  # the console answers its staff while central does not
    assert window.fleet_message.text() == "Đang tải…"
    proxy.release()
    qtbot.waitUntil(window.fleet_refresh.isEnabled, timeout=10_000)
    assert window.fleet_message.text() == ""
    assert window.fleet_tree.topLevelItemCount() == 2


def test_a_central_killed_mid_session_is_said_in_both_languages_and_the_console_goes_on(
    qtbot: Any, central: Central
) -> None:
    window = signed_in(qtbot, central.url, central.tokens["desk"])
    port = central.server.port
    central.server.stop()
    qtbot.mouseClick(window.fleet_refresh, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.waiting, timeout=10_000)
    assert window.fleet_message.text() == "Central cannot be reached"
    assert window.fleet_refresh.isEnabled()  # the staff may try again
    window.show_device(SITE, "kiosk-1")
    qtbot.waitUntil(lambda: not window.waiting, timeout=10_000)
    assert window.events_message.text() == "Central cannot be reached"
    assert window.commands_message.text() == "Central cannot be reached"
    panel = window.command_panel
    panel.choice.setCurrentIndex(panel.choice.findData("lock"))
    with qtbot.waitSignal(panel.sent, timeout=10_000):
        assert panel.send()
    assert panel.status.text() == "Command not sent: Central cannot be reached"
    assert panel.send_button.isEnabled()
    window.site_edit.setText(SITE)
    qtbot.mouseClick(window.today_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.waiting, timeout=10_000)
    assert window.charts_message.text() == "Central cannot be reached"
    window.toggle_language()
    for note in (window.fleet_message, window.events_message, window.charts_message):
        assert note.text() == "Không kết nối được máy chủ trung tâm"

    central.server = _server(central, port)  # back on the same port
    central.server.start()
    qtbot.mouseClick(window.fleet_refresh, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.waiting, timeout=10_000)
    assert window.fleet_message.text() == ""
    assert window.fleet_tree.topLevelItemCount() == 2


def test_a_devices_events_arriving_after_another_was_chosen_are_dropped(
    qtbot: Any, central: Central, proxy: HoldingProxy
) -> None:
    window = signed_in(qtbot, proxy.url, central.tokens["desk"])
    proxy.hold(b"device=kiosk-1")
    window.show_device(SITE, "kiosk-1")
    assert proxy.wait_held(2)  # its events and its commands, both held
    assert window.events_message.text() == "Loading…"
    window.show_device(SITE, "gate-a")
    qtbot.waitUntil(lambda: event_details(window) == ["item-of-gate-a"], timeout=10_000)
    settle(qtbot, window)

    late: list[str] = []

    def kiosk_answer(key: str, answer: str) -> bool:
        if "kiosk-1" in answer or key.startswith("commands"):
            late.append(key)
        return len(late) == 2

    with qtbot.waitSignal(window.requests.done, timeout=10_000, check_params_cb=kiosk_answer):
        proxy.release()
    # The window took both answers before this test did (it connected first) and dropped them.
    assert event_details(window) == ["item-of-gate-a"]
    assert window.device == (SITE, "gate-a") and "gate-a" in window.device_heading.text()
    assert window.events_message.text() == ""


def test_closing_while_a_request_is_held_hangs_it_up_at_once(
    qtbot: Any, central: Central, proxy: HoldingProxy
) -> None:
    window = signed_in(qtbot, proxy.url, central.tokens["desk"])
    proxy.hold(b"/v1/devices")
    qtbot.mouseClick(window.fleet_refresh, Qt.MouseButton.LeftButton)
    assert proxy.wait_held(1)
    assert not proxy.hung_up.is_set()  # (a 120 s timeout: not before the window lets go)
    window.close()
    # The client's timeout is 120 s: only the window dropping the request closes it now.
    assert proxy.hung_up.wait(10)
    assert not proxy.released.is_set()


def test_a_ticket_is_redeemed_only_while_it_is_its_parts_newest() -> None:
    tickets = Tickets()
    first = tickets.issue("events")
    fleet = tickets.issue("fleet")
    second = tickets.issue("events")
    assert tickets.waiting() == {"events", "fleet"}
    assert tickets.redeem(first) is None  # overtaken by ``second``
    assert tickets.redeem(second) == "events"
    assert tickets.redeem(second) is None  # spent
    assert tickets.waiting() == {"fleet"}
    tickets.forget()  # signed out: every answer still to come is stale
    assert tickets.redeem(fleet) is None and tickets.waiting() == frozenset()
    assert tickets.redeem("ack-3") is None


def test_a_fault_in_the_console_itself_is_not_blamed_on_central(
    qtbot: Any, central: Central
) -> None:
    window = signed_in(qtbot, central.url, central.tokens["desk"])

    def broken() -> Any:
        raise KeyError("devices")  # as a bug in a worker's call would

    window._ask("fleet", broken, window._fleet_answered)
    settle(qtbot, window)
    assert window.fleet_message.text() == "The console failed (KeyError): please tell IT"
    assert window.fleet_refresh.isEnabled()
