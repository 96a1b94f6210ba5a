"""The staff console's flows with pytest-qt (offscreen) against a real central API on loopback.

``Central`` is central's ApiServer on SQLite (random port) with staff tokens (desk and viewer);
its ``fleet`` is None (devices, events and stats answer 503, as until core's store is wired in)
or ``Fleet``, a stand-in answering the three fleet reads as core's store shapes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from central.accounts import Staff, create_staff
from central.alerts import AlertEvaluator, AlertStore, AlertView
from central.api import ApiServer, FleetReader, issue_token
from central.commands import CommandBook, CommandView
from central.settings_ops import AlertsSection, ApiSection
from tests.central.ops_db import sqlite_sessions
from ui.console.client import Central as Client
from ui.console.client import CentralError
from ui.console.window import Console, Options

SITE = "VN-HN0001"
NOW = 1_800_000_000.0
PASSWORD = "0123456789ab"


class Central:
    def __init__(self, folder: Path, fleet: FleetReader | None = None) -> None:
        self.sessions = sqlite_sessions(folder)
        with self.sessions() as session:
            create_staff(session, "lan", "Nguyễn Thị Lan", "desk", PASSWORD, site=SITE, now=NOW)
            create_staff(session, "xem", "Xem", "viewer", PASSWORD, site=SITE, now=NOW)
            self.tokens = {
                "desk": issue_token(
                    session, "console-desk", may_command=True, staff_login="lan", now=NOW
                ),
                "viewer": issue_token(
                    session, "console-wall", may_command=True, staff_login="xem", now=NOW
                ),
            }
            session.commit()
        self.book = CommandBook(self.sessions, "muontra")
        self.evaluator = AlertEvaluator(AlertsSection())
        self.store = AlertStore(self.sessions)
        self.clock = NOW + 60

        def send(
            staff: Staff, site: str, device: str, name: str, args: Mapping[str, Any]
        ) -> CommandView:
            return self.book.prepare(staff, site, device, name, args, now=NOW)[2]

        self.send = send
        self.server = ApiServer(
            ApiSection(enabled=True, port=0),
            self.sessions,
            alerts=self.store,
            book=self.book,
            send=send,
            evaluator=self.evaluator,
            fleet=fleet,
            clock=lambda: self.clock,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def gate_alarm(self, item: str, title: str, gate: str = "gate-a", at: float = NOW) -> AlertView:
        """What ops does with a gate's alarm event: store the alert, tell the streams."""
        (view,) = self.store.apply(
            self.evaluator.on_event(SITE, gate, "alarm", {"item_id": item, "title": title}, at)
        )
        self.server.broadcast("alert", view.site, view.as_json())
        return view


TODAY = date(2027, 1, 15)  # NOW's day: the tests never read the machine's calendar


class Fleet:
    """Stands in for core's fleet store behind the real API (rows as its JSON)."""

    def devices(self, site: str | None) -> list[dict[str, Any]]:
        return [
            {
                "site": SITE,
                "device": "gate-a",
                "role": "gate",
                "state": "online",
                "readers": {"antenna": "ready"},
                "queues": {"outbox": 0},
            },
            {
                "site": SITE,
                "device": "kiosk-1",
                "role": "kiosk",
                "state": "offline",
                "state_since": "2027-01-15T01:02:03",
                "readers": {"pad": "lost"},
                "ils": "down",
                "queues": {"offline": 7},
            },
            {
                "site": "VN-HN0002",
                "device": "sorter-1",
                "role": "sorter",
                "state": "online",
                "readers": {"pad": "ready"},
                "bins": [
                    {"bin": "1", "fill": 12, "state": "ok"},
                    {"bin": "2", "fill": 40, "state": "full"},
                ],
            },
        ]

    def events(self, site: str | None, device: str | None, limit: int) -> list[dict[str, Any]]:
        return [
            {
                "time": NOW - 30,
                "kind": "alarm",
                "device": device,
                "data": {"item_id": "30077", "title": "Số đỏ"},
            }
        ]

    def stats(self, site: str, day: str) -> list[dict[str, Any]]:
        # core's long form: one row per device, hour and metric
        return [
            {
                "site": site,
                "device": "kiosk-1",
                "hour": f"{day}T09:00:00",
                "metric": "checkout",
                "key": "",
                "count": 5,
            },
            {
                "site": site,
                "device": "kiosk-1",
                "hour": f"{day}T09:00:00",
                "metric": "checkin",
                "key": "",
                "count": 2,
            },
            {
                "site": site,
                "device": "gate-a",
                "hour": f"{day}T10:00:00",
                "metric": "gate_in",
                "key": "",
                "count": 30,
            },
        ]


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    c = Central(tmp_path)
    c.server.start()
    yield c
    c.server.stop()


