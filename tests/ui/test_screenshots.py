"""Every screen in both languages, rendered offscreen into docs/screenshots/<screen>-<lang>.png.

The viewmodel is fed canned events and answers (no engine), so the pictures are
the same on every run; the flows against a real engine live in test_flows.py.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import segno

from tests.ui.flows import wait_screen

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

ITEMS = [
    {
        "item_id": "B0001",
        "kind": "checkout",
        "outcome": "checked_out",
        "title": "Truyện Kiều",
        "due_date": "20261217    235959",
        "message": {"vi": "Đã mượn", "en": "Checked out"},
    },
    {
        "item_id": "B0003",
        "kind": "checkout",
        "outcome": "checked_out",
        "title": "Dế Mèn phiêu lưu ký",
        "due_date": "20261217    235959",
        "message": {"vi": "Đã mượn", "en": "Checked out"},
    },
    {
        "item_id": "B0005",
        "kind": "checkout",
        "outcome": "ils_refused",
        "title": "Tắt đèn",
        "ils_message": "Tài liệu đang được giữ cho bạn đọc khác",
        "message": {
            "vi": "Thư viện không cho mượn tài liệu này",
            "en": "The library refused this item",
        },
    },
    {
        "item_id": "B0006",
        "kind": "checkout",
        "outcome": "missing_part",
        "title": "Tiếng Anh giao tiếp hằng ngày",
        "message": {
            "vi": "Thiếu phần 2 của bộ 2 phần — hãy đặt đủ các phần",
            "en": "Part 2 of this 2-part set is missing — place every part",
        },
    },
    {"item_id": "B0002", "kind": "checkout", "outcome": "processing"},
]
RETURN = {
    "item_id": "B0009",
    "kind": "checkin",
    "outcome": "returned",
    "title": "Chí Phèo",
    "message": {"vi": "Đã trả", "en": "Returned"},
    "alert": {
        "vi": "Có bạn đọc khác đang đặt giữ tài liệu này — để ở quầy",
        "en": "Another patron is waiting for this item — leave it at the desk",
    },
}


def qr_data_url() -> str:
    import base64

    out = io.BytesIO()
    segno.make("muontra receipt: 2 items", error="m").save(out, kind="svg", scale=8)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def stage(vm: Any, screen: str) -> str:
    """Put the viewmodel in the state the screen shows; returns the screen name to wait for."""
    vm._reset("welcome")
    vm.connected, vm.out_of_service, vm.role = True, False, "both"
    if screen in ("checkout", "idle", "account", "receipt", "receipt_qr"):
        vm.name = "Hương"
        for event in ITEMS:
            vm.event({"event": "item", **event})
    if screen == "identify":
        vm.screen, vm.typing, vm.typed_id = "identify", True, "P00"
    elif screen == "pin":
        vm.screen, vm.pin = "pin", "12"
    elif screen in ("checkout", "idle"):
        vm.screen = "checkout"
        if screen == "idle":
            vm.event({"event": "idle_warning", "seconds": 15})
    elif screen == "return":
        vm.screen = "return"
        vm.event({"event": "item", **RETURN})
    elif screen == "account":
        vm.screen = "account"
        vm.account = {
            "loans": ["B0010", "B0013"],
            "holds_ready": ["B0009"],
            "fines": "",
            "screen_messages": [],
        }
        vm.event(
            {
                "event": "renewed",
                "item_id": "B0010",
                "outcome": "renewed",
                "title": "Vợ nhặt",
                "due_date": "20261224    235959",
                "message": {"vi": "Đã gia hạn", "en": "Renewed"},
            }
        )
        vm.event(
            {
                "event": "renewed",
                "item_id": "B0013",
                "outcome": "renew_refused",
                "title": "The Great Gatsby",
                "message": {"vi": "Không gia hạn được", "en": "Could not renew"},
            }
        )
    elif screen in ("receipt", "receipt_qr"):
        vm.screen = screen
        vm.summary = {"checked_out": 2, "failed": 2, "email_available": True}
        vm.qr_svg = qr_data_url() if screen == "receipt_qr" else ""
    elif screen == "goodbye":
        vm.screen, vm.goodbye_reason = "goodbye", "timeout"
    elif screen == "out_of_service":
        vm.connected = False
    elif screen == "staff_pin":
        vm.screen = "staff_pin"
    elif screen == "staff":
        vm.screen = "staff"
        vm.status = {
            "mode": "session",
            "reader": "ready",
            "ils_online": True,
            "pending": 0,
            "offline_queue": 1,
            "attention": [],
            "out_of_service": False,
        }
    vm._changed()
    return "checkout" if screen == "idle" else screen


SCREENS = [
    "welcome",
    "identify",
    "pin",
    "checkout",
    "idle",
    "return",
    "account",
    "receipt",
    "receipt_qr",
    "goodbye",
    "out_of_service",
    "staff_pin",
    "staff",
]


@pytest.fixture
def still(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from ui.app import Options, build

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build(Options(socket=tmp_path / "nobody.sock", size=(900, 1400)))
    app.link.stop()  # no engine here: the viewmodel is fed by hand
    app.vm._send = lambda cmd, args, then=None: None
    yield app
    app.close()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_screen_renders_and_is_saved(qtbot: Any, still: Any, language: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for screen in SCREENS:
        still.vm.language = language
        wait_screen(qtbot, still, stage(still.vm, screen))
        if screen == "receipt_qr":
            from tests.ui.flows import find_item

            qtbot.waitUntil(lambda: find_item(still, "qrImage").property("progress") == 1.0)
        qtbot.waitUntil(still.window.isExposed)
        image = still.window.grabWindow()
        assert not image.isNull() and image.width() == 900
        assert image.save(str(SHOTS / f"{screen}-{language}.png"))


@pytest.fixture
def landscape(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from ui.app import Options, build

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build(
        Options(
            socket=tmp_path / "nobody.sock",
            size=(1400, 800),
            large_text=True,
            high_contrast=True,
        )
    )
    app.link.stop()
    app.vm._send = lambda cmd, args, then=None: None
    yield app
    app.close()


@pytest.mark.parametrize("screen", ["welcome", "checkout"])
def test_landscape_large_text_high_contrast(qtbot: Any, landscape: Any, screen: str) -> None:
    """A 10-inch landscape screen with large text: content scrolls, the staff door stays clear."""
    landscape.vm.language = "vi"
    wait_screen(qtbot, landscape, stage(landscape.vm, screen))
    qtbot.waitUntil(landscape.window.isExposed)
    image = landscape.window.grabWindow()
    assert not image.isNull() and image.width() == 1400
    assert image.save(str(SHOTS / f"{screen}-landscape-large-vi.png"))
    if screen == "welcome":
        # The pictures sit beside the buttons, in sight without scrolling, clear of the door.
        from PySide6.QtCore import QPointF

        from tests.ui.flows import find_item

        how_to, door = find_item(landscape, "howTo"), find_item(landscape, "staffDoor")
        top_left = how_to.mapToScene(QPointF(0, 0))
        bottom = how_to.mapToScene(QPointF(0, how_to.height())).y()
        assert top_left.x() > 1400 / 2 and top_left.y() < 100
        assert bottom <= door.mapToScene(QPointF(0, 0)).y()


@pytest.fixture
def with_panel(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from ui.app import Options, build

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build(Options(socket=tmp_path / "nobody.sock", size=(900, 1400), sim_panel=True))
    app.link.stop()
    app.vm._send = lambda cmd, args, then=None: None
    yield app
    app.close()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_simulator_panel_renders_and_is_saved(
    qtbot: Any, with_panel: Any, language: str
) -> None:
    """The demo's second window (--sim-panel), beside the screens it drives."""
    from ui.i18n import tr

    SHOTS.mkdir(parents=True, exist_ok=True)
    with_panel.vm.language = language
    wait_screen(qtbot, with_panel, stage(with_panel.vm, "welcome"))
    panel = with_panel.sim_window
    assert panel is not None and panel.isVisible()
    qtbot.waitUntil(lambda: panel.title() == tr("sim_panel", language))
    qtbot.waitUntil(panel.isExposed)
    # The panel's last line shows the engine's answer to a press, as after placing an item.
    from ui.bridge import SimBridge

    sim = with_panel.engine.rootContext().contextProperty("sim")
    assert isinstance(sim, SimBridge)
    sim.answered.emit("ok")
    image = panel.grabWindow()
    assert not image.isNull() and image.width() == 520
    assert image.save(str(SHOTS / f"sim_panel-{language}.png"))
