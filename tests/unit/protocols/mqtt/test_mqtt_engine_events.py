"""Engine events to fleet events: the mapping, and that patron data never crosses it."""

import json

from hypothesis import example, given
from hypothesis import strategies as st

from protocols.mqtt.payloads import encode, event_from_engine

ID = "0123456789abcdef0123456789abcdef"
T = 1764059400.25  # 2025-11-25T08:30:00.250Z


def test_checkout_result_exact() -> None:
    engine = {
        "event": "item",
        "seq": 7,
        "time": T,
        "kind": "checkout",
        "item_id": "30001",
        "txn": "aa" * 16,
        "state": "done",
        "outcome": "checked_out",
        "message": {"vi": "Đã mượn", "en": "Checked out"},
        "title": "Truyện Kiều",
        "due_date": "2025-12-09",
        "ils_message": "Cảm ơn Nguyễn Văn A",
        "offline": False,
        "uids": ["e004015012345678"],
        "success": True,
        "patron_id": "P0001234",
        "pin": "1234",
        "patron_ref": "ab12cd34",
    }
    mapped = event_from_engine(engine, "kiosk-01", "VN-HN0001", id=ID)
    assert mapped is not None
    suffix, event = mapped
    assert suffix == "events/checkout"
    assert (
        encode(event)
        == (
            '{"device":"kiosk-01","due_date":"2025-12-09","event":"checkout",'
            '"id":"0123456789abcdef0123456789abcdef","item_id":"30001","kind":"checkout",'
            '"offline":false,"outcome":"checked_out","patron_ref":"ab12cd34","site":"VN-HN0001",'
            '"state":"done","success":true,"time":"2025-11-25T08:30:00.250Z",'
            '"title":"Truyện Kiều","txn":"' + "aa" * 16 + '","uids":["E004015012345678"],"v":1}'
        ).encode()
    )


def test_mapping_of_other_events() -> None:
    def kind_of(**event: object) -> str | None:
        mapped = event_from_engine({"time": T, **event}, "k1", "S")
        return None if mapped is None else mapped[0]

    assert kind_of(event="item", outcome="processing", kind="checkout", item_id="1") is None
    assert kind_of(event="item", outcome="returned", kind="checkin", item_id="1") == (
        "events/checkin"
    )
    assert kind_of(event="item", outcome="tag_unreadable", item_id="1") == "events/error"
    assert kind_of(event="item", outcome="reposition", uid="E0") is None
    assert kind_of(event="renewed", item_id="1", outcome="renewed") == "events/renew"
    assert kind_of(event="replayed", kind="checkin", item_id="1", state="conflict") == (
        "events/checkin"
    )
    assert kind_of(event="device", device="pad", state="lost", detail="unplugged") == (
        "events/device"
    )
    assert kind_of(event="alarm", gate="gate-1", item_id="1", direction="out") == "events/alarm"
    assert kind_of(event="people", gate="gate-1", counts={"in": 3, "out": 1}) == "events/people"
    assert kind_of(event="session_started", patron_ref="ab", name="Nguyễn Văn A") is None
    assert kind_of(event="pin_wrong", patron_ref="ab", attempts_left=2) is None
    assert event_from_engine({"event": "item"}, "k1", "S") is None
    assert event_from_engine("nonsense", "k1", "S") is None  # type: ignore[arg-type]


def test_replay_and_device_fields() -> None:
    mapped = event_from_engine(
        {
            "event": "replayed",
            "time": T,
            "kind": "checkout",
            "item_id": "9",
            "state": "replayed",
            "ils_message": "hello patron P0001",
        },
        "k1",
        "S",
    )
    assert mapped is not None
    assert mapped[1].data == {
        "kind": "checkout",
        "item_id": "9",
        "outcome": "replayed",
        "offline": True,
    }
    device = event_from_engine(
        {"event": "device", "time": T, "device": "pad", "state": "lost", "detail": "unplugged"},
        "k1",
        "S",
    )
    assert device is not None
    assert device[1].data == {"part": "pad", "state": "lost", "detail": "unplugged"}


SECRET = "SECRET-P-9876"


@given(
    st.sampled_from(["item", "renewed", "replayed", "device", "alarm", "people", "error", "ready"]),
    st.dictionaries(st.text(max_size=12), st.just(SECRET), max_size=6),
)
def test_no_unlisted_field_leaks(name: str, extra: dict[str, str]) -> None:
    """Whatever an engine event carries, only allow-listed names reach the payload."""
    allowed = {
        "item_id",
        "outcome",
        "kind",
        "title",
        "due_date",
        "offline",
        "success",
        "patron_ref",
        "txn",
        "gate",
        "direction",
        "reason",
        "counts",
        "count",
        "parts",
        "missing",
        "destination",
        "state",
        "part",
        "role",
        "detail",
    }
    leaky = {k: v for k, v in extra.items() if k not in allowed and k not in {"event", "time"}}
    event = {
        **leaky,
        "event": name,
        "time": T,
        "kind": "checkout",
        "outcome": "checked_out",
        "patron_id": SECRET,
        "patron_name": SECRET,
        "pin": SECRET,
        "ils_message": SECRET,
    }
    mapped = event_from_engine(event, "k1", "S")
    if mapped is not None:
        assert SECRET not in encode(mapped[1]).decode()
        assert SECRET not in json.dumps(mapped[1].data)


_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300)
_values = _values | st.lists(_values, max_size=4) | st.dictionaries(st.text(max_size=5), _values)


@given(
    st.sampled_from(["item", "renewed", "replayed", "device", "alarm", "people", "error", "x"]),
    st.one_of(st.floats(), st.integers(), st.none(), st.text(max_size=5)),
    st.dictionaries(
        st.sampled_from(
            [
                "kind",
                "outcome",
                "item_id",
                "title",
                "counts",
                "missing",
                "state",
                "device",
                "detail",
                "count",
                "offline",
                "gate",
                "patron_ref",
                "direction",
            ]
        ),
        _values,
    ),
)
@example(name="item", when=0.0, fields={"outcome": []})  # once a TypeError (unhashable)
# Issue 16, exactly as reported: hypothesis drew it by chance once, so it is pinned here.
@example(name="item", when=0.0, fields={"kind": None, "outcome": []})
@example(name="item", when=0.0, fields={"kind": [], "outcome": {}})
@example(name="replayed", when=0.0, fields={"kind": ["checkout"], "state": []})
@example(name="device", when=0.0, fields={"device": {}, "state": [], "detail": []})
def test_fuzzed_engine_events_map_or_drop(
    name: str, when: object, fields: dict[str, object]
) -> None:
    """Any engine event either maps to an encodable event or is dropped; nothing raises,
    and a field of the wrong type never reaches the fleet."""
    mapped = event_from_engine({**fields, "event": name, "time": when}, "k1", "S")
    if mapped is not None:
        assert encode(mapped[1])
        for key, value in mapped[1].data.items():
            assert type(value) in _FLEET_TYPES[key], (key, value)


# What each field of a fleet event may be (bool is not an int here: JSON tells them apart).
_FLEET_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(
        [
            "item_id",
            "outcome",
            "kind",
            "title",
            "due_date",
            "patron_ref",
            "txn",
            "gate",
            "direction",
            "reason",
            "destination",
            "state",
            "part",
            "role",
            "detail",
        ],
        (str,),
    ),
    "offline": (bool,),
    "success": (bool,),
    "counts": (dict,),
    "count": (int,),
    "parts": (int,),
    "missing": (list,),
}
