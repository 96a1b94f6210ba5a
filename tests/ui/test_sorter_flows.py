"""The sorter's wall screen on the real QML window, against a JSON-lines sorter API on a socket.

The server is tests/ui/sorter_fake.py (engine/jsonlines.py's server with the
contract's commands); each test plays items through it and touches the screen
as a patron or staff would, then checks both what is shown and what went over
the wire.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.flows import find_item, tap, wait_screen
from tests.ui.sorter_fake import FakeSorter, serve

pytestmark = pytest.mark.slow

HOLD_TEXT = {
    "vi": "Hệ thống không nhận trả tài liệu này; thủ thư sẽ kiểm tra.",
    "en": "The library system did not accept this return; staff will check it.",
}


@pytest.fixture
def sorter() -> FakeSorter:
    return FakeSorter()


@pytest.fixture
def server(tmp_path: Path, sorter: FakeSorter) -> Iterator[Any]:
    srv = serve(tmp_path / "sorter.sock", sorter)
    yield srv
    srv.close()


@pytest.fixture
def wall(qapp: Any, server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from ui.sorter_app import build_sorter, wall_options

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build_sorter(wall_options(server.path))
    yield app
    app.close()


def calls(sorter: FakeSorter, name: str) -> list[dict[str, Any]]:
    return [args for cmd, args in list(sorter.calls) if cmd == name]


def test_a_drop_of_three_items_one_refused_then_a_qr_receipt(
    qtbot: Any, wall: Any, sorter: FakeSorter
) -> None:
    wait_screen(qtbot, wall, "drop")
    qtbot.waitUntil(lambda: sorter.drop is not None)  # the screen opened a drop
    drop = sorter.drop["id"]
    assert wall.bridge.state["has_items"] is False
    sorter.drop_item("B0001", "Truyện Kiều", bin="1")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 1)
    latest = wall.bridge.rows[0]
    assert (latest["title"], latest["text"], latest["state"]) == (
        "Truyện Kiều",
        "Đã nhận — cảm ơn",
        "ok",
    )
    assert find_item(wall, "latestText").property("text") == "Đã nhận — cảm ơn"

    sorter.drop_item(
        "B0005",
        "Tắt đèn",
        bin="E",
        reason="ils_refused",
        text=HOLD_TEXT,
        ils_message="Tài liệu bị khoá",
    )
    sorter.drop_item("B0003", "Dế Mèn phiêu lưu ký", bin="2")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 3)
    # Newest first; the refusal keeps the ILS's own words.
    assert [r["key"] for r in wall.bridge.rows] == ["B0003", "B0005", "B0001"]
    refused = wall.bridge.rows[1]
    assert refused["state"] == "failed" and refused["detail"] == "Tài liệu bị khoá"
    assert wall.bridge.state["count"] == "Đã nhận 2 tài liệu"
    assert wall.bridge.state["to_staff"] == "1 tài liệu thủ thư sẽ kiểm tra"

    tap(wall, "lang-en")
    qtbot.waitUntil(lambda: wall.bridge.rows[1]["text"] == HOLD_TEXT["en"])
    qtbot.waitUntil(lambda: calls(sorter, "language") == [{"lang": "en"}])
    assert wall.bridge.state["count"] == "2 items returned"

    tap(wall, "receipt")
    wait_screen(qtbot, wall, "receipt")
    qtbot.waitUntil(lambda: calls(sorter, "drop_end") == [{"drop": drop}])
    assert [i["item_id"] for i in sorter.ended[drop]] == ["B0001", "B0005", "B0003"]
    qtbot.waitUntil(lambda: find_item(wall, "receipt-qr").property("enabledButton"))
    tap(wall, "receipt-qr")
    wait_screen(qtbot, wall, "receipt_qr")
    assert calls(sorter, "receipt") == [{"drop": drop, "how": "qr"}]
    qtbot.waitUntil(lambda: find_item(wall, "qrImage").property("progress") == 1.0)
    tap(wall, "finish")
    wait_screen(qtbot, wall, "drop")
    # A new, empty drop for the next patron.
    qtbot.waitUntil(lambda: sorter.drop is not None and sorter.drop["id"] != drop)
    assert wall.bridge.rows == []


def test_an_e_mail_receipt_is_typed_on_the_wall(qtbot: Any, wall: Any, sorter: FakeSorter) -> None:
    wait_screen(qtbot, wall, "drop")
    qtbot.waitUntil(lambda: sorter.drop is not None)
    drop = sorter.drop["id"]
    sorter.drop_item("B0001", "Truyện Kiều")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 1)
    tap(wall, "receipt")
    wait_screen(qtbot, wall, "receipt")
    tap(wall, "receipt-email")
    wait_screen(qtbot, wall, "receipt_email")
    for key in "an@x.vn":
        tap(wall, f"key-{key}")
    assert wall.bridge.state["email"] == "an@x.vn"
    tap(wall, "email-send")
    wait_screen(qtbot, wall, "thanks")
    assert calls(sorter, "receipt") == [{"drop": drop, "how": "email", "email": "an@x.vn"}]


def test_paper_switched_off_is_not_offered_on_the_wall(
    qtbot: Any, wall: Any, sorter: FakeSorter
) -> None:
    wait_screen(qtbot, wall, "drop")
    qtbot.waitUntil(lambda: sorter.drop is not None)
    sorter.set_state(receipts=["email", "qr"])  # [receipts] print = false at the sorter
    qtbot.waitUntil(lambda: wall.bridge.state["receipts"] == ["email", "qr"])
    sorter.drop_item("B0001", "Truyện Kiều")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 1)
    tap(wall, "receipt")
    wait_screen(qtbot, wall, "receipt")
    assert find_item(wall, "receipt-email").isVisible()
    assert find_item(wall, "receipt-qr").isVisible()
    with pytest.raises(AssertionError, match="no item 'receipt-print' on screen"):
        find_item(wall, "receipt-print")


def test_no_receipt_button_when_every_way_is_off(qtbot: Any, wall: Any, sorter: FakeSorter) -> None:
    wait_screen(qtbot, wall, "drop")
    qtbot.waitUntil(lambda: sorter.drop is not None)
    sorter.set_state(receipts=[])  # [receipts] print, email and qr all false
    qtbot.waitUntil(lambda: wall.bridge.state["receipts"] == [])
    sorter.drop_item("B0001", "Truyện Kiều")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 1)
    qtbot.waitUntil(lambda: find_item(wall, "done").isVisible())
    with pytest.raises(AssertionError, match="no item 'receipt' on screen"):
        find_item(wall, "receipt")
    tap(wall, "done")
    wait_screen(qtbot, wall, "thanks")


def test_a_receipt_that_did_not_print_says_so_and_offers_the_others(
    qtbot: Any, wall: Any, sorter: FakeSorter
) -> None:
    sorter.printer_works = False
    wait_screen(qtbot, wall, "drop")
    qtbot.waitUntil(lambda: sorter.drop is not None)
    sorter.drop_item("B0001", "Truyện Kiều")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 1)
    tap(wall, "receipt")
    wait_screen(qtbot, wall, "receipt")
    qtbot.waitUntil(lambda: find_item(wall, "receipt-print").property("enabledButton"))
    tap(wall, "receipt-print")
    qtbot.waitUntil(lambda: wall.bridge.state["message"].startswith("Không gửi được biên lai"))
    assert wall.vm.visible_screen == "receipt"


def test_intake_closed_and_paused_are_shown_and_lifted(
    qtbot: Any, wall: Any, sorter: FakeSorter
) -> None:
    wait_screen(qtbot, wall, "drop")
    sorter.set_state(state="intake_closed", intake_open=False)
    wait_screen(qtbot, wall, "closed")
    assert find_item(wall, "closedTitle").property("text") == "Tạm ngừng nhận sách"
    sorter.set_state(state="plc_lost", belt="stopped", link="lost")
    wait_screen(qtbot, wall, "paused")
    sorter.set_state(state="running", belt="running", link="ok", intake_open=True)
    wait_screen(qtbot, wall, "drop")


def test_the_screen_survives_the_sorter_going_away(
    qtbot: Any, wall: Any, sorter: FakeSorter, server: Any, tmp_path: Path
) -> None:
    wait_screen(qtbot, wall, "drop")
    qtbot.waitUntil(lambda: sorter.drop is not None)
    sorter.drop_item("B0001", "Truyện Kiều")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 1)
    server.close()
    wait_screen(qtbot, wall, "out_of_service")
    again = serve(server.path, sorter)
    try:
        wait_screen(qtbot, wall, "drop")
        # The sorter kept the drop open: the screen carries on with it, items and all.
        assert [r["key"] for r in wall.bridge.rows] == ["B0001"]
        assert len(calls(sorter, "drop_begin")) == 1
    finally:
        again.close()


def staff_in(qtbot: Any, wall: Any, start: str = "drop") -> None:
    wait_screen(qtbot, wall, start)
    tap(wall, "staffDoor")
    wait_screen(qtbot, wall, "staff_pin")
    for key in "2468":
        tap(wall, f"pin-{key}")
    tap(wall, "pin-OK")
    wait_screen(qtbot, wall, "staff")


def test_staff_empty_a_full_bin_after_confirming(qtbot: Any, wall: Any, sorter: FakeSorter) -> None:
    staff_in(qtbot, wall)
    qtbot.waitUntil(lambda: len(wall.bridge.state["bins"]) == 6)
    transit = next(b for b in wall.bridge.state["bins"] if b["id"] == "4")
    assert transit["full"] and transit["fill"] == "40 / 40" and transit["role"] == "luân chuyển"
    assert find_item(wall, "full-4").isVisible()

    tap(wall, "empty-4")
    qtbot.waitUntil(lambda: wall.bridge.state["confirm"]["shown"])
    assert "“Thùng 4 — Luân chuyển” (40 tài liệu)" in wall.bridge.state["confirm"]["text"]
    tap(wall, "confirm-no")
    qtbot.waitUntil(lambda: not wall.bridge.state["confirm"]["shown"])
    assert calls(sorter, "empty_bin") == []

    tap(wall, "empty-4")
    qtbot.waitUntil(lambda: wall.bridge.state["confirm"]["shown"])
    tap(wall, "confirm-yes")
    qtbot.waitUntil(lambda: calls(sorter, "empty_bin") == [{"bin": "4"}])
    qtbot.waitUntil(
        lambda: (
            wall.bridge.state["message"]
            == "Đã làm trống “Thùng 4 — Luân chuyển”: 40 tài liệu, phiếu đã in"
        )
    )
    qtbot.waitUntil(
        lambda: next(b for b in wall.bridge.state["bins"] if b["id"] == "4")["count"] == 0
    )


def test_staff_see_the_machine_the_exceptions_and_the_report(
    qtbot: Any, wall: Any, sorter: FakeSorter
) -> None:
    sorter.exception_list = [
        {
            "item_id": "B0005",
            "title": "Tắt đèn",
            "reason": "ils_refused",
            "text": {"vi": "Hệ thống từ chối trả", "en": "ILS refused"},
            "bin": "E",
            "at": "2026-12-02T09:41:00",
        }
    ]
    sorter.report_lines = [
        {
            "item_id": "B0009",
            "bin": "2",
            "text": {
                "vi": "Tài liệu B0009 đã vào thùng 2, nhưng đang có người đặt giữ — hãy lấy ra.",
                "en": "Item B0009 went to bin 2, it has a hold — fetch it.",
            },
        }
    ]
    sorter.set_state(link="lost", state="plc_lost", belt="stopped", ils_online=False, queue=3)
    staff_in(qtbot, wall, start="paused")  # the staff door stays on the paused screen
    qtbot.waitUntil(lambda: wall.bridge.state["exceptions_label"] == "Ngoại lệ (1)")
    machine = {row["label"]: (row["value"], row["good"]) for row in wall.bridge.state["machine"]}
    assert machine["Bộ điều khiển (PLC)"] == ("Mất kết nối", False)
    assert machine["Băng chuyền"] == ("Đứng yên", False)
    assert machine["Giao dịch chờ đồng bộ"] == ("3", False)

    tap(wall, "staff-exceptions")
    wait_screen(qtbot, wall, "staff_exceptions")
    (entry,) = wall.bridge.state["exceptions"]
    assert entry["text"] == "Hệ thống từ chối trả"
    assert entry["where"] == "Thùng ngoại lệ · 09:41, 02/12"
    tap(wall, "back")
    wait_screen(qtbot, wall, "staff")
    tap(wall, "staff-report")
    wait_screen(qtbot, wall, "staff_report")
    assert wall.bridge.state["report"][0]["item_id"] == "B0009"
    tap(wall, "back")
    wait_screen(qtbot, wall, "staff")

    # An exception while staff look is added at once, without a refresh.
    sorter.bus.publish(
        "exception",
        item_id="B0011",
        title=None,
        reason="unreadable_tag",
        text={"vi": "Không đọc được nhãn", "en": "Unreadable or blank tag"},
        bin="E",
        at="2026-12-02T09:45:00",
    )
    qtbot.waitUntil(lambda: wall.bridge.state["exceptions_label"] == "Ngoại lệ (2)")


def test_staff_pause_and_resume_the_machine(qtbot: Any, wall: Any, sorter: FakeSorter) -> None:
    staff_in(qtbot, wall)
    tap(wall, "staff-pause")
    qtbot.waitUntil(lambda: sorter.state == "paused")
    qtbot.waitUntil(lambda: wall.bridge.state["paused"])
    tap(wall, "staff-exit")
    wait_screen(qtbot, wall, "paused")  # patrons see the pause
    tap(wall, "staffDoor")
    wait_screen(qtbot, wall, "staff_pin")
    for key in "2468":
        tap(wall, f"pin-{key}")
    tap(wall, "pin-OK")
    wait_screen(qtbot, wall, "staff")
    tap(wall, "staff-pause")  # now "Resume"
    qtbot.waitUntil(lambda: sorter.state == "running")
    tap(wall, "staff-exit")
    wait_screen(qtbot, wall, "drop")


def test_a_wrong_staff_pin_stays_out(qtbot: Any, wall: Any, sorter: FakeSorter) -> None:
    wait_screen(qtbot, wall, "drop")
    tap(wall, "staffDoor")
    wait_screen(qtbot, wall, "staff_pin")
    for key in "1111":
        tap(wall, f"pin-{key}")
    tap(wall, "pin-OK")
    qtbot.waitUntil(lambda: wall.bridge.state["message"] == "Mã PIN nhân viên không đúng")
    assert wall.vm.visible_screen == "staff_pin"
    assert calls(sorter, "exceptions") == []


def test_the_texts_are_sent_again_only_when_the_language_changes(
    qtbot: Any, wall: Any, sorter: FakeSorter
) -> None:
    """QML converts the whole text table at every binding that reads it: items arriving
    must not make the wall read it again; a language change must, and the screen follows."""
    told: Counter[str] = Counter()
    for name in ("stateChanged", "trChanged", "rowsChanged"):
        getattr(wall.bridge, name).connect(lambda name=name: told.update([name]))
    wait_screen(qtbot, wall, "drop")
    qtbot.waitUntil(lambda: sorter.drop is not None)
    sorter.drop_item("B0001", "Truyện Kiều")
    qtbot.waitUntil(lambda: len(wall.bridge.rows) == 1)
    assert told["trChanged"] == 0
    assert told["stateChanged"] > 0 and told["rowsChanged"] > 0
    heading = wall.bridge.tr["sorter_done"]
    wall.bridge.chooseLanguage("en" if wall.vm.language == "vi" else "vi")
    qtbot.waitUntil(lambda: told["trChanged"] == 1)
    assert wall.bridge.tr["sorter_done"] != heading
    qtbot.waitUntil(
        lambda: find_item(wall, "done").property("text") == wall.bridge.tr["sorter_done"]
    )
