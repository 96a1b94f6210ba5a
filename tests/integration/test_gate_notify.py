"""Issue 17: FEIG notification mode, on a real serial line, and the gate on it.

The simulated FEIG firmware sits behind a pseudo-terminal (drivers/sim/serial_peer)
and, once switched, runs its own AFI-filtered rounds and pushes new tags; the peer
records every byte the driver sends, so the tests see that the gate switched the
reader once and polled no more.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import drivers.feig_reader
import gates.controller
from drivers.feig_reader import FeigReader
from drivers.interfaces import DeviceUnavailable, TagError
from drivers.sim.devices import FeigFirmware
from drivers.sim.field import SimTag, TagField, uid_for
from drivers.sim.reader import SimReader, item_tag
from drivers.sim.serial_peer import SerialPeer
from drivers.sim.timing import INSTANT
from engine.events import EventBus
from gates.controller import GateController
from protocols.readers import feig_iso, feig_notify
from protocols.readers.feig import FeigFrame, FeigParser
from protocols.tags import TagData, encode
from tests.integration.test_gate import gate_config
from tests.integration.test_gate_afi_filter import Recording

DEADLINE = 5.0
ON_LOAN = [f"L{number:04}" for number in range(5)]
SWITCH = feig_notify.set_mode(feig_notify.Mode(True, 0x07, single_slot=True))


class Rig:
    def __init__(self, tmp: Path, field: TagField, params: str = "mode=notify") -> None:
        self.field = field
        self.wire: list[bytes] = []
        self.firmware = FeigFirmware(field, INSTANT)
        self.peer = SerialPeer(
            tmp / "feig", field, lambda: Recording(FeigParser(), self.wire), self.firmware
        ).start()
        self.reader = FeigReader(f"feig+serial://{self.peer.link}?{params}")

    def requests(self) -> list[FeigFrame]:
        frames = FeigParser().feed(b"".join(list(self.wire)))
        return [f for f in frames if isinstance(f, FeigFrame)]

    def close(self) -> None:
        self.reader.close()
        self.peer.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    field = TagField()
    for item in ON_LOAN:
        field.place(item_tag(item, afi=0xC2, eas=False))
    made = Rig(tmp_path, field)
    yield made
    made.close()


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


def test_the_gate_switches_the_reader_once_and_lent_books_stay_silent(rig: Rig) -> None:
    bus = EventBus()
    events = bus.subscribe()
    gate = GateController(
        gate_config([rig.reader.url]), bus, readers=[rig.reader], survey_every=3600.0
    )
    gate.start()
    try:
        _wait(lambda: rig.firmware.rounds >= 20, "twenty rounds of the reader's own")
        assert rig.peer.pushed == 0, "a lent book was pushed"
        rig.field.place(item_tag("S0002"))
        alarm = _alarm(events)
        assert alarm["item_id"] == "S0002" and alarm["reason"] == "secured"
    finally:
        gate.stop()
    frames = rig.requests()
    # The one survey (a host inventory, unfiltered), the switch, then no polling at all:
    # only the alarming tag's memory is asked for.
    assert feig_iso.parse_request(frames[0]) == {"sub_command": feig_iso.INVENTORY, "mode": 0}
    assert frames[1].encode() == SWITCH.encode()
    assert len([f for f in frames if f.command == feig_notify.WRITE_CONFIG]) == 1
    later = [feig_iso.parse_request(f) or {} for f in frames[2:]]
    assert later, "the alarming tag's memory was not read"
    assert all(f.get("sub_command") != feig_iso.INVENTORY for f in later), "the host polled"
    assert {f.get("uid") for f in later} == {uid_for("S0002")}, "a lent book was asked"


def test_frames_pushed_during_a_host_command_are_kept(rig: Rig) -> None:
    assert rig.reader.notifications(0x07, 0.05) == []
    assert rig.firmware.mode == feig_notify.Mode(True, 0x07, single_slot=True)
    rig.field.place(item_tag("S0003"))
    _wait(lambda: rig.peer.pushed >= 1, "a pushed frame")  # (written to the pty)
    # A host command now: its answer comes after the pushed frame, which is kept.
    info = rig.reader.system_info(uid_for("S0003"))
    assert info.afi == 0x07
    seen = rig.reader.notifications(0x07, 0.0)
    assert [tag.uid for tag in seen] == [uid_for("S0003")]


def test_a_kept_frame_that_grew_old_is_dropped(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame kept during host commands that outlasted STALE is old news: the tag may
    have left long ago (a gate that polled meanwhile heard it itself)."""
    monkeypatch.setattr(drivers.feig_reader, "STALE", -1.0)  # every kept frame is old
    assert rig.reader.notifications(0x07, 0.05) == []
    rig.field.place(item_tag("S0005"))
    _wait(lambda: rig.peer.pushed >= 1, "a pushed frame")
    rig.reader.system_info(uid_for("S0005"))  # keeps the pushed frame aside
    assert rig.reader.notifications(0x07, 0.0) == []


