"""The return machine's tampering checks, on the bench rig: a tag with a foreign AFI at
intake, the PLC (pymodbus's own Modbus TCP server) lost in opening hours and out of them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from drivers.sim.conveyor import Fate
from drivers.sim.reader import item_tag
from engine.security.reporter import SecurityReporter
from engine.tamper.guard import TamperGuard
from engine.tamper.settings import TamperSection
from protocols.mqtt.payloads import event_from_engine
from tests.integration.sorter_rig import sorter_rig
from tests.integration.test_sorter_plc import plc_rig

HOURS = TamperSection(opening_hours={"mon": ["08:00-20:00"]})
MONDAY_MORNING, SUNDAY = datetime(2026, 12, 7, 10, 0), datetime(2026, 12, 13, 10, 0)


def test_a_foreign_afi_at_intake_is_reported_and_the_item_is_not_lost(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        tag = item_tag("B0001", afi=0x3E, eas=False)
        items = rig.feed([tag])
        sent = rig.wait_event("security", threat="foreign_afi")
        assert sent["uid"] == tag.uid.hex().upper() and sent["afi"] == 0x3E
        assert event_from_engine(sent, device="sorter-test", site="hn") is not None
        rig.settle(items)
        assert items[0].fate in (Fate.IN_BIN, Fate.IN_EXCEPTION_BIN)


def test_the_sites_own_afis_say_nothing(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        items = rig.feed([item_tag("B0002"), item_tag("B0003", afi=0xC2, eas=False)], every=1.0)
        rig.settle(items)
        assert [e for e in rig.sorter.bus.history() if e["event"] == "security"] == []


def test_the_plc_lost_in_opening_hours(tmp_path: Path) -> None:
    with plc_rig(tmp_path) as (rig, plc):
        bus = rig.sorter.bus
        guard = TamperGuard(HOURS, bus, SecurityReporter(bus), local=lambda: MONDAY_MORNING)
        guard.start()
        try:
            plc.stop()
            rig.wait_event("plc_lost")
            sent = rig.wait_event("security", threat="device_unplugged")
            assert sent["part"] == "plc" and sent["severity"] == "warning"
            plc.start()
            rig.wait_event("plc_back")
        finally:
            guard.stop()


def test_the_plc_lost_when_closed_is_maintenance(tmp_path: Path) -> None:
    with plc_rig(tmp_path) as (rig, plc):
        bus = rig.sorter.bus
        guard = TamperGuard(HOURS, bus, SecurityReporter(bus), local=lambda: SUNDAY)
        guard.start()
        try:
            plc.stop()
            rig.wait_event("plc_lost")
            rig.wait_until(lambda: guard.devices.lost_now() == ["plc"])
            assert [e for e in bus.history() if e["event"] == "security"] == []
            plc.start()
            rig.wait_event("plc_back")
            rig.wait_until(lambda: guard.devices.lost_now() == [])
        finally:
            guard.stop()
