"""The viewmodels without Qt: a fake ``send`` stands in for the engine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ui.i18n import CATALOG, LANGUAGES, tr
from ui.viewmodels.items import format_due, row_from_event
from ui.viewmodels.kiosk import KioskViewModel
from ui.viewmodels.staff import StaffGate
from ui.viewmodels.theme import theme_for, touch_pixels

QML = Path(__file__).resolve().parents[2] / "ui" / "qml"


class FakeEngine:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, dict[str, Any]] = {}

    def __call__(self, cmd: str, args: dict[str, Any], then: Any = None) -> None:
        self.sent.append((cmd, args))
        if then is not None and cmd in self.answers:
            then(self.answers[cmd])


def connected(fake: FakeEngine, **staff: Any) -> KioskViewModel:
    fake.answers["status"] = {"ok": True, "result": {"role": "both", "language": "vi"}}
    vm = KioskViewModel(fake, StaffGate(staff.get("pin")))
    vm.connection(True)
    return vm


def test_every_text_has_both_languages() -> None:
    for key, entry in CATALOG.items():
        for language in LANGUAGES:
            assert entry.get(language, "").strip(), f"{key} lacks {language}"


def test_every_text_qml_asks_for_exists() -> None:
    used = set()
    for path in QML.glob("*.qml"):
        used |= set(re.findall(r"kiosk\.tr\.(\w+)", path.read_text()))
        used |= set(re.findall(r"kiosk\.tr\[\"(\w+)\"\]", path.read_text()))
    assert used, "QML binds to no text?"
    assert used <= set(CATALOG), used - set(CATALOG)


def test_a_missing_key_shows_itself() -> None:
    assert tr("no_such_key", "en") == "no_such_key"
    assert tr("hello", "en", name="Hương") == "Hello Hương"


def test_due_dates_as_patrons_read_them() -> None:
    assert format_due("20261217    235959", "vi") == "17/12/2026"
    assert format_due("20261217    235959", "en") == "17 Dec 2026"
    assert format_due("", "en") == ""
    assert format_due("soon", "en") == "soon"


def test_a_row_keeps_its_title_and_changes_state() -> None:
    first = row_from_event({"item_id": "B1", "outcome": "missing_part", "title": "Bộ"}, None)
    assert first.state == "attention"
    done = row_from_event({"item_id": "B1", "outcome": "checked_out"}, first)
    assert done.title == "Bộ" and done.state == "ok"
    refused = row_from_event({"item_id": "B2", "outcome": "ils_refused", "ils_message": "x"}, None)
    assert refused.render("en")["detail"] == "x" and refused.state == "failed"


def test_touch_targets_are_fifteen_millimetres() -> None:
    assert touch_pixels(150) == 90  # 88.6 px, raised to 90
    assert touch_pixels(300) == 177
    assert touch_pixels(96) == 90
    small = theme_for(800, 600, 96, large_text=False, high_contrast=False)
    large = theme_for(800, 600, 96, large_text=True, high_contrast=True)
    assert large.font > small.font and large.touch >= small.touch >= 90
    assert large.colors["background"] == "#000000"


def test_identify_then_pin_then_wrong_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeEngine()
    vm = connected(fake)
    assert vm.visible_screen == "welcome" and vm.snapshot()["can_return"]
    vm.start("checkout")
    for key in "p0001":
        vm.type_key(key)
    fake.answers["identify"] = {"ok": True, "result": {"need_pin": True}}
    vm.submit_id()
    assert fake.sent[-1] == ("identify", {"method": "typed", "value": "P0001"})
    assert vm.visible_screen == "pin"
    fake.answers["pin"] = {
        "ok": False,
        "error": {"code": "wrong_pin", "vi": "Mã PIN không đúng", "en": "Wrong PIN"},
    }
    for key in "0000":
        vm.pin_key(key)
    vm.submit_pin()
    assert vm.visible_screen == "pin" and vm.pin == ""
    assert vm.snapshot()["message"] == "Mã PIN không đúng"
    vm.choose_language("en")
    assert vm.snapshot()["message"] == "Wrong PIN"
    fake.answers["pin"]["error"]["code"] = "pin_locked"
    vm.pin_key("1")
    vm.submit_pin()
    assert vm.visible_screen == "welcome"


def test_session_items_idle_and_the_end() -> None:
    fake = FakeEngine()
    vm = connected(fake)
    vm.event({"event": "pin_needed"})
    assert vm.visible_screen == "pin"
    vm.event({"event": "session_started", "name": "Hương"})
    assert vm.visible_screen == "checkout"
    vm.event({"event": "item", "kind": "checkout", "item_id": "B1", "outcome": "processing"})
    vm.event(
        {
            "event": "item",
            "kind": "checkout",
            "item_id": "B1",
            "outcome": "checked_out",
            "title": "Truyện Kiều",
            "message": {"vi": "Đã mượn", "en": "Checked out"},
        }
    )
    assert [r["state"] for r in vm.rendered_rows()] == ["ok"]
    vm.event({"event": "idle_warning", "seconds": 15})
    assert vm.snapshot()["idle_visible"]
    vm.still_here()
    assert fake.sent[-1][0] == "extend" and not vm.idle_visible
    vm.event({"event": "session_ended", "reason": "timeout"})
    assert vm.visible_screen == "goodbye"
    assert vm.snapshot()["goodbye_reason"] == "Phiên đã kết thúc vì không có thao tác"


def test_the_summary_says_what_is_still_being_checked() -> None:
    vm = connected(FakeEngine())
    vm.summary = {"checked_out": 1, "failed": 0, "being_checked": 2}
    assert vm.snapshot()["summary"] == (
        "Đã mượn 1 tài liệu, 0 không mượn được; 2 tài liệu đang được kiểm tra với thư viện"
    )
    vm.summary = {"checked_out": 3, "failed": 1, "being_checked": 0}
    assert vm.snapshot()["summary"] == "Đã mượn 3 tài liệu, 1 không mượn được"


def test_the_receipt_screen_offers_only_the_ways_the_engine_offers() -> None:
    vm = connected(FakeEngine())
    vm.summary = {"checked_out": 1, "print_available": False, "qr_available": True}
    state = vm.snapshot()
    assert (state["print_available"], state["qr_available"], state["email_available"]) == (
        False,
        True,
        False,
    )
    # An engine that does not say (older than the switches) offers paper and QR as before.
    vm.summary = {"checked_out": 1}
    assert (vm.snapshot()["print_available"], vm.snapshot()["qr_available"]) == (True, True)


def test_the_engine_away_means_out_of_service() -> None:
    fake = FakeEngine()
    vm = connected(fake)
    vm.connection(False)
    assert vm.visible_screen == "out_of_service"
    fake.answers["status"] = {"ok": True, "result": {"role": "both", "out_of_service": True}}
    vm.connection(True)
    assert vm.visible_screen == "out_of_service"
    vm.event({"event": "staff", "action": "in_service"})
    assert vm.visible_screen == "welcome"


def test_staff_pin_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MUONTRA_STAFF_PIN", raising=False)
    monkeypatch.delenv("MUONTRA_STAFF_PIN_FILE", raising=False)
    assert not StaffGate.from_environment().available
    pin_file = tmp_path / "pin"
    pin_file.write_text("9753\n")
    assert StaffGate.from_environment(pin_file).check("9753")
    monkeypatch.setenv("MUONTRA_STAFF_PIN", "1357")
    gate = StaffGate.from_environment()
    assert gate.check("1357") and not gate.check("1358")
    vm = connected(FakeEngine())
    vm.staff_open()
    assert vm.snapshot()["message"].startswith("Chưa đặt mã PIN")


def test_no_display_explains_and_fails() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    result = subprocess.run(
        [sys.executable, "-m", "muontra", "ui"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "xvfb-run" in result.stderr and "Traceback" not in result.stderr
