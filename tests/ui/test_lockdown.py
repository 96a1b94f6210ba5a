"""The kiosk screen locked down (issue 15): no way out of the patron's window.

cage (systemd/muontra-ui.service, started without -s) owns the console: no VT
switching, no task switcher. What is left to the window itself is tested here
on the real full-screen QML window against an engine on simulators: every
escape combination a keyboard offers is sent to it, and afterwards it is still
up, still full screen, alone, on the same screen, and it sent the engine
nothing. A request to close it is refused. Staff mode stays behind its PIN,
with a lockout after wrong PINs (ui/viewmodels/staff.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtTest import QTest

from tests.ui.conftest import Station
from tests.ui.flows import tap, wait_screen
from ui.viewmodels import staff as staff_module
from ui.viewmodels.staff import LOCKOUT_MAX_S, LOCKOUT_S, MAX_WRONG, StaffGate, Verdict

pytestmark = pytest.mark.slow

K = Qt.Key
M = Qt.KeyboardModifier
CTRL_ALT = M.ControlModifier | M.AltModifier
ESCAPES: list[tuple[str, Qt.Key, Qt.KeyboardModifier]] = [
    ("Alt+F4", K.Key_F4, M.AltModifier),
    ("Ctrl+Alt+Backspace", K.Key_Backspace, CTRL_ALT),
    ("Ctrl+Alt+Delete", K.Key_Delete, CTRL_ALT),
    ("Alt+Tab", K.Key_Tab, M.AltModifier),
    ("Alt+Shift+Tab", K.Key_Backtab, M.AltModifier | M.ShiftModifier),
    *[(f"Ctrl+Alt+F{n}", getattr(K, f"Key_F{n}"), CTRL_ALT) for n in range(1, 13)],
    ("Super", K.Key_Super_L, M.MetaModifier),
    ("Super+D", K.Key_D, M.MetaModifier),
    ("Escape", K.Key_Escape, M.NoModifier),
    ("Ctrl+Q", K.Key_Q, M.ControlModifier),
    ("Ctrl+W", K.Key_W, M.ControlModifier),
    ("F11", K.Key_F11, M.NoModifier),
    ("Alt+F2", K.Key_F2, M.AltModifier),
    ("Ctrl+Alt+T", K.Key_T, CTRL_ALT),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kiosk(qapp: Any, station: Station, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The real window as the kiosk runs it: full screen, not windowed."""
    from ui.app import Options, build

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build(Options(socket=station.socket, windowed=False, size=(800, 1200)))
    yield app
    app.close()


def _record_commands(app: Any) -> list[str]:
    """Every command the screen sends the engine from now on (pings are the link's own)."""
    sent: list[str] = []
    send = app.link.send

    def recording(cmd: str, args: Any, then: Any = None) -> None:
        sent.append(cmd)
        send(cmd, args, then)

    app.link.send = recording
    return sent


def _engine_round_trip(qtbot: Any, app: Any) -> None:
    """Everything the keys set going has reached the engine once this answer is back:
    one link, answered in order. Waited for, never slept."""
    answered = threading.Event()
    type(app.link).send(app.link, "status", {}, lambda _answer: answered.set())  # unrecorded
    qtbot.waitUntil(answered.is_set, timeout=10000)


