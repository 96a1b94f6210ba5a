"""foreign_afi: any AFI but the site's two, once per UID per window, memory bounded in a flood."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.events import EventBus
from engine.security import reporter as reporter_module
from engine.security.reporter import SecurityReporter
from engine.tamper.afi import AfiWatch
from protocols.mqtt.payloads import event_from_engine
from protocols.tags import PRESETS, SecurityPolicy

POLICY = PRESETS["afi"]  # 0x07 secured, 0xC2 on loan


def _security(bus: EventBus) -> list[dict[str, Any]]:
    return [e for e in bus.history() if e["event"] == "security"]


def _watch(policy: SecurityPolicy = POLICY) -> tuple[AfiWatch, EventBus, list[float]]:
    bus, clock = EventBus(history=100_000), [0.0]
    return AfiWatch(policy, SecurityReporter(bus, window=60, clock=lambda: clock[0])), bus, clock


def test_the_sites_two_values_and_unknown_are_not_foreign() -> None:
    watch, bus, _ = _watch()
    assert not watch.seen(b"\xe0\x04" + bytes(6), 0x07)
    assert not watch.seen(b"\xe0\x04" + bytes(6), 0xC2)
    assert not watch.seen(b"\xe0\x04" + bytes(6), None)
    assert _security(bus) == []


def test_a_foreign_afi_is_reported_with_uid_and_value() -> None:
    watch, bus, _ = _watch()
    uid = bytes.fromhex("E00401000000ABCD")
    assert watch.seen(uid, 0x90)
    (sent,) = _security(bus)
    assert sent["uid"] == "E00401000000ABCD" and sent["afi"] == 0x90
    fleet = event_from_engine(sent, device="gate-01", site="hn")
    assert fleet is not None and fleet[1].data["threat"] == "foreign_afi"


def test_eas_only_sites_do_not_look_at_the_afi() -> None:
    watch, bus, _ = _watch(PRESETS["eas"])
    assert not watch.seen(b"\x01" * 8, 0x90)
    assert _security(bus) == []


def test_a_flood_of_distinct_uids_is_one_event_per_uid_and_bounded() -> None:
    watch, bus, clock = _watch()
    uids = [b"\xe0\x04" + n.to_bytes(6, "big") for n in range(3000)]
    for _ in range(5):  # each hostile UID seen in five rounds
        for uid in uids:
            watch.seen(uid, 0x3E)
        clock[0] += 1
    sent = _security(bus)
    assert len(sent) == 3000  # one per UID in the window
    assert len({e["uid"] for e in sent}) == 3000
    # More UIDs than the reporter remembers: what is remembered stays bounded.
    for n in range(3000, 3000 + reporter_module.MAX_SUBJECTS):
        watch.seen(b"\xe0\x05" + n.to_bytes(6, "big"), 0x3E)
    assert len(watch.reporter._seen) <= reporter_module.MAX_SUBJECTS


@given(st.integers(0, 255))
def test_foreign_is_exactly_not_one_of_the_two(afi: int) -> None:
    watch, _, _ = _watch()
    assert watch.foreign(afi) is (afi not in (0x07, 0xC2))