@pytest.fixture
def fleet_central(tmp_path: Path) -> Iterator[Central]:
    c = Central(tmp_path, fleet=Fleet())
    c.server.start()
    yield c
    c.server.stop()


class Sounds:
    def __init__(self) -> None:
        self.played = 0

    def __call__(self) -> None:
        self.played += 1


def console(qtbot: Any, central: Central, token: str = "", **options: Any) -> Console:
    window = Console(Options(server=central.url, token=token, today=lambda: TODAY, **options))
    qtbot.addWidget(window, before_close_func=lambda w: w.close_stream())
    window.resize(1200, 760)
    window.show()
    return window


def settle(qtbot: Any, window: Console) -> None:
    """Wait until central has answered every request the window sent, and it drew them."""
    qtbot.waitUntil(lambda: not window.waiting, timeout=10_000)


def sign_in(qtbot: Any, window: Console) -> bool:
    """Sign in as the button does and wait for central: True once the main page shows."""
    if not window.sign_in():
        return False
    settle(qtbot, window)
    return window.stack.currentWidget() is window.main_page


def signed_in(qtbot: Any, central: Central, role: str = "desk", **options: Any) -> Console:
    window = console(qtbot, central, central.tokens[role], **options)
    assert sign_in(qtbot, window)
    qtbot.waitUntil(lambda: window.live, timeout=5000)
    return window


def alarm_rows(window: Console) -> list[list[str]]:
    table = window.alarm_table
    return [
        [table.item(r, c).text() if table.item(r, c) else "" for c in range(7)]
        for r in range(table.rowCount())
    ]


def ack_button(window: Console, number: int) -> QPushButton | None:
    """The acknowledge button shown in the alarms table for alert ``number``, if any."""
    table = window.alarm_table
    for r in range(table.rowCount()):
        widget = table.cellWidget(r, 7)
        if isinstance(widget, QPushButton) and widget.objectName() == f"ack-{number}":
            return widget
    return None


def test_a_gate_alarm_arrives_live_with_a_sound_and_is_acknowledged(
    qtbot: Any, central: Central
) -> None:
    sounds = Sounds()
    old = central.gate_alarm("30001", "Truyện Kiều", at=NOW - 600)
    window = signed_in(qtbot, central, sound=sounds)
    assert [r[3] for r in alarm_rows(window)] == ["30001"]  # loaded on sign-in, no sound
    assert sounds.played == 0

    view = central.gate_alarm("30077", "Số đỏ", gate="gate-b")
    qtbot.waitUntil(lambda: len(alarm_rows(window)) == 2, timeout=5000)
    first = alarm_rows(window)[0]
    assert first[1:5] == [SITE, "gate-b", "30077", "Số đỏ"]
    assert first[0]  # the time, shown
    assert "30077" in first[5]  # central's own words, Vietnamese by default
    assert sounds.played == 1
    assert "2" in window.alarm_count.text()

    button = ack_button(window, view.id)
    assert button is not None
    with qtbot.waitSignal(window.acked, timeout=10_000) as acked:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # returns before central answers
    assert json.loads(acked.args[0])["ok"] is True
    assert "lan" in alarm_rows(window)[0][6]
    (stored,) = [
        a
        for a in central.store.list_alerts(site=SITE, open_only=False, limit=10)
        if a.id == view.id
    ]
    assert stored.acked_by == "lan"
    assert ack_button(window, view.id) is None
    assert old.id in window.alerts and sounds.played == 1  # an ack makes no sound