@pytest.mark.parametrize("screen", ["welcome", "identify", "staff_pin"])
def test_escape_keys_reach_nothing(qtbot: Any, kiosk: Any, screen: str) -> None:
    wait_screen(qtbot, kiosk, "welcome")
    qtbot.waitUntil(lambda: kiosk.bridge.state["can_return"])  # the engine said its role
    if screen == "identify":
        kiosk.bridge.start("checkout")
    elif screen == "staff_pin":
        tap(kiosk, "staffDoor")
    wait_screen(qtbot, kiosk, screen)
    window = kiosk.window
    assert window.visibility() == QWindow.Visibility.FullScreen
    windows_before = set(QGuiApplication.topLevelWindows())
    closed: list[bool] = []
    QGuiApplication.instance().lastWindowClosed.connect(lambda: closed.append(True))
    window.requestActivate()
    sent = _record_commands(kiosk)

    for name, key, modifiers in ESCAPES:
        QTest.keyClick(window, key, modifiers)
        assert window.isVisible(), f"{name} closed the window"
        QGuiApplication.processEvents()
        assert kiosk.vm.visible_screen == screen, f"{name} changed the screen"
    _engine_round_trip(qtbot, kiosk)

    assert window.isVisible()
    assert window.visibility() == QWindow.Visibility.FullScreen
    assert set(QGuiApplication.topLevelWindows()) == windows_before
    assert not closed
    assert kiosk.vm.visible_screen == screen
    assert kiosk.bridge.state["message"] == ""
    assert sent == []


def test_a_request_to_close_the_full_screen_window_is_refused(qtbot: Any, kiosk: Any) -> None:
    wait_screen(qtbot, kiosk, "welcome")
    assert kiosk.window.close() is False
    assert kiosk.window.isVisible()
    assert kiosk.window.visibility() == QWindow.Visibility.FullScreen
    kiosk.window.setProperty("locked", False)  # what KioskApp.close() does at the end
    assert kiosk.window.close() is True


def test_the_windowed_demo_can_still_be_closed(qtbot: Any, ui: Any) -> None:
    wait_screen(qtbot, ui, "welcome")
    assert ui.window.close() is True


def test_the_return_machine_screen_refuses_to_close_too(qapp: Any, tmp_path: Path) -> None:
    from ui.app import Options
    from ui.sorter_app import build_sorter

    app = build_sorter(Options(socket=tmp_path / "none.sock", windowed=False, size=(1024, 600)))
    try:
        assert app.window.visibility() == QWindow.Visibility.FullScreen
        assert app.window.close() is False
        assert app.window.isVisible()
    finally:
        app.close()


def test_staff_mode_locks_after_wrong_pins_on_the_real_window(qtbot: Any, kiosk: Any) -> None:
    clock = Clock()
    kiosk.vm.staff_gate = StaffGate("2468", clock=clock)
    wait_screen(qtbot, kiosk, "welcome")
    tap(kiosk, "staffDoor")
    wait_screen(qtbot, kiosk, "staff_pin")
    for attempt in range(MAX_WRONG):
        for key in "1111":
            tap(kiosk, f"pin-{key}")
        tap(kiosk, "pin-OK")
        if attempt < MAX_WRONG - 1:
            assert kiosk.bridge.state["message"] == "Mã PIN nhân viên không đúng"
    locked = "Nhập sai mã PIN nhân viên quá nhiều lần. Thử lại sau 60 giây"
    assert kiosk.bridge.state["message"] == locked
    # The right PIN is refused while locked, and the screen says for how long.
    clock.now += 30
    for key in "2468":
        kiosk.bridge.pinKey(key)
    kiosk.bridge.staffSubmit()
    assert kiosk.vm.visible_screen == "staff_pin"
    assert kiosk.bridge.state["message"].endswith("Thử lại sau 30 giây")
    # Leaving and coming back does not lift it.
    tap(kiosk, "back")
    wait_screen(qtbot, kiosk, "welcome")
    tap(kiosk, "staffDoor")
    wait_screen(qtbot, kiosk, "staff_pin")
    assert kiosk.bridge.state["message"].endswith("Thử lại sau 30 giây")
    clock.now += 30
    for key in "2468":
        kiosk.bridge.pinKey(key)
    kiosk.bridge.staffSubmit()
    wait_screen(qtbot, kiosk, "staff")


# --- the gate alone --------------------------------------------------------------------------


def _wrong(gate: StaffGate, times: int) -> list[Verdict]:
    return [gate.attempt("0000") for _ in range(times)]


def test_the_lockout_comes_after_max_wrong_in_a_row() -> None:
    gate = StaffGate("2468", clock=Clock())
    assert _wrong(gate, MAX_WRONG) == [Verdict.WRONG] * (MAX_WRONG - 1) + [Verdict.LOCKED]
    assert gate.locked_for() == LOCKOUT_S


