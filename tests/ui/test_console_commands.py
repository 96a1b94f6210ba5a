"""The console signs in with a password and sends commands through central's real API.

Requests run on a worker pool: a central that holds a command (its ``send`` waits on an
event the test releases) must leave the console's event loop running meanwhile.
The device's answer is recorded the way central's MQTT link does, by ``CommandBook.accept``
with a real result payload on the device's own results topic.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from sqlalchemy import select

from central.accounts import Staff, create_staff
from central.api import ApiServer
from central.commands import CommandView
from central.settings_ops import ApiSection
from central.staff_models import StaffAccount
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Envelope, Result
from tests.ui.test_console import NOW, PASSWORD, SITE, TODAY, Central, settle, sign_in
from ui.console.command_panel import allowed
from ui.console.window import Console, Options


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    c = Central(tmp_path)
    with c.sessions() as session:
        create_staff(session, "boss", "Sếp", "admin", PASSWORD, site=SITE, now=NOW)
        session.commit()
    c.server.start()
    yield c
    c.server.stop()


def by_password(qtbot: Any, central: Central, login: str, language: str = "en") -> Console:
    window = Console(Options(server=central.url, language=language, today=lambda: TODAY))
    qtbot.addWidget(window, before_close_func=lambda w: w.close())
    window.show()
    window.login_edit.setText(login)
    window.password_edit.setText(PASSWORD)
    assert sign_in(qtbot, window)
    assert window.password_edit.text() == ""  # not kept in the form
    qtbot.waitUntil(lambda: window.live, timeout=5000)
    window.command_panel.poll_s = 0.05
    return window


def choose(window: Console, command: str) -> None:
    choice = window.command_panel.choice
    choice.setCurrentIndex(choice.findData(command))
    assert choice.currentData() == command


def device_answers(central: Central, row: dict[str, Any], ok: bool, detail: str) -> None:
    """What central's MQTT link records when the device publishes its result."""
    envelope = Envelope(payloads.new_id(), payloads.iso_time(NOW + 2), row["device"], SITE)
    payload = payloads.encode(Result(envelope, row["command_id"], row["command"], ok, detail))
    topic = f"muontra/v1/{SITE}/{row['device']}/results/{row['command_id']}"
    assert central.book.accept(topic, payload, NOW + 2) is not None


def test_a_slow_central_does_not_block_the_console_and_the_result_comes_back(
    qtbot: Any, central: Central
) -> None:
    window = by_password(qtbot, central, "lan")
    panel = window.command_panel
    assert [panel.choice.itemData(i) for i in range(panel.choice.count())] == list(allowed("desk"))
    window.show_device(SITE, "kiosk-1")
    settle(qtbot, window)
    assert panel.status.text() == ""  # nothing to say yet (the viewer's note is not shown)

    held, release = threading.Event(), threading.Event()
    plain_send = central.send

    def slow_send(
        staff: Staff, site: str, device: str, name: str, args: Mapping[str, Any]
    ) -> CommandView:
        held.set()
        assert release.wait(20), "the test never released central"
        return plain_send(staff, site, device, name, args)

    central.server.send = slow_send
    choose(window, "lock")
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    # The click has returned while central still holds the request: it is not on this thread.
    assert held.wait(10) and not release.is_set()
    assert panel.busy and not panel.send_button.isEnabled()
    assert panel.status.text() == "Sending Lock to kiosk-1…"
    timer = QTimer()
    timer.setSingleShot(True)
    with qtbot.waitSignal(timer.timeout, timeout=2000):
        timer.start(0)  # the event loop turns while the command waits
    assert not release.is_set()

    with qtbot.waitSignal(panel.sent, timeout=10_000) as sent:
        release.set()
    row = json.loads(sent.args[0])
    assert row["actor"] == "lan" and row["command"] == "lock" and row["outcome"] is None
    assert panel.status.text().endswith("kiosk-1 — waiting for the device")

    with qtbot.waitSignal(panel.answered, timeout=10_000) as answered:
        device_answers(central, row, True, "locked")
    done = json.loads(answered.args[0])
    assert done["id"] == row["id"] and done["outcome"] == "ok"
    assert panel.status.text().startswith(f"Audit #{row['id']} ")
    assert panel.status.text().endswith("lan: Lock kiosk-1 — done (locked)")
    assert not panel.busy and panel.send_button.isEnabled()
    # The device's command history (central's audit log) shows it too.
    qtbot.waitUntil(lambda: window.commands_table.rowCount() == 1, timeout=5000)
    item = window.commands_table.item(0, 3)
    assert item is not None and item.text() == "ok"


