"""Every console screen in both languages, into docs/screenshots/console-<screen>-<lang>.png.

Against a real central API (the stand-in fleet of test_console.py behind it), with a
fixed "today", so the pictures are the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.ui.test_console import NOW, PASSWORD, SITE, TODAY, Central, Fleet, settle, sign_in
from ui.console.client import Central as Client
from ui.console.window import Console, Options

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TABS = ("alarms", "fleet", "device", "bins", "charts")


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    c = Central(tmp_path, fleet=Fleet())
    c.gate_alarm("30001", "Truyện Kiều", at=NOW - 3600)
    c.gate_alarm("30077", "Số đỏ", gate="gate-b", at=NOW - 120)
    c.store.apply(
        c.evaluator.on_event(
            SITE, "gate-a", "alarm", {"item_id": "30042", "title": "Tắt đèn"}, NOW - 1800
        )
    )
    c.server.start()
    yield c
    c.server.stop()


def save(window: Console, name: str) -> Path:
    QApplication.processEvents()  # pending layouts first: a grab paints what is laid out
    path = SHOTS / f"console-{name}.png"
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(path))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (window.width(), window.height())
    # not a blank picture: many distinct colours
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 8
    return path


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_console_screen(qtbot: Any, central: Central, language: str) -> None:
    window = Console(
        Options(server=central.url, login="lan", language=language, today=lambda: TODAY)
    )
    qtbot.addWidget(window, before_close_func=lambda w: w.close_stream())
    window.resize(1200, 760)
    window.show()
    window.server_edit.setText("http://central.thuvien.local:8470")  # not the random port
    save(window, f"login-{language}")
    window.server_edit.setText(central.url)
    window.password_edit.setText(PASSWORD)  # login "lan": the desk's staff member
    assert sign_in(qtbot, window)
    qtbot.waitUntil(lambda: window.live, timeout=5000)
    first = min(window.alerts)
    with qtbot.waitSignal(window.acked, timeout=10_000):
        window.acknowledge(first)
    for index, tab in enumerate(TABS):
        if tab == "device":
            Client(central.url, central.tokens["desk"]).request(
                "POST", "/v1/commands", {"site": SITE, "device": "kiosk-1", "command": "lock"}
            )
            window.show_device(SITE, "kiosk-1")
            settle(qtbot, window)
        window.tabs.setCurrentIndex(index)
        qtbot.wait(50)  # let the plots lay out before the grab (a picture, not a check)
        save(window, f"{tab}-{language}")
    window.from_edit.setDate(window.to_edit.date().addDays(-6))
    window.load_period()
    settle(qtbot, window)
    save(window, f"charts-period-{language}")
