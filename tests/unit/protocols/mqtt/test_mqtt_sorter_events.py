"""The return machine's fleet events: exact bytes per kind, closed fields, fuzzed decoding."""

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
    decode_for,
    encode,
    event_from_engine,
    iso_time,
)
from protocols.mqtt.sorter_schema import SORTER_EVENTS, FieldKind, SorterEvent
from protocols.mqtt.topics import EVENT_KINDS, build_topic, parse_topic

ID = "0123456789abcdef0123456789abcdef"
ENV = Envelope(ID, "2026-11-25T08:30:00.250Z", "sorter-01", "VN-HN0001")
D = '"device":"sorter-01",'
IDF = f'"id":"{ID}",'
ST = '"site":"VN-HN0001","time":"2026-11-25T08:30:00.250Z",'

# Every kind once, with the exact bytes it travels as (keys sorted, no spaces, UTF-8).
FIXTURES: list[tuple[str, dict[str, Any], str]] = [
    (
        "item_sorted",
        {"item_id": "30001", "bin": "2", "reason": "transit", "destination": "Chi nhánh Cầu Giấy"},
        '{"bin":"2","destination":"Chi nhánh Cầu Giấy",'
        + D
        + '"event":"item_sorted",'
        + IDF
        + '"item_id":"30001","reason":"transit",'
        + ST
        + '"v":1}',
    ),
    (
        "sort_exception",
        {"bin": "X", "reason": "unreadable_tag"},
        '{"bin":"X",'
        + D
        + '"event":"sort_exception",'
        + IDF
        + '"reason":"unreadable_tag",'
        + ST
        + '"v":1}',
    ),
    (
        "bin_full",
        {"bin": "1", "count": 40, "capacity": 40, "sensor": False},
        '{"bin":"1","capacity":40,"count":40,'
        + D
        + '"event":"bin_full",'
        + IDF
        + '"sensor":false,'
        + ST
        + '"v":1}',
    ),
    (
        "bin_emptied",
        {"bin": "3", "count": 31, "staff": "Thủ thư Lan"},
        '{"bin":"3","count":31,'
        + D
        + '"event":"bin_emptied",'
        + IDF
        + '"site":"VN-HN0001","staff":"Thủ thư Lan","time":"2026-11-25T08:30:00.250Z","v":1}',
    ),
    (
        "belt_stopped",
        {"why": "jam"},
        "{" + D + '"event":"belt_stopped",' + IDF + ST + '"v":1,"why":"jam"}',
    ),
    (
        "plc_lost",
        {"why": "timeout"},
        "{" + D + '"event":"plc_lost",' + IDF + ST + '"v":1,"why":"timeout"}',
    ),
    (
        "plc_back",
        {"down_s": 12.5},
        "{" + D + '"down_s":12.5,"event":"plc_back",' + IDF + ST + '"v":1}',
    ),
    (
        "intake_closed",
        {"why": "bins_full"},
        "{" + D + '"event":"intake_closed",' + IDF + ST + '"v":1,"why":"bins_full"}',
    ),
    ("intake_opened", {}, "{" + D + '"event":"intake_opened",' + IDF + ST + '"v":1}'),
]


