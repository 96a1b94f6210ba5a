"""Every sorter screen in both languages, offscreen, into docs/screenshots/sorter-*.png.

As for the kiosk's pictures, the viewmodel is fed canned events and answers
(no sorter), so the pictures are the same on every run; the flows against a
sorter API on a socket are in test_sorter_flows.py. The size is a small wall
panel (1024 × 600).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.flows import find_item, wait_screen
from tests.ui.sorter_fake import default_bins
from tests.ui.test_screenshots import SHOTS, qr_data_url

REFUSED = {
    "vi": "Hệ thống không nhận trả tài liệu này; thủ thư sẽ kiểm tra.",
    "en": "The library system did not accept this return; staff will check it.",
}
ITEMS = [
    {"item_id": "B0001", "title": "Truyện Kiều", "outcome": "sorted", "bin": "1"},
    {"item_id": "B0003", "title": "Dế Mèn phiêu lưu ký", "outcome": "sorted", "bin": "2"},
    {
        "item_id": "B0005",
        "title": "Tắt đèn",
        "outcome": "exception",
        "bin": "E",
        "reason": "ils_refused",
        "text": REFUSED,
        "ils_message": "Tài liệu đang bị khoá — liên hệ quầy thủ thư",
    },
    {
        "item_id": "B0007",
        "title": "Số đỏ",
        "outcome": "exception",
        "bin": "E",
        "reason": "late_ils",
        "text": {"vi": "Đã nhận — cảm ơn.", "en": "Returned — thank you."},
    },
    {
        "item_id": "B0006",
        "title": "Tiếng Anh giao tiếp hằng ngày (phần 1/2)",
        "outcome": "exception",
        "bin": "E",
        "reason": "incomplete_set",
        "text": {
            "vi": "Bộ tài liệu còn thiếu phần; vui lòng trả đủ các phần.",
            "en": "Part of this set is missing; please return every part.",
        },
    },
]
EXCEPTIONS = [
    {
        "item_id": "B0006",
        "title": "Tiếng Anh giao tiếp hằng ngày",
        "reason": "incomplete_set",
        "text": {"vi": "Bộ tài liệu thiếu phần", "en": "Incomplete set"},
        "bin": "E",
        "at": "2026-12-02T09:52:10",
    },
    {
        "item_id": "B0005",
        "title": "Tắt đèn",
        "reason": "ils_refused",
        "text": {"vi": "Hệ thống từ chối trả", "en": "ILS refused"},
        "bin": "E",
        "at": "2026-12-02T09:41:00",
    },
    {
        "item_id": "E0000",
        "title": None,
        "reason": "unreadable_tag",
        "text": {"vi": "Không đọc được nhãn", "en": "Unreadable or blank tag"},
        "bin": "E",
        "at": "2026-12-02T08:15:42",
    },
]
REPORT = [
    {
        "item_id": "B0009",
        "bin": "2",
        "text": {
            "vi": "Tài liệu B0009 đã vào thùng 2, nhưng đang có người đặt giữ — hãy lấy ra.",
            "en": "Item B0009 went to bin 2, it has a hold — fetch it.",
        },
    },
    {
        "item_id": "B0012",
        "bin": "1",
        "text": {
            "vi": "Tài liệu B0012 đã vào thùng 1, nhưng phải chuyển tới Chi nhánh Cầu Giấy "
            "— hãy lấy ra.",
            "en": "Item B0012 went to bin 1, it must go to Cau Giay branch — fetch it.",
        },
    },
]


def status(**values: Any) -> dict[str, Any]:
    base = {
        "state": "running",
        "belt": "running",
        "intake_open": True,
        "link": "ok",
        "ils_online": True,
        "queue": 0,
        "drop": {"id": "d1", "items": 0},
        "bins": default_bins(),
        "language": "vi",
    }
    return {**base, **values}


def stage(vm: Any, screen: str) -> str:
    """Put the viewmodel in the state the screen shows; returns the screen name to wait for."""
    vm.connected = True
    vm.screen, vm.rows, vm.message, vm.email, vm.qr_svg, vm.busy = "drop", [], None, "", "", False
    vm.confirm_bin, vm.pin, vm.exceptions, vm.report = None, "", [], []
    vm.status = status()
    vm.drop_id = "d1"
    if screen in ("drop", "receipt", "receipt_email", "receipt_qr", "thanks", "closed"):
        for item in ITEMS if screen != "closed" else ITEMS[:2]:
            vm.event({"event": "item", **item})
    if screen == "drop_empty":
        pass
    elif screen == "closed":
        vm.status = status(state="intake_closed", intake_open=False)
    elif screen == "paused":
        vm.status = status(state="plc_lost", belt="stopped", link="lost", intake_open=False)
    elif screen == "out_of_service":
        vm.connected = False
    elif screen in ("receipt", "receipt_email", "receipt_qr", "thanks"):
        vm.screen = screen
        vm.email = "huong.nguyen@gmail.com" if screen == "receipt_email" else ""
        vm.qr_svg = qr_data_url() if screen == "receipt_qr" else ""
    elif screen == "staff_pin":
        vm.screen, vm.pin = "staff_pin", "24"
    elif screen in ("staff", "staff_confirm", "staff_exceptions", "staff_report"):
        vm.screen = "staff" if screen == "staff_confirm" else screen
        vm.status = status(
            queue=2,
            ils_online=False,
            drop={"id": "d1", "items": 3},
            text={
                "vi": "Thùng 4 đã đầy: sách cho thùng này vào thùng dự phòng",
                "en": "Bin 4 is full: its items go to the overflow bin",
            },
        )
        vm.exceptions, vm.report = list(EXCEPTIONS), list(REPORT)
        if screen == "staff_confirm":
            vm.confirm_bin = "4"
    vm._changed()
    return {"drop_empty": "drop", "staff_confirm": "staff"}.get(screen, screen)


SCREENS = [
    "drop_empty",
    "drop",
    "closed",
    "paused",
    "out_of_service",
    "receipt",
    "receipt_email",
    "receipt_qr",
    "thanks",
    "staff_pin",
    "staff",
    "staff_confirm",
    "staff_exceptions",
    "staff_report",
]


@pytest.fixture
def still(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from ui.sorter_app import build_sorter, wall_options

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build_sorter(wall_options(tmp_path / "nobody.sock"))
    app.link.stop()  # no sorter here: the viewmodel is fed by hand
    app.vm._send = lambda cmd, args, then=None: None
    yield app
    app.close()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_sorter_screen_renders_and_is_saved(qtbot: Any, still: Any, language: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for screen in SCREENS:
        still.vm.language = language
        wait_screen(qtbot, still, stage(still.vm, screen))
        if screen == "receipt_qr":
            qtbot.waitUntil(lambda: find_item(still, "qrImage").property("progress") == 1.0)
        if screen == "staff_confirm":
            qtbot.waitUntil(lambda: find_item(still, "confirm").isVisible())
        qtbot.waitUntil(still.window.isExposed)
        image = still.window.grabWindow()
        assert not image.isNull() and image.width() == 1024
        assert image.save(str(SHOTS / f"sorter-{screen}-{language}.png"))


@pytest.fixture
def large(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from ui.sorter_app import build_sorter, wall_options

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build_sorter(wall_options(tmp_path / "nobody.sock", large_text=True, high_contrast=True))
    app.link.stop()
    app.vm._send = lambda cmd, args, then=None: None
    yield app
    app.close()


@pytest.mark.parametrize("screen", ["drop", "staff"])
def test_large_text_high_contrast_on_the_wall(qtbot: Any, large: Any, screen: str) -> None:
    """Large text and high contrast on the same small panel: nothing runs off the window."""
    from PySide6.QtCore import QPointF

    large.vm.language = "vi"
    wait_screen(qtbot, large, stage(large.vm, screen))
    qtbot.waitUntil(large.window.isExposed)
    image = large.window.grabWindow()
    assert image.save(str(SHOTS / f"sorter-{screen}-large-vi.png"))
    # The screen's own buttons stay inside the window.
    for name in ("done", "receipt") if screen == "drop" else ("staff-exit", "empty-E"):
        item = find_item(large, name)
        corner = item.mapToScene(QPointF(item.width(), item.height()))
        assert corner.x() <= 1024 and corner.y() <= 600, name
