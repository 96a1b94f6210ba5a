"""Issue 17: the gate's alarm rounds ask only secured tags, on a real serial line.

A FEIG and a 3M reader are simulated behind pseudo-terminals (drivers/sim/serial_peer)
and driven by their real drivers; the peer records every byte the driver sends. The
simulated tags honour the AFI filter as real ones do, so a lent book keeps silent in
the alarm rounds and costs neither air time nor an addressed command.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.feig_reader import FeigReader
from drivers.interfaces import TagReader
from drivers.sim.devices import FeigFirmware, ThreeMFirmware
from drivers.sim.field import TagField, uid_for
from drivers.sim.reader import item_tag
from drivers.sim.serial_peer import SerialPeer
from drivers.sim.timing import INSTANT, AirTiming
from drivers.threem_reader import ThreeMReader
from engine.events import EventBus
from gates.controller import GateController
from protocols.readers import feig_iso, threem
from protocols.readers.feig import FeigFrame, FeigParser
from protocols.readers.threem import ThreeMFrame, ThreeMParser
from tests.integration.test_gate import gate_config

DEADLINE = 5.0
ON_LOAN = [f"L{number:04}" for number in range(5)]
AIR = AirTiming()


class Recording:
    """A parser for the peer that keeps every byte it is fed (what the driver sent)."""

    def __init__(self, parser: Any, wire: list[bytes]) -> None:
        self.parser = parser
        self.wire = wire

    def feed(self, data: bytes) -> list[Any]:
        self.wire.append(bytes(data))
        return list(self.parser.feed(data))


class Rig:
    def __init__(self, kind: str, tmp: Path, field: TagField) -> None:
        self.kind = kind
        self.field = field
        self.wire: list[bytes] = []
        parser = FeigParser if kind == "feig" else ThreeMParser
        firmware: Any = FeigFirmware(field, INSTANT)
        if kind != "feig":
            firmware = ThreeMFirmware(field, INSTANT)
        self.peer = SerialPeer(
            tmp / kind, field, lambda: Recording(parser(), self.wire), firmware
        ).start()
        url = f"{'feig' if kind == 'feig' else '3m'}+serial://{self.peer.link}"
        self.reader: TagReader = FeigReader(url) if kind == "feig" else ThreeMReader(url)

    def requests(self) -> list[Any]:
        """Every frame the driver sent so far, decoded."""
        parser = FeigParser() if self.kind == "feig" else ThreeMParser()
        return [f for f in parser.feed(b"".join(list(self.wire))) if not hasattr(f, "reason")]

    def close(self) -> None:
        self.reader.close()
        self.peer.stop()


@pytest.fixture(params=["feig", "3m"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    field = TagField()
    for item in ON_LOAN:
        field.place(item_tag(item, afi=0xC2, eas=False))
    made = Rig(request.param, tmp_path, field)
    yield made
    made.close()


def _inventory_afi(rig: Rig, frame: Any) -> int | bool | None:
    """The AFI an inventory request asks for (None: unfiltered); False: not an inventory."""
    if rig.kind == "feig":
        fields = feig_iso.parse_request(frame) or {}
        if frame.command != feig_iso.ISO or fields.get("sub_command") != feig_iso.INVENTORY:
            return False
        afi = fields.get("afi")
        return afi if isinstance(afi, int) else None
    if frame.command != threem.INVENTORY:
        return False
    return int(frame.body[0]) or None


def _addressed_uid(rig: Rig, frame: Any) -> bytes | None:
    if rig.kind == "feig":
        uid = (feig_iso.parse_request(frame) or {}).get("uid")
        return uid if isinstance(uid, bytes) else None
    fields = threem.request_fields(frame) or {}
    return bytes.fromhex(str(fields["uid"])) if "uid" in fields else None


def test_the_filtered_inventory_goes_on_the_wire_and_only_secured_tags_answer(rig: Rig) -> None:
    rig.field.place(item_tag("S0001"))  # secured, 0x07
    rig.reader.open()
    seen = rig.reader.inventory(afi=0x07)  # type: ignore[call-arg]
    assert [tag.uid for tag in seen] == [uid_for("S0001")]
    expected = (
        feig_iso.inventory(afi=0x07).encode()
        if rig.kind == "feig"
        else threem.inventory(0x07).encode()
    )
    assert b"".join(rig.wire) == expected
    assert expected == bytes.fromhex(
        "02000affb0011007d971" if rig.kind == "feig" else "d60005fe07030311"
    )
    assert {tag.uid for tag in rig.reader.inventory()} == {  # unfiltered: everybody
        uid_for(item) for item in [*ON_LOAN, "S0001"]
    }


def test_air_time_of_a_filtered_round_counts_only_the_answering_tags() -> None:
    field = TagField()
    for item in ON_LOAN:
        field.place(item_tag(item, afi=0xC2))
    field.place(item_tag("S0001"))
    feig, three = FeigFirmware(field, AIR), ThreeMFirmware(field, AIR)
    request: FeigFrame | ThreeMFrame = feig_iso.inventory(afi=0x07)
    assert feig.air_time(request, feig.answer(request)) == pytest.approx(AIR.inventory(1))
    request = threem.inventory(0x07)
    assert three.air_time(request, three.answer(request)) == pytest.approx(AIR.inventory(1))
    request = feig_iso.inventory()
    assert feig.air_time(request, feig.answer(request)) == pytest.approx(AIR.inventory(6))


@pytest.fixture
def gate_on(rig: Rig) -> Iterator[Callable[..., tuple[GateController, queue.Queue[Any]]]]:
    started: list[GateController] = []

    def make(policy: str = "afi", **options: Any) -> tuple[GateController, queue.Queue[Any]]:
        bus = EventBus()
        events = bus.subscribe()
        controller = GateController(
            gate_config([rig.reader.url], policy=policy),
            bus,
            readers=[rig.reader],
            pass_window=0.5,
            **options,
        )
        controller.start()
        started.append(controller)
        return controller, events

    yield make
    for controller in started:
        controller.stop()


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {DEADLINE} s")
        time.sleep(0.005)


def _alarm(events: queue.Queue[Any]) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            event = events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no alarm within {DEADLINE} s") from None
        if event["event"] == "alarm":
            return event  # type: ignore[no-any-return]


def test_an_on_loan_tag_never_reaches_the_alarm_path(
    rig: Rig, gate_on: Callable[..., tuple[GateController, queue.Queue[Any]]]
) -> None:
    gate, events = gate_on(survey_every=3600.0)  # one survey, at the start

    def filtered_rounds() -> int:
        return sum(1 for f in rig.requests() if _inventory_afi(rig, f) == 0x07)

    _wait(lambda: filtered_rounds() >= 5, "five filtered rounds")
    rig.field.place(item_tag("S0002"))
    alarm = _alarm(events)
    assert alarm["item_id"] == "S0002" and alarm["reason"] == "secured"
    frames = rig.requests()
    # The one survey (an unfiltered inventory, nothing asked), then alarm rounds only.
    assert _inventory_afi(rig, frames[0]) is None
    assert all(_inventory_afi(rig, f) in (0x07, False) for f in frames[1:]), "unfiltered round"
    addressed = {_addressed_uid(rig, f) for f in frames} - {None}
    assert addressed == {uid_for("S0002")}, "a lent book was asked something"
    assert gate.survey_counts[rig.reader.url] == len(ON_LOAN)
    assert gate.status()["tags_in_field"] == {rig.reader.url: len(ON_LOAN)}
    assert [e for e in gate.bus.history() if e["event"] == "alarm"] == [alarm]


def test_the_survey_still_sees_what_only_it_can(
    rig: Rig, gate_on: Callable[..., tuple[GateController, queue.Queue[Any]]]
) -> None:
    """A lent book reported missing is heard: while one is reported, rounds are full."""
    gate, events = gate_on(survey_every=0.05)
    _wait(lambda: gate.survey_counts.get(rig.reader.url) == len(ON_LOAN), "a survey")
    gate.report_missing("M0001")
    rig.field.place(item_tag("M0001", afi=0xC2, eas=False))
    alarm = _alarm(events)
    assert alarm["item_id"] == "M0001" and alarm["reason"] == "reported_missing"
    gate.report_missing("M0001", missing=False)
    count = len(rig.requests())
    _wait(lambda: len(rig.requests()) > count + 10, "more rounds")
    assert [e["item_id"] for e in gate.bus.history() if e["event"] == "alarm"] == ["M0001"]


def test_an_eas_site_asks_the_field_with_one_eas_alarm_command(
    rig: Rig, gate_on: Callable[..., tuple[GateController, queue.Queue[Any]]]
) -> None:
    """FEIG: the unaddressed NXP EAS alarm, and an inventory only once a tag answers it.
    3M has only the addressed EAS check, so its rounds stay full, as before."""
    _gate, events = gate_on(policy="eas", survey_every=3600.0)

    def eas_alarms() -> int:
        return sum(1 for f in rig.requests() if rig.kind == "feig" and f.command == feig_iso.NXP)

    if rig.kind == "feig":
        _wait(lambda: eas_alarms() >= 5, "five EAS alarm commands")
        quiet = rig.requests()
        inventories = [f for f in quiet if _inventory_afi(rig, f) is not False]
        assert len(inventories) == 1, "an inventory while no tag had its EAS bit set"
        assert {_addressed_uid(rig, f) for f in quiet} == {None}, "a lent book was asked"
    else:
        _wait(lambda: len(rig.requests()) >= 10, "rounds")
    rig.field.place(item_tag("S0003", afi=0xC2, eas=True))  # EAS is what counts here
    alarm = _alarm(events)
    assert alarm["item_id"] == "S0003" and alarm["reason"] == "secured"
    # Then each tag is asked: only an addressed EAS alarm says which one has its bit set.
