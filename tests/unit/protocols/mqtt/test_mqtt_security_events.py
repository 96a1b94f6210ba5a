"""Security events on the fleet: exact bytes, closed fields, no field that could name a patron."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.mqtt.payloads import (
    Envelope,
    Event,
    PayloadError,
    decode_event,
    encode,
    event_from_engine,
)
from protocols.mqtt.security_schema import SECURITY_EVENT, SECURITY_FIELDS, Severity, Threat
from protocols.mqtt.topics import EVENT_KINDS, build_topic

ID = "0123456789abcdef0123456789abcdef"
ENV = Envelope(ID, "2026-11-25T08:30:00.250Z", "kiosk-01", "VN-HN0001")


def test_security_is_an_event_kind_with_its_own_topic() -> None:
    assert SECURITY_EVENT in EVENT_KINDS
    assert build_topic("muontra", "VN-HN0001", "kiosk-01", "events", SECURITY_EVENT) == (
        "muontra/v1/VN-HN0001/kiosk-01/events/security"
    )


def test_exact_bytes_of_a_cloned_tag() -> None:
    data = {
        "threat": "cloned_tag",
        "severity": "critical",
        "item_id": "30001",
        "uid": "E004010012345678",
        "other_uid": "E0040100ABCDEF01",
    }
    assert encode(Event(ENV, SECURITY_EVENT, data)) == (
        b'{"device":"kiosk-01","event":"security","id":"' + ID.encode() + b'",'
        b'"item_id":"30001","other_uid":"E0040100ABCDEF01","severity":"critical",'
        b'"site":"VN-HN0001","threat":"cloned_tag","time":"2026-11-25T08:30:00.250Z",'
        b'"uid":"E004010012345678","v":1}'
    )
    assert decode_event(encode(Event(ENV, SECURITY_EVENT, data))).data == data


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"severity": "critical"}, "needs threat"),
        ({"threat": "pin_guessing"}, "needs severity"),
        # A patron's identifier or PIN has no field to travel in.
        ({"threat": "pin_wrong", "severity": "info", "patron_id": "2300001"}, "unknown fields"),
        ({"threat": "pin_wrong", "severity": "info", "pin": "1234"}, "unknown fields"),
        ({"threat": "pin_wrong", "severity": "info", "name": "Nguyễn Văn A"}, "unknown fields"),
        ({"threat": "Pin Guessing", "severity": "info"}, "lower-case code"),
        ({"threat": "clock_jump", "severity": "warning", "jump_s": -3600}, "number >= 0"),
        ({"threat": "foreign_afi", "severity": "warning", "afi": "0x07"}, "whole number"),
        ({"threat": "cloned_tag", "severity": "critical", "uid": ["a", "b"]}, "must be text"),
        ({"threat": "cloned_tag", "severity": "critical", "uid": "E0\x0004"}, "printable"),
    ],
)
def test_wrong_security_events_are_refused(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        Event(ENV, SECURITY_EVENT, data)
    raw = json.dumps(
        {"v": 1, "id": ID, "time": ENV.time, "device": "kiosk-01", "site": "VN-HN0001"}
        | {"event": SECURITY_EVENT}
        | data
    ).encode()
    with pytest.raises(PayloadError, match=problem):
        decode_event(raw)


def test_engine_security_event_keeps_only_its_fields() -> None:
    engine_event = {
        "event": "security",
        "time": 1_764_059_400.25,
        "threat": Threat.PIN_WRONG,
        "severity": Severity.INFO,
        "patron_ref": "p-3f9a1c",
        "count": 3,
        "patron_id": "2300001",  # never travels
        "pin": "1234",
    }
    mapped = event_from_engine(engine_event, "kiosk-01", "VN-HN0001", id=ID)
    assert mapped is not None
    topic, event = mapped
    assert topic == "events/security"
    assert dict(event.data) == {
        "threat": "pin_wrong",
        "severity": "info",
        "patron_ref": "p-3f9a1c",
        "count": 3,
    }
    assert b"2300001" not in encode(event) and b'"pin"' not in encode(event)


def test_engine_security_event_of_a_wrong_type_is_dropped() -> None:
    event = {"event": "security", "time": 1.0, "threat": "clock_jump", "severity": "warning"}
    assert event_from_engine(event | {"jump_s": "far"}, "kiosk-01", "VN-HN0001") is None
    assert event_from_engine({"event": "security", "time": 1.0}, "kiosk-01", "VN-HN0001") is None


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@given(st.dictionaries(st.sampled_from([*SECURITY_FIELDS, "pin", "x"]), _VALUES, max_size=8))
def test_fuzzed_security_events_map_or_drop(fields: dict[str, Any]) -> None:
    mapped = None
    with contextlib.suppress(PayloadError):
        mapped = event_from_engine({"event": "security", "time": 5.0} | fields, "k", "s")
    if mapped is not None:
        _, event = mapped
        assert set(event.data) <= set(SECURITY_FIELDS)
        assert decode_event(encode(event)).data == event.data
