"""Tag security and device tampering at a running gate: sim:// readers, the ILS simulator over
TCP, gpiozero mock pins. Each check waits for its event with a deadline; sleeps only stand for
a patron walking away and back."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.interfaces import TagSeen
from drivers.sim.field import TagField
from drivers.sim.reader import SimReader, item_tag
from engine.config.model import parse_config
from engine.events import EventBus
from engine.ils.client import IlsClient
from engine.security.reporter import SecurityReporter
from engine.tamper.guard import TamperGuard
from gates.controller import GateController
from gates.tag_security import TagSecurityWatch
from ilssim.running import running_simulator
from protocols.mqtt.payloads import event_from_engine

DEADLINE = 5.0
OWNER = "VN-HN0001"
PASS_WINDOW = 0.3
AVAILABLE, CHARGED = "B0001", "B0008"  # in the simulator's seed (checked below)


class QuietAfiReader(SimReader):
    """A simulated reader whose inventory answer does not say each tag's AFI, as FEIG's and
    3M's do not; an inventory filtered on an AFI still selects by it."""

    def inventory(self, afi: int | None = None) -> list[TagSeen]:
        return [replace(tag, afi=None) for tag in super().inventory(afi)]


class Gate:
    def __init__(self, controller: GateController, bus: EventBus, field: TagField) -> None:
        self.controller = controller
        self.bus = bus
        self.field = field
        self.events: queue.Queue[dict[str, Any]] = bus.subscribe()
        self.seen: list[dict[str, Any]] = []
        self._unclaimed: list[dict[str, Any]] = []
        """Events passed over by an earlier wait: the security check and the alarm run on
        different threads, so either may come first, and a later wait must still find it."""

    def wait(self, name: str, match: Callable[[dict[str, Any]], bool] = lambda e: True) -> Any:
        for event in self._unclaimed:
            if event["event"] == name and match(event):
                self._unclaimed.remove(event)
                return event
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {name} within {DEADLINE} s; saw {self.seen}") from None
            self.seen.append(event)
            if event["event"] == name and match(event):
                return event
            self._unclaimed.append(event)

    def threat(self, threat: str) -> dict[str, Any]:
        event = self.wait("security", lambda e: e["threat"] == threat)
        made = event_from_engine(event, device="gate-test", site="hn")
        assert made is not None, f"the fleet would drop {event}"
        return event


@pytest.fixture
def ils(tmp_path: Path) -> Iterator[IlsClient]:
    with running_simulator(tmp_path / "ils.sqlite", items=20, rng_seed=7) as (sim, _):
        url = f"sip2://127.0.0.1:{sim.port}?institution=MUONTRA&location=GATE&timeout=5"
        with IlsClient(url) as client:
            yield client


@pytest.fixture
def make_gate() -> Iterator[Callable[..., Gate]]:
    made: list[tuple[GateController, str]] = []

    def make(ils: IlsClient | None = None, quiet: bool = False) -> Gate:
        name = f"tamper-{uuid.uuid4().hex[:8]}"
        config = parse_config(
            f"""
[device]
id = "gate-test"
site = "VN-HN0001"
role = "gate"

[ils]
url = "sip2+sim://"

[gate]
readers = ["sim://{name}?timing=0"]
alarm_outputs = []

[tags]
owner_libraries = ["{OWNER}"]
"""
        )
        bus = EventBus()
        watch = TagSecurityWatch(
            config.security.to_policy(), SecurityReporter(bus), ils=ils, pass_window=PASS_WINDOW
        )
        controller = GateController(
            config,
            bus,
            readers=[QuietAfiReader(f"sim://{name}?timing=0")] if quiet else None,
            ils=ils,
            pass_window=PASS_WINDOW,
            survey_every=0.05,  # the full round that sees unsecured and foreign tags
            tag_security=watch,
        )
        gate = Gate(controller, bus, TagField.named(name))
        made.append((controller, name))
        controller.start()
        return gate

    yield make
    for controller, name in made:
        controller.stop()
        TagField.forget(name)


def test_the_seed_holds_what_these_tests_assume(ils: IlsClient) -> None:
    assert str(ils.item_information(AVAILABLE).circulation_status) == "03"
    assert str(ils.item_information(CHARGED).circulation_status) == "04"


