"""Patron and staff flows on the real QML window against an engine on simulators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import Station, make_station
from tests.ui.flows import find_item, log_in, row, tap, wait_screen

pytestmark = pytest.mark.slow


def test_a_stack_with_a_refused_item_and_a_set_missing_a_part(
    qtbot: Any, ui: Any, station: Station
) -> None:
    log_in(qtbot, ui)
    assert ui.bridge.state["greeting"] == "Xin chào Hương"
    station.call("sim_place", item_id="B0001")
    station.call("sim_place", item_id="B0005")  # on the hold shelf for another patron
    station.call("sim_place", item_id="B0006", set_size=2, set_index=1)
    qtbot.waitUntil(lambda: (row(ui, "B0001") or {}).get("state") == "ok")
    qtbot.waitUntil(lambda: (row(ui, "B0005") or {}).get("state") == "failed")
    qtbot.waitUntil(lambda: (row(ui, "B0006") or {}).get("state") == "attention")
    assert row(ui, "B0001")["title"] == "Truyện Kiều"
    assert row(ui, "B0001")["due"].startswith("Hạn trả: ")
    assert "Thiếu phần" in row(ui, "B0006")["text"]
    assert ui.bridge.state["attention"] == "2 tài liệu cần bạn xử lý"

    station.call("sim_place", item_id="B0006", set_size=2, set_index=2)
    qtbot.waitUntil(lambda: (row(ui, "B0006") or {}).get("state") == "ok")

    ui.bridge.finish()
    wait_screen(qtbot, ui, "receipt")
    qtbot.waitUntil(lambda: ui.bridge.state["summary"] != "")
    assert ui.bridge.state["summary"] == "Đã mượn 2 tài liệu, 1 không mượn được"
    ui.bridge.receipt("qr")
    wait_screen(qtbot, ui, "receipt_qr")
    assert ui.bridge.state["qr"].startswith("data:image/svg+xml;base64,")
    qtbot.waitUntil(lambda: find_item(ui, "qrImage").property("progress") == 1.0)
    tap(ui, "finish")
    wait_screen(qtbot, ui, "welcome")


def test_a_wrong_pin_keeps_the_pin_screen_and_says_so(qtbot: Any, ui: Any) -> None:
    wait_screen(qtbot, ui, "welcome")
    ui.bridge.start("checkout")
    ui.bridge.showKeyboard(True)
    for key in "P0001":
        ui.bridge.typeKey(key)
    ui.bridge.submitId()
    wait_screen(qtbot, ui, "pin")
    for key in "0000":
        tap(ui, f"pin-{key}")
    assert ui.bridge.state["pin_dots"] == "●●●●"
    tap(ui, "pin-OK")
    qtbot.waitUntil(lambda: ui.bridge.state["message"] == "Mã PIN không đúng")
    assert ui.vm.visible_screen == "pin"
    assert ui.bridge.state["pin_dots"] == ""
    for key in "1234":
        ui.bridge.pinKey(key)
    ui.bridge.submitPin()
    wait_screen(qtbot, ui, "checkout")
    assert ui.bridge.state["message"] == ""


def test_a_return_held_for_another_patron_shows_the_alert(
    qtbot: Any, ui: Any, station: Station
) -> None:
    wait_screen(qtbot, ui, "welcome")
    qtbot.waitUntil(lambda: ui.bridge.state["can_return"])  # the engine said its role
    tap(ui, "return")
    wait_screen(qtbot, ui, "return")
    qtbot.waitUntil(lambda: station.call("status")["mode"] == "return")
    station.call("sim_place", item_id="B0009", afi=0xC2)
    qtbot.waitUntil(lambda: (row(ui, "B0009") or {}).get("state") == "alert")
    returned = row(ui, "B0009")
    assert returned["text"] == "Đã trả"
    assert "đặt giữ" in returned["detail"]


def test_renew_all_from_my_account(qtbot: Any, ui: Any) -> None:
    log_in(qtbot, ui)
    ui.bridge.openAccount()
    wait_screen(qtbot, ui, "account")
    qtbot.waitUntil(lambda: ui.bridge.state["account"]["loaded"])
    loans = {loan["item_id"] for loan in ui.bridge.state["account"]["loans"]}
    assert {"B0010", "B0013"} <= loans
    tap(ui, "renewAll")

    def renewed() -> dict[str, Any]:
        return {loan["item_id"]: loan for loan in ui.bridge.state["account"]["loans"]}

    qtbot.waitUntil(lambda: renewed()["B0010"]["text"] == "Đã gia hạn")
    qtbot.waitUntil(lambda: renewed()["B0013"]["text"] == "Không gia hạn được")
    assert renewed()["B0010"]["due"].startswith("Hạn trả: ")
    assert renewed()["B0013"]["ok"] is False


def test_the_language_changes_mid_session(qtbot: Any, ui: Any, station: Station) -> None:
    log_in(qtbot, ui)
    station.call("sim_place", item_id="B0001")
    qtbot.waitUntil(lambda: (row(ui, "B0001") or {}).get("text") == "Đã mượn")
    ui.bridge.chooseLanguage("en")
    qtbot.waitUntil(lambda: row(ui, "B0001")["text"] == "Checked out")
    assert ui.bridge.tr["done"] == "Done"
    assert row(ui, "B0001")["due"].startswith("Due: ")
    qtbot.waitUntil(lambda: station.call("status")["language"] == "en")
    assert ui.vm.visible_screen == "checkout"


def test_the_screen_survives_an_engine_restart(qtbot: Any, ui: Any, station: Station) -> None:
    log_in(qtbot, ui)
    station.stop()
    wait_screen(qtbot, ui, "out_of_service")
    assert not ui.bridge.state["connected"]
    station.start()
    wait_screen(qtbot, ui, "welcome", timeout=15000)
    assert ui.bridge.state["connected"]
    log_in(qtbot, ui)  # and a patron can borrow again, without restarting the UI


def test_staff_mode_takes_the_kiosk_out_of_service_and_back(
    qtbot: Any, ui: Any, station: Station
) -> None:
    wait_screen(qtbot, ui, "welcome")
    tap(ui, "staffDoor")
    wait_screen(qtbot, ui, "staff_pin")
    for key in "1111":
        ui.bridge.pinKey(key)
    ui.bridge.staffSubmit()
    assert ui.bridge.state["message"] == "Mã PIN nhân viên không đúng"
    for key in "2468":
        ui.bridge.pinKey(key)
    ui.bridge.staffSubmit()
    wait_screen(qtbot, ui, "staff")
    qtbot.waitUntil(lambda: len(ui.bridge.state["staff_status"]) > 0)
    tap(ui, "staff-out")
    qtbot.waitUntil(lambda: station.call("status")["out_of_service"])
    tap(ui, "staff-exit")
    wait_screen(qtbot, ui, "out_of_service")
    ui.bridge.staffOpen()
    for key in "2468":
        ui.bridge.pinKey(key)
    ui.bridge.staffSubmit()
    wait_screen(qtbot, ui, "staff")
    ui.bridge.staffAction("in_service")
    qtbot.waitUntil(lambda: not ui.vm.out_of_service)
    ui.bridge.staffExit()
    wait_screen(qtbot, ui, "welcome")


@pytest.fixture
def short_idle(tmp_path: Path, ils: Any) -> Any:
    s = make_station(tmp_path, ils.port, role="both", idle=4, warning=3)
    s.start()
    yield s
    s.stop()


def test_idle_warning_then_timeout(qtbot: Any, qapp: Any, short_idle: Station) -> None:
    from ui.app import Options, build

    app = build(Options(socket=short_idle.socket, size=(800, 1200)))
    try:
        log_in(qtbot, app)
        qtbot.waitUntil(lambda: app.bridge.state["idle_visible"], timeout=10000)
        assert "Bạn còn đó không?" in app.bridge.state["idle_text"]
        tap(app, "stillHere")
        qtbot.waitUntil(lambda: not app.bridge.state["idle_visible"])
        assert app.vm.visible_screen == "checkout"
        qtbot.waitUntil(lambda: app.bridge.state["idle_visible"], timeout=10000)
        wait_screen(qtbot, app, "goodbye", timeout=10000)
        assert app.bridge.state["goodbye_reason"] == "Phiên đã kết thúc vì không có thao tác"
    finally:
        app.close()