def test_a_tag_that_stays_is_pushed_again_after_the_valid_time(rig: Rig) -> None:
    rig.firmware.valid_time = 0.05
    rig.field.place(item_tag("S0004"))
    uids: list[bytes] = []
    deadline = time.monotonic() + DEADLINE
    while len(uids) < 3:
        assert time.monotonic() < deadline, "the staying tag was not pushed again"
        uids += [tag.uid for tag in rig.reader.notifications(0x07, 0.2)]
    assert set(uids) == {uid_for("S0004")}
    # Not every round: one round is 2 ms here, the valid time 50 ms.
    assert rig.firmware.rounds > 3 * len(uids)


def test_after_the_reader_was_unplugged_it_is_switched_again(rig: Rig) -> None:
    assert rig.reader.notifications(0x07, 0.05) == []
    rig.peer.replug()
    rig.firmware.mode = feig_notify.Mode(False, None)  # as after a power cycle
    rig.field.place(item_tag("S0006"))
    seen: list[bytes] = []
    deadline = time.monotonic() + DEADLINE
    while not seen:
        assert time.monotonic() < deadline, "no notification after the replug"
        try:
            seen = [tag.uid for tag in rig.reader.notifications(0x07, 0.1)]
        except DeviceUnavailable:
            time.sleep(0.05)  # the driver's reconnect backoff (nothing to await)
    assert seen == [uid_for("S0006")]
    assert rig.firmware.mode == feig_notify.Mode(True, 0x07, single_slot=True)
    switches = [f for f in rig.requests() if f.command == feig_notify.WRITE_CONFIG]
    assert len(switches) == 2


def test_a_reader_not_configured_for_it_is_not_switched(tmp_path: Path) -> None:
    rig = Rig(tmp_path, TagField(), params="baud=38400")
    try:
        assert rig.reader.notifies is False
        with pytest.raises(TagError, match="not configured"):
            rig.reader.set_mode(feig_notify.Mode(True, 0x07))
        assert rig.requests() == []
    finally:
        rig.close()


@pytest.mark.parametrize(("ttl", "second"), [(3600.0, "A0001"), (0.0, "B0001")])
def test_the_item_cache_forgets_a_tag_after_its_time(
    monkeypatch: pytest.MonkeyPatch, ttl: float, second: str
) -> None:
    """A tag re-encoded for another copy (same UID) is read afresh once the cache entry
    is older than ITEM_TTL; before that, the cached id stands (the read it saves)."""
    monkeypatch.setattr(gates.controller, "ITEM_TTL", ttl)
    field = TagField()
    bus = EventBus()
    events = bus.subscribe()
    reader = SimReader("sim://ttl?timing=0", field=field)
    now = [1_000_000.0]
    gate = GateController(
        gate_config([reader.url]),
        bus,
        readers=[reader],
        clock=lambda: now[0],
        survey_every=3600.0,
    )
    gate.start()
    try:
        field.place(item_tag("A0001"))
        assert _alarm(events)["item_id"] == "A0001"
        field.remove(uid_for("A0001"))
        now[0] += 60.0  # past the pass window: the next sighting is a new pass
        data = encode(TagData(model="iso28560-3", item_id="B0001"))
        field.place(SimTag.with_data(uid_for("A0001"), data, afi=0x07, eas=True))
        assert _alarm(events)["item_id"] == second
    finally:
        gate.stop()