@pytest.mark.parametrize("quiet", [False, True], ids=["afi-in-inventory", "afi-not-said"])
def test_a_foreign_afi_is_reported_and_the_secured_book_beside_it_still_alarms(
    make_gate: Callable[..., Gate], quiet: bool
) -> None:
    gate = make_gate(quiet=quiet)
    foreign = gate.field.place(item_tag("F0001", OWNER, afi=0x3E, eas=False))
    gate.field.place(item_tag("S0001", OWNER))
    assert gate.wait("alarm")["item_id"] == "S0001"
    sent = gate.threat("foreign_afi")
    assert sent["uid"] == foreign.uid.hex().upper() and sent["afi"] == 0x3E


@pytest.mark.parametrize("quiet", [False, True], ids=["afi-in-inventory", "afi-not-said"])
def test_an_unsecured_item_the_ils_says_is_not_on_loan(
    make_gate: Callable[..., Gate], ils: IlsClient, quiet: bool
) -> None:
    gate = make_gate(ils, quiet=quiet)
    tag = gate.field.place(item_tag(AVAILABLE, OWNER, afi=0xC2, eas=False))
    time.sleep(PASS_WINDOW / 2)  # walking through
    gate.field.remove(tag.uid)
    time.sleep(PASS_WINDOW * 2)  # away, and back in: a second pass
    gate.field.bring_back(tag.uid)
    sent = gate.threat("unsecured_not_on_loan")
    assert sent["item_id"] == AVAILABLE and sent["severity"] == "warning"
    alarms = [e for e in gate.bus.history() if e["event"] == "alarm"]
    assert alarms == []  # its AFI says lent: no alarm, only the security event


def test_an_unsecured_item_a_kiosk_lent_is_no_suspect(
    make_gate: Callable[..., Gate], ils: IlsClient
) -> None:
    gate = make_gate(ils)
    tag = item_tag(AVAILABLE, OWNER, afi=0xC2, eas=False)
    lent = {"kind": "checkout", "item_id": AVAILABLE, "outcome": "checked_out"}
    gate.controller.kiosk_event({**lent, "uids": [tag.uid.hex()]})
    gate.field.place(tag)
    for _ in range(3):
        time.sleep(PASS_WINDOW / 2)
        gate.field.remove(tag.uid)
        time.sleep(PASS_WINDOW * 2)
        gate.field.bring_back(tag.uid)
    marker = gate.field.place(item_tag("F0002", OWNER, afi=0x3E, eas=False))
    gate.threat("foreign_afi")  # the watch has gone past the passes above
    assert marker.uid
    threats = [e["threat"] for e in gate.bus.history() if e["event"] == "security"]
    assert "unsecured_not_on_loan" not in threats


def test_a_secured_tag_on_an_item_on_loan(make_gate: Callable[..., Gate], ils: IlsClient) -> None:
    gate = make_gate(ils)
    tag = gate.field.place(item_tag(CHARGED, OWNER))
    alarm = gate.wait("alarm")
    assert alarm["item_id"] == CHARGED  # the alarm comes first, as ever
    sent = gate.threat("on_loan_secured")
    assert sent["item_id"] == CHARGED and sent["uid"] == tag.uid.hex().upper()


def test_a_reader_unplugged_in_opening_hours(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate()
    from engine.tamper.settings import TamperSection

    guard = TamperGuard(
        TamperSection(opening_hours={"mon": ["08:00-20:00"]}),
        gate.bus,
        SecurityReporter(gate.bus),
        local=lambda: datetime(2026, 12, 7, 10, 0),  # Monday morning
    )
    guard.start()
    try:
        gate.field.faults.unplugged = True
        sent = gate.threat("device_unplugged")
        assert sent["part"] == "reader" and "sim://" not in str(sent)
    finally:
        gate.field.faults.unplugged = False
        guard.stop()


def test_a_reader_unplugged_when_closed_is_maintenance(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate()
    from engine.tamper.settings import TamperSection

    guard = TamperGuard(
        TamperSection(opening_hours={"mon": ["08:00-20:00"]}),
        gate.bus,
        SecurityReporter(gate.bus),
        local=lambda: datetime(2026, 12, 13, 10, 0),  # Sunday: closed
    )
    guard.start()
    try:
        gate.field.faults.unplugged = True
        gate.wait("device", lambda e: e["state"] == "unavailable")
        deadline = time.monotonic() + DEADLINE
        while not guard.devices.lost_now():
            assert time.monotonic() < deadline, "the guard never heard the reader go"
            time.sleep(0.005)
        assert [e for e in gate.bus.history() if e["event"] == "security"] == []
    finally:
        gate.field.faults.unplugged = False
        guard.stop()
