"""The tag UIDs on the fleet's checkout, checkin and alarm events (protocols/mqtt/payloads.py),
which central joins to find one item id on two tags: exact bytes, one spelling, nothing else."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from protocols.mqtt.payloads import decode_event, encode, event_from_engine

ID = "0123456789abcdef0123456789abcdef"
T = 1764059400.25  # 2025-11-25T08:30:00.250Z


def mapped(engine: dict[str, Any], device: str = "gate-a") -> bytes:
    got = event_from_engine({"time": T, **engine}, device, "VN-HN0001", id=ID)
    assert got is not None
    return encode(got[1])


def test_a_gate_alarm_carries_its_tag_uid_exact() -> None:
    # As gates/controller.py publishes it (the reader URL and texts stay on the gate).
    alarm = {
        "event": "alarm",
        "gate": "gate-a",
        "reader": "feig+serial:///dev/ttyUSB0",
        "uid": "E00401501234ABCD",
        "item_id": "30077",
        "reason": "not_checked_out",
        "vi": "Tài liệu chưa mượn",
        "en": "Item not checked out",
        "direction": "out",
        "title": None,
    }
    assert mapped(alarm) == (
        b'{"device":"gate-a","direction":"out","event":"alarm","gate":"gate-a",'
        b'"id":"0123456789abcdef0123456789abcdef","item_id":"30077","reason":"not_checked_out",'
        b'"site":"VN-HN0001","time":"2025-11-25T08:30:00.250Z","uid":"E00401501234ABCD","v":1}'
    )


def test_a_kiosk_checkin_carries_the_items_tags_upper_case_exact() -> None:
    checkin = {
        "event": "item",
        "kind": "checkin",
        "item_id": "40001",
        "outcome": "returned",
        "uids": ["e005015012345678", "e005015012345679"],
        "card_uid": "04A1B2C3D4E5F6",  # a patron's card: never copied
    }
    assert mapped(checkin, "kiosk-01") == (
        b'{"device":"kiosk-01","event":"checkin","id":"0123456789abcdef0123456789abcdef",'
        b'"item_id":"40001","kind":"checkin","outcome":"returned","site":"VN-HN0001",'
        b'"time":"2025-11-25T08:30:00.250Z","uids":["E005015012345678","E005015012345679"],'
        b'"v":1}'
    )


def test_only_hex_uids_on_item_events_are_copied() -> None:
    bad = {"event": "alarm", "item_id": "1", "uid": "P0001234 Nguyễn", "uids": ["zz", 7, ["E0"]]}
    assert b"uid" not in mapped(bad)
    short = {"event": "alarm", "item_id": "1", "uid": "E004"}  # under 4 bytes: no tag's UID
    assert b"uid" not in mapped(short)
    # Other events keep no UID at all (an error's tag, a people counter).
    error = {
        "event": "item",
        "outcome": "tag_unreadable",
        "item_id": "1",
        "uid": "E00401501234ABCD",
    }
    assert b"uid" not in mapped(error, "kiosk-01")
    people = {"event": "people", "direction": "in", "uid": "E00401501234ABCD"}
    assert b"uid" not in mapped(people)


@given(
    st.one_of(st.text(max_size=40), st.integers(), st.none()),
    st.lists(st.one_of(st.text(max_size=40), st.integers()), max_size=40),
)
def test_any_uid_value_maps_to_hex_or_nothing(uid: object, uids: list[object]) -> None:
    got = event_from_engine(
        {"event": "item", "kind": "checkout", "time": T, "item_id": "1", "uid": uid, "uids": uids},
        "kiosk-01",
        "VN-HN0001",
        id=ID,
    )
    assert got is not None
    data = decode_event(encode(got[1])).data
    named = [data["uid"]] if "uid" in data else []
    named += data.get("uids", [])
    assert len(data.get("uids", [])) <= 16
    for value in named:
        assert isinstance(value, str) and 8 <= len(value) <= 32
        assert value == value.upper() and int(value, 16) >= 0