def test_an_acknowledgement_by_another_console_reaches_this_one(
    qtbot: Any, central: Central
) -> None:
    view = central.gate_alarm("30088", "Tắt đèn")
    window = signed_in(qtbot, central)
    Client(central.url, central.tokens["desk"]).acknowledge(view.id)
    qtbot.waitUntil(lambda: window.alerts[view.id].get("acked_by") == "lan", timeout=5000)
    assert ack_button(window, view.id) is None


def test_a_viewer_may_not_acknowledge_and_is_told_why(qtbot: Any, central: Central) -> None:
    view = central.gate_alarm("30099", "Chí Phèo")
    window = signed_in(qtbot, central, role="viewer", language="en")
    with qtbot.waitSignal(window.acked, timeout=10_000) as acked:
        window.acknowledge(view.id)
    assert json.loads(acked.args[0])["status"] == 403
    assert window.alarm_message.text().startswith("Could not acknowledge")
    assert central.store.list_alerts(site=SITE, open_only=True, limit=10)[0].acked_by is None


def test_the_stream_comes_back_after_central_restarts_and_catches_up(
    qtbot: Any, tmp_path: Path
) -> None:
    c = Central(tmp_path)
    c.server.start()
    window = signed_in(qtbot, c)
    port = c.server.port
    c.server.stop()
    qtbot.waitUntil(lambda: not window.live, timeout=5000)
    assert "retrying" in window.live_label.text() or "thử lại" in window.live_label.text()
    # central back on the same port, with an alarm raised while the console was away
    c.server = ApiServer(
        ApiSection(enabled=True, port=port),
        c.sessions,
        alerts=c.store,
        book=c.book,
        evaluator=c.evaluator,
    )
    missed = c.gate_alarm("30111", "Số đỏ")
    c.server.start()
    try:
        qtbot.waitUntil(lambda: missed.id in window.alerts, timeout=15000)
        assert window.live
    finally:
        window.close_stream()
        c.server.stop()


def test_without_the_fleet_store_the_fleet_parts_say_not_available(
    qtbot: Any, central: Central
) -> None:
    window = signed_in(qtbot, central, language="en")
    assert window.fleet_message.text() == "Not available: central does not serve this yet"
    assert window.bins_message.text() == window.fleet_message.text()
    assert window.charts_message.text() == ""  # no site known yet: nothing asked
    window.site_edit.setText(SITE)
    window.load_today()
    settle(qtbot, window)
    assert window.charts_message.text().startswith("Not available")
    Client(central.url, central.tokens["desk"]).request(
        "POST", "/v1/commands", {"site": SITE, "device": "kiosk-1", "command": "lock"}
    )
    window.show_device(SITE, "kiosk-1")
    settle(qtbot, window)
    assert window.events_message.text().startswith("Not available")
    assert window.commands_table.rowCount() == 1  # the audit works without the fleet store
    assert window.commands_table.item(0, 1).text() == "lock"
    assert window.commands_table.item(0, 2).text() == "lan"
    window.toggle_language()
    assert window.fleet_message.text().startswith("Chưa có dữ liệu")