@pytest.mark.parametrize(("kind", "data", "wire"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_each_kind_has_its_exact_bytes(kind: str, data: dict[str, Any], wire: str) -> None:
    expected = wire.encode("utf-8")
    event = Event(ENV, kind, data)
    assert encode(event) == expected
    assert decode_event(expected, kind) == event
    topic = build_topic("muontra", "VN-HN0001", "sorter-01", "events", kind)
    assert parse_topic(topic, "muontra").name == kind


def test_every_sorter_kind_is_a_topic_and_has_a_fixture() -> None:
    assert set(SorterEvent) <= EVENT_KINDS
    assert {f[0] for f in FIXTURES} == set(SorterEvent) == set(SORTER_EVENTS)


@pytest.mark.parametrize(
    ("kind", "data", "problem"),
    [
        ("item_sorted", {"bin": "2", "reason": "default"}, "needs item_id"),
        (
            "item_sorted",
            {"item_id": "1", "bin": "2", "reason": "default", "patron_id": "P1"},
            "unknown fields",
        ),
        ("item_sorted", {"item_id": "1", "bin": "2", "reason": "Default"}, "lower-case code"),
        ("item_sorted", {"item_id": "1", "bin": "2", "reason": "a b"}, "lower-case code"),
        ("item_sorted", {"item_id": "", "bin": "2", "reason": "default"}, "printable"),
        ("item_sorted", {"item_id": "1\n2", "bin": "2", "reason": "default"}, "printable"),
        ("item_sorted", {"item_id": 30001, "bin": "2", "reason": "default"}, "must be text"),
        ("sort_exception", {"bin": "X", "reason": "x", "title": "t" * 201}, "200 characters"),
        ("bin_full", {"bin": "1", "count": -1}, "whole number"),
        ("bin_full", {"bin": "1", "count": 1.5}, "whole number"),
        ("bin_full", {"bin": "1", "count": True}, "whole number"),
        ("bin_full", {"bin": "1", "count": 3, "sensor": 1}, "true or false"),
        ("bin_emptied", {"bin": "1"}, "needs count"),
        ("bin_emptied", {"bin": "1", "count": 2, "patron": "Nguyễn Văn A"}, "unknown fields"),
        ("belt_stopped", {}, "needs why"),
        ("plc_back", {"down_s": -0.1}, "number >= 0"),
        ("plc_back", {"down_s": "5"}, "number >= 0"),
        ("intake_opened", {"why": "x"}, "unknown fields"),
    ],
)
def test_closed_fields_refuse_what_is_not_listed(
    kind: str, data: dict[str, Any], problem: str
) -> None:
    with pytest.raises(PayloadError, match=problem):
        Event(ENV, kind, data)
    wire = json.dumps(
        {
            "v": 1,
            "id": ID,
            "time": ENV.time,
            "device": "sorter-01",
            "site": "VN-HN0001",
            "event": kind,
            **data,
        }
    ).encode()
    with pytest.raises(PayloadError, match=problem):
        decode_event(wire, kind)


# --- from the sorter's bus to the fleet ---------------------------------------------------------


def test_engine_event_keeps_listed_fields_and_drops_patron_data() -> None:
    mapped = event_from_engine(
        {
            "event": "item_sorted",
            "time": 1_764_059_400.25,
            "item_id": "30001",
            "bin": "2",
            "reason": "hold",
            "title": "Truyện Kiều" + "!" * 300,
            "patron_id": "P0001234",
            "patron_name": "Nguyễn Văn A",
            "pin": "1234",
        },
        "sorter-01",
        "VN-HN0001",
        id=ID,
    )
    assert mapped is not None
    suffix, event = mapped
    assert suffix == "events/item_sorted"
    assert dict(event.data) == {
        "item_id": "30001",
        "bin": "2",
        "reason": "hold",
        "title": ("Truyện Kiều" + "!" * 300)[:200],
    }
    wire = encode(event)
    for secret in (b"P0001234", "Nguyễn Văn A".encode(), b'1234"'):
        assert secret not in wire


def test_engine_bin_emptied_with_and_without_staff() -> None:
    base = {"event": "bin_emptied", "time": 1_764_059_400.0, "bin": "3", "count": 0}
    plain = event_from_engine(base, "sorter-01", "S", id=ID)
    named = event_from_engine(base | {"staff": "Lan"}, "sorter-01", "S", id=ID)
    assert plain is not None and dict(plain[1].data) == {"bin": "3", "count": 0}
    assert named is not None and named[1].data["staff"] == "Lan"


@pytest.mark.parametrize(
    "event",
    [
        {"event": "bin_emptied", "time": 1.0, "bin": "3"},  # no count
        {"event": "bin_full", "time": 1.0, "bin": 3, "count": 1},  # bin id not text
        {"event": "belt_stopped", "time": 1.0, "why": "Jammed by a book!"},
        {"event": "intake_closed", "time": "now", "why": "staff"},
    ],
)
def test_engine_events_the_fleet_could_not_read_are_dropped(event: dict[str, Any]) -> None:
    assert event_from_engine(event, "sorter-01", "S") is None


# --- properties and fuzzing ---------------------------------------------------------------------

_level = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cn", "Co", "Cf", "Zs")),
    min_size=1,
    max_size=64,
)
_code = st.from_regex(r"[a-z][a-z0-9_]{0,39}", fullmatch=True)
_VALUES = {
    FieldKind.TEXT: st.text(max_size=200),
    FieldKind.LEVEL: _level,
    FieldKind.CODE: _code,
    FieldKind.COUNT: st.integers(0, 10**9),
    FieldKind.SECONDS: st.floats(0, 1e9, allow_nan=False) | st.integers(0, 10**6),
    FieldKind.FLAG: st.booleans(),
}


@st.composite
def _sorter_events(draw: st.DrawFn) -> Event:
    kind = draw(st.sampled_from(sorted(SORTER_EVENTS)))
    data: dict[str, Any] = {}
    for name, spec in SORTER_EVENTS[kind].items():
        if spec.required or draw(st.booleans()):
            data[name] = draw(_VALUES[spec.kind])
    time = iso_time(draw(st.integers(0, 4_000_000_000_000)) / 1000)
    return Event(Envelope(ID, time, "sorter-01", "VN-HN0001"), kind, data)


@given(_sorter_events())
def test_sorter_event_round_trip(event: Event) -> None:
    assert decode_event(encode(event), event.kind) == event


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_ENV_WIRE = {"v": 1, "id": ID, "time": ENV.time, "device": "sorter-01", "site": "VN-HN0001"}


@given(
    st.sampled_from(sorted(SORTER_EVENTS)),
    st.dictionaries(
        st.sampled_from(
            [
                "item_id",
                "bin",
                "reason",
                "title",
                "destination",
                "offline",
                "count",
                "capacity",
                "sensor",
                "staff",
                "why",
                "down_s",
                "patron_id",
            ]
        ),
        _json,
    ),
)
def test_decoder_fuzz_sorter_fields(kind: str, body: dict[str, Any]) -> None:
    """Any JSON in any field of a sorter event decodes or raises PayloadError, nothing else."""
    try:
        data = json.dumps(_ENV_WIRE | {"event": kind} | body, allow_nan=True).encode()
    except ValueError:
        return
    with contextlib.suppress(PayloadError):
        decode_for("events", kind, data)


@given(
    st.sampled_from(sorted(SORTER_EVENTS)),
    st.dictionaries(st.text(max_size=12), _json, max_size=6),
    st.one_of(st.floats(), st.integers(), st.text(max_size=5), st.none()),
)
def test_event_from_engine_fuzz(kind: str, body: dict[str, Any], when: object) -> None:
    """Whatever the sorter's bus holds, the mapping answers an event or None, never raises."""
    mapped = event_from_engine({**body, "event": kind, "time": when}, "sorter-01", "S")
    if mapped is not None:
        assert decode_event(encode(mapped[1]), kind) == mapped[1]
