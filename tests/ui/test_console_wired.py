"""The console against a real `muontra central` (child process) fed by a real mosquitto.

No stand-in for central's store: the fleet rows the console shows come from births the
engine's real MqttLink published (gate-a, kiosk-01) and central stored; a gate alarm
goes gate → broker → central → live stream → the console's alarm table; a lock sent
from the console's command row reaches the kiosk's real link and its result comes back
into the console with the audit entry. SQLite here; the store's PostgreSQL runs are
tests/central/test_central_wired.py's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QTreeWidgetItem

from engine.mqtt.link import MqttLink
from engine.mqtt.outbox import Outbox
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope, Event
from tests.central import test_central_wired as wired
from tests.central.test_central_wired import STAFF_PASSWORD, Central
from tests.integration.test_mqtt_link import SITE
from tests.ui.test_console import settle, sign_in
from ui.console.window import Console, Options

# central's own end-to-end fixtures: the broker with the shipped ACL, `muontra central` as a
# child, and the gate's and kiosk's real links.
broker, central, gate, kiosk = wired.broker, wired.central, wired.gate, wired.kiosk


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'central.db'}"


def fleet_rows(window: Console) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    tree = window.fleet_tree
    for top in range(tree.topLevelItemCount()):
        site: QTreeWidgetItem = tree.topLevelItem(top)
        for index in range(site.childCount()):
            child = site.child(index)
            rows[child.text(0)] = [site.text(0)] + [
                child.text(c) for c in range(1, tree.columnCount())
            ]
    return rows


def reloaded(window: Console, shown: Callable[[], bool]) -> bool:
    """For waitUntil: True once ``shown``; else asks central for the fleet again if idle."""
    if "fleet" in window.waiting:
        return False
    if shown():
        return True
    window.load_fleet()
    return False


def test_the_console_on_a_real_central(
    qtbot: Any,
    central: Central,
    gate: tuple[MqttLink, Outbox],
    kiosk: list[Command],
) -> None:
    done = central.cli("add-staff", "lan.nguyen", "--name", "Nguyễn Thị Lan", "--role", "desk")
    assert done.returncode == 0, done.stderr
    central.start()
    central.until("central's API", lambda: central.request("GET", "/v1/alerts", "x")[0] == 401)

    window = Console(Options(server=f"http://127.0.0.1:{central.api_port}", language="en"))
    qtbot.addWidget(window, before_close_func=lambda w: w.close())
    window.resize(1200, 760)
    window.show()
    window.login_edit.setText("lan.nguyen")
    window.password_edit.setText(STAFF_PASSWORD)
    assert sign_in(qtbot, window), window.login_message.text()
    assert window.central.role == "desk"
    qtbot.waitUntil(lambda: window.live, timeout=10_000)

    # The fleet rows, from the store central filled from the links' births.
    def both() -> bool:
        return reloaded(window, lambda: {"gate-a", "kiosk-01"} <= set(fleet_rows(window)))

    qtbot.waitUntil(both, timeout=20_000)
    rows = fleet_rows(window)
    for name in ("gate-a", "kiosk-01"):
        site, _kind, health, since, *_rest = rows[name]
        assert site == f"Site {SITE}" and health == "Online" and since == ""
    assert window.fleet_message.text() == ""

    # The gate's health report (as gates/cli.py sends it): its readers and queues in its row.
    link, outbox = gate
    assert link.publish_telemetry(5.0, readers={"antenna-1": "lost", "antenna-2": "ready"})

    def reported() -> bool:
        return reloaded(window, lambda: fleet_rows(window).get("gate-a", [""] * 5)[4] != "")

    qtbot.waitUntil(reported, timeout=20_000)
    *_, readers, ils, queues = fleet_rows(window)["gate-a"]
    assert readers == "antenna-1: lost, antenna-2: ready" and ils == ""
    assert queues == "inflight: 0, outbox: 0"

    # A gate alarm, live into the alarm table with its item and title.
    alarm = Event(
        Envelope(payloads.new_id(), payloads.iso_time(time.time()), "gate-a", SITE),
        "alarm",
        {"item_id": "30077", "title": "Số đỏ", "direction": "out"},
    )
    outbox.add(f"muontra/v1/{SITE}/gate-a/events/alarm", payloads.encode(alarm))

    def alarm_row() -> list[str] | None:
        table = window.alarm_table
        for row in range(table.rowCount()):
            cells = [table.item(row, c).text() for c in range(1, 5)]  # type: ignore[union-attr]
            if cells[2] == "30077":
                return cells
        return None

    qtbot.waitUntil(lambda: alarm_row() is not None, timeout=20_000)
    cells = alarm_row()
    assert cells is not None and cells[:2] == [SITE, "gate-a"] and cells[3].startswith("Số đỏ")
    # The lost antenna raised its own alert, shown beside the alarm (not as a gate alarm).
    assert window.alarm_table.rowCount() == 2

    # A lock from the console's command row: the kiosk's own link runs it and answers.
    window.show_device(SITE, "kiosk-01")
    settle(qtbot, window)
    events = [window.events_table.item(r, 1).text() for r in range(window.events_table.rowCount())]  # type: ignore[union-attr]
    assert "alarm" not in events  # the gate's alarm is not the kiosk's
    panel = window.command_panel
    panel.poll_s = 0.1
    panel.choice.setCurrentIndex(panel.choice.findData("lock"))
    with qtbot.waitSignal(panel.answered, timeout=30_000) as answered:
        assert panel.send()
    row = json.loads(answered.args[0])
    assert (row["outcome"], row["actor"], row["command"], row["detail"]) == (
        "ok",
        "lan.nguyen",
        "lock",
        "did lock",
    )
    assert [c.name for c in kiosk] == ["lock"]
    assert panel.status.text().endswith("lan.nguyen: Lock kiosk-01 — done (did lock)")
    qtbot.waitUntil(lambda: window.commands_table.rowCount() == 1, timeout=5000)
    window.close()
    assert STAFF_PASSWORD not in central.log.read_text()