def test_a_message_needs_its_text_and_a_failure_is_shown(qtbot: Any, central: Central) -> None:
    window = by_password(qtbot, central, "lan", language="vi")
    panel = window.command_panel
    window.show_device(SITE, "kiosk-1")
    settle(qtbot, window)
    choose(window, "message")
    assert panel.message_edit.isVisibleTo(window) and not panel.bin_edit.isVisibleTo(window)
    assert not panel.send()
    assert panel.status.text() == "Hãy nhập nội dung thông báo"
    panel.message_edit.setText("Thư viện đóng cửa lúc 17 giờ")
    with qtbot.waitSignal(panel.sent, timeout=10_000) as sent:
        assert panel.send()
    row = json.loads(sent.args[0])
    assert row["args"] == {"text": "Thư viện đóng cửa lúc 17 giờ"}
    with qtbot.waitSignal(panel.answered, timeout=10_000) as answered:
        device_answers(central, row, False, "màn hình tắt")
    assert json.loads(answered.args[0])["outcome"] == "failed"
    assert panel.status.text().endswith("— thiết bị báo lỗi (màn hình tắt)")


def test_a_viewer_is_offered_no_command(qtbot: Any, central: Central) -> None:
    window = by_password(qtbot, central, "xem")
    panel = window.command_panel
    window.show_device(SITE, "kiosk-1")
    settle(qtbot, window)
    assert panel.choice.count() == 0 and not panel.send_button.isEnabled()
    assert panel.status.text() == "Your role may look but not send commands"
    assert not panel.send()


def test_a_demoted_member_is_refused_by_central_and_told_why(qtbot: Any, central: Central) -> None:
    window = by_password(qtbot, central, "boss")
    panel = window.command_panel
    assert panel.choice.findData("reload") >= 0  # an admin may reload
    window.show_device(SITE, "kiosk-1")
    settle(qtbot, window)
    with central.sessions() as session:
        account = session.scalar(select(StaffAccount).where(StaffAccount.login == "boss"))
        assert account is not None
        account.role = "desk"
        session.commit()
    choose(window, "reload")
    with qtbot.waitSignal(panel.sent, timeout=10_000) as sent:
        assert panel.send()
    assert json.loads(sent.args[0])["status"] == 403
    assert panel.status.text().startswith("Command not sent: ")
    assert "may not" in panel.status.text()
    # Nothing went out; the refusal itself is in the audit log.
    [refused] = central.book.list_audit()
    assert (refused.actor, refused.outcome, refused.command_id) == ("boss", "refused", None)


def test_a_token_sign_in_learns_its_role(qtbot: Any, central: Central) -> None:
    window = Console(
        Options(server=central.url, token=central.tokens["viewer"], today=lambda: TODAY)
    )
    qtbot.addWidget(window, before_close_func=lambda w: w.close())
    assert sign_in(qtbot, window)
    assert window.central.role == "viewer" and window.command_panel.choice.count() == 0


def test_a_locked_account_is_told_so(qtbot: Any, central: Central) -> None:
    window = Console(Options(server=central.url, language="en", today=lambda: TODAY))
    qtbot.addWidget(window, before_close_func=lambda w: w.close())
    window.login_edit.setText("lan")
    for _ in range(central.server.section.login_failures):
        window.password_edit.setText("wrong " + PASSWORD)
        assert not sign_in(qtbot, window)
        assert window.login_message.text() == "Wrong login, password or token"
    window.password_edit.setText(PASSWORD)
    assert not sign_in(qtbot, window)
    assert window.login_message.text().startswith("Too many wrong passwords")


def test_a_session_central_no_longer_knows_returns_to_sign_in(qtbot: Any, tmp_path: Path) -> None:
    """Sessions live in central's memory: after a restart the console is told to sign in."""
    c = Central(tmp_path)
    c.server.start()
    window = by_password(qtbot, c, "lan")
    port = c.server.port
    c.server.stop()
    qtbot.waitUntil(lambda: not window.live, timeout=5000)
    assert window.stack.currentWidget() is window.main_page  # a lost link alone: it retries
    c.server = ApiServer(
        ApiSection(enabled=True, port=port), c.sessions, alerts=c.store, book=c.book
    )
    c.server.start()
    try:
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.login_page, timeout=15000)
        assert window.login_message.text().startswith("Your session has ended")
        assert window.stream is None
    finally:
        c.server.stop()


def test_an_acknowledgement_to_a_slow_central_leaves_the_console_live(
    qtbot: Any, central: Central
) -> None:
    first = central.gate_alarm("30201", "Vợ nhặt")
    window = by_password(qtbot, central, "lan")
    held, release = threading.Event(), threading.Event()
    plain = central.store.acknowledge

    def slow(*args: Any, **kwargs: Any) -> Any:
        held.set()
        assert release.wait(20), "the test never released central"
        return plain(*args, **kwargs)

    central.store.acknowledge = slow  # type: ignore[method-assign]
    window.acknowledge(first.id)
    assert held.wait(10) and not release.is_set()  # central holds it; this thread is free
    # Meanwhile a new alarm arrives live and is shown: the event loop is turning.
    second = central.gate_alarm("30202", "Chí Phèo", gate="gate-b")
    qtbot.waitUntil(lambda: second.id in window.alerts, timeout=10_000)
    assert not release.is_set()
    with qtbot.waitSignal(window.acked, timeout=10_000) as acked:
        release.set()
    assert json.loads(acked.args[0])["value"]["acked_by"] == "lan"
    assert window.alerts[first.id]["acked_by"] == "lan"