def test_a_right_pin_resets_the_count() -> None:
    gate = StaffGate("2468", clock=Clock())
    _wrong(gate, MAX_WRONG - 1)
    assert gate.attempt("2468") is Verdict.OK
    assert _wrong(gate, MAX_WRONG - 1) == [Verdict.WRONG] * (MAX_WRONG - 1)
    assert gate.locked_for() == 0


def test_while_locked_no_pin_is_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    gate = StaffGate("2468", clock=clock)
    _wrong(gate, MAX_WRONG)
    compared: list[bytes] = []
    monkeypatch.setattr(
        staff_module.hmac, "compare_digest", lambda a, b: compared.append(a) or a == b
    )
    assert gate.attempt("2468") is Verdict.LOCKED
    assert not gate.check("2468")
    assert compared == []
    clock.now += LOCKOUT_S
    assert gate.attempt("2468") is Verdict.OK
    assert compared == [b"2468"]


def test_each_lockout_doubles_up_to_the_cap() -> None:
    clock = Clock()
    gate = StaffGate("2468", clock=clock)
    seen = []
    for _ in range(8):
        _wrong(gate, MAX_WRONG)
        seen.append(gate.locked_for())
        clock.now += gate.locked_for()
    assert seen == [min(LOCKOUT_S * 2**n, LOCKOUT_MAX_S) for n in range(8)]
    assert seen[-1] == LOCKOUT_MAX_S
    assert gate.attempt("2468") is Verdict.OK
    _wrong(gate, MAX_WRONG)
    assert gate.locked_for() == LOCKOUT_S  # a right PIN started the series again


def test_a_wall_clock_change_does_not_lift_the_lockout() -> None:
    """The gate's clock is monotonic by default: a step of the calendar leaves it be."""
    gate = StaffGate("2468")
    _wrong(gate, MAX_WRONG)
    assert 0 < gate.locked_for() <= LOCKOUT_S
    assert gate._clock.__name__ == "monotonic"


def test_no_staff_pin_means_no_staff_mode_and_no_lockout() -> None:
    gate = StaffGate(None, clock=Clock())
    assert not gate.available
    assert _wrong(gate, MAX_WRONG * 2) == [Verdict.WRONG] * (MAX_WRONG * 2)
    assert gate.locked_for() == 0


def test_the_lockout_is_logged_without_the_pin(caplog: pytest.LogCaptureFixture) -> None:
    gate = StaffGate("2468", clock=Clock())
    with caplog.at_level(logging.WARNING, logger=staff_module.__name__):
        for _ in range(MAX_WRONG):
            gate.attempt("9753")
    [record] = caplog.records
    assert "locked for 60 s" in record.getMessage()
    assert "9753" not in record.getMessage() and "2468" not in record.getMessage()


def test_the_return_machine_staff_screen_locks_too() -> None:
    from tests.ui.test_sorter_viewmodel import FakeSorterLink
    from ui.viewmodels.sorter import SorterViewModel

    clock = Clock()
    link = FakeSorterLink(staff_report={"ok": True, "result": {"lines": []}})
    vm = SorterViewModel(link, StaffGate("2468", clock=clock))
    vm.connection(True)
    vm.staff_open()
    for _ in range(MAX_WRONG):
        for key in "1357":
            vm.pin_key(key)
        vm.staff_submit()
    assert (
        vm.snapshot()["message"] == "Nhập sai mã PIN nhân viên quá nhiều lần. Thử lại sau 60 giây"
    )
    for key in "2468":
        vm.pin_key(key)
    vm.staff_submit()
    assert vm.visible_screen == "staff_pin"
    assert "staff_report" not in link.names()
    clock.now += LOCKOUT_S
    for key in "2468":
        vm.pin_key(key)
    vm.staff_submit()
    assert vm.visible_screen == "staff"