def test_the_fleet_per_site_with_health_detail_bins_and_charts(
    qtbot: Any, fleet_central: Central
) -> None:
    window = signed_in(qtbot, fleet_central, language="en")
    tree = window.fleet_tree
    assert [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())] == [
        f"Site {SITE}",
        "Site VN-HN0002",
    ]
    site = tree.topLevelItem(0)
    kiosk = site.child(1)
    assert [kiosk.text(c) for c in (0, 1, 2, 5, 6)] == [
        "kiosk-1",
        "kiosk",
        "Offline",
        "down",
        "offline: 7",
    ]
    assert kiosk.text(3)  # offline since, shown
    assert kiosk.text(4) == "pad: lost"
    assert site.child(0).text(3) == ""  # an online device has no "offline since"
    bins = window.bins_table
    assert [[bins.item(r, c).text() for c in range(4)] for r in range(bins.rowCount())] == [
        ["sorter-1", "1", "12", "ok"],
        ["sorter-1", "2", "40", "full"],
    ]
    window._device_chosen(kiosk)
    settle(qtbot, window)
    assert window.tabs.currentIndex() == 2
    assert window.events_table.rowCount() == 1
    assert window.events_table.item(0, 2).text() == "30077 Số đỏ"
    # charts: today per hour, then a chosen period of three days
    assert window.site_edit.text() == SITE
    series = window.chart_series
    assert series["checkouts"][9] == 5 and series["returns"][9] == 2
    assert series["people_in"][10] == 30
    assert window.charts_message.text() == "Total: 5 checkouts, 2 returns, 30 in"
    window.from_edit.setDate(window.to_edit.date().addDays(-2))
    window.load_period()
    settle(qtbot, window)
    assert window.chart_labels == ["13/01", "14/01", "15/01"]
    assert window.chart_series["checkouts"] == [5, 5, 5]
    window.from_edit.setDate(window.to_edit.date().addDays(1))
    window.load_period()
    assert window.charts_message.text() == "Not a valid period (at most 62 days)"


def test_sign_in_problems_are_said_in_both_languages(qtbot: Any, central: Central) -> None:
    window = console(qtbot, central)
    assert not sign_in(qtbot, window)
    assert window.login_message.text() == "Nhập tên đăng nhập và mật khẩu, hoặc mã truy cập"
    window.login_edit.setText("lan")
    window.password_edit.setText("not " + PASSWORD)
    assert not sign_in(qtbot, window)
    assert window.login_message.text() == "Sai tên đăng nhập, mật khẩu hoặc mã truy cập"
    window.toggle_language()
    assert window.login_message.text() == "Wrong login, password or token"
    window.login_message.clear()
    window.token_edit.setText("mt_not-a-token")
    assert not sign_in(qtbot, window)
    assert window.login_message.text() == "Wrong login, password or token"
    window.server_edit.setText("http://127.0.0.1:1")
    window.token_edit.setText(central.tokens["desk"])
    assert not sign_in(qtbot, window)
    assert window.login_message.text() == "Central cannot be reached"
    assert window.stack.currentWidget() is window.login_page


def test_sign_out_forgets_the_token_and_stops_the_stream(qtbot: Any, central: Central) -> None:
    window = signed_in(qtbot, central)
    window.sign_out()
    assert window.stream is None and window.central.token == ""
    assert window.token_edit.text() == "" and window.stack.currentWidget() is window.login_page


def test_client_errors_carry_the_status(central: Central) -> None:
    client = Client(central.url, central.tokens["desk"])
    with pytest.raises(CentralError) as refused:
        client.devices()
    assert refused.value.unavailable
    with pytest.raises(CentralError) as missing:
        client.acknowledge(999)
    assert missing.value.status == 404
    with pytest.raises(ValueError):
        Client("ftp://x")


def test_an_alarm_someone_else_acknowledged_first_shows_their_name(
    qtbot: Any, central: Central
) -> None:
    view = central.gate_alarm("30123", "Lão Hạc")
    window = signed_in(qtbot, central, language="en")
    window.close_stream()  # so only the refusal can tell this console
    with central.sessions() as session:
        create_staff(session, "minh", "Minh", "desk", PASSWORD, site=SITE, now=NOW)
        other = issue_token(session, "console-2", may_command=True, staff_login="minh", now=NOW)
        session.commit()
    Client(central.url, other).acknowledge(view.id)
    with qtbot.waitSignal(window.acked, timeout=10_000) as acked:
        window.acknowledge(view.id)
    assert json.loads(acked.args[0])["status"] == 409
    settle(qtbot, window)
    assert window.alarm_message.text().startswith("Could not acknowledge")
    assert window.alerts[view.id]["acked_by"] == "minh"  # reloaded after the 409
    assert ack_button(window, view.id) is None


def test_console_without_a_display_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from muontra.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["console"]) == 3
    assert "no display" in capsys.readouterr().err
