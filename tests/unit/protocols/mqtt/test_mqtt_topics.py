"""The topic schema: exact strings, parsing, refusal of wildcards and extra levels."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.mqtt.topics import (
    Channel,
    Topic,
    TopicError,
    build_topic,
    commands_filter,
    events_filter,
    parse_topic,
    state_filter,
)


@pytest.mark.parametrize(
    ("channel", "name", "topic"),
    [
        ("state", None, "muontra/v1/VN-HN0001/kiosk-01/state"),
        ("telemetry", None, "muontra/v1/VN-HN0001/kiosk-01/telemetry"),
        ("events", "checkout", "muontra/v1/VN-HN0001/kiosk-01/events/checkout"),
        ("events", "alarm", "muontra/v1/VN-HN0001/kiosk-01/events/alarm"),
        ("commands", "empty_bin", "muontra/v1/VN-HN0001/kiosk-01/commands/empty_bin"),
        (
            "results",
            "0123456789abcdef0123456789abcdef",
            "muontra/v1/VN-HN0001/kiosk-01/results/0123456789abcdef0123456789abcdef",
        ),
    ],
)
def test_exact_topics(channel: str, name: str | None, topic: str) -> None:
    assert build_topic("muontra", "VN-HN0001", "kiosk-01", channel, name) == topic
    parsed = parse_topic(topic, "muontra")
    assert parsed == Topic("muontra", "VN-HN0001", "kiosk-01", Channel(channel), name)
    assert str(parsed) == topic


def test_prefix_of_several_levels() -> None:
    topic = build_topic("thuvien/hanoi", "VN-HN0001", "gate-02", "events", "people")
    assert topic == "thuvien/hanoi/v1/VN-HN0001/gate-02/events/people"
    assert parse_topic(topic, "thuvien/hanoi").device == "gate-02"


def test_filters() -> None:
    assert events_filter("muontra") == "muontra/v1/+/+/events/#"
    assert events_filter("muontra", "VN-HN0001") == "muontra/v1/VN-HN0001/+/events/#"
    assert state_filter("muontra", "S") == "muontra/v1/S/+/state"
    assert commands_filter("muontra", "S", "k1") == "muontra/v1/S/k1/commands/+"


@pytest.mark.parametrize(
    ("site", "device", "channel", "name"),
    [
        ("S/X", "k1", "state", None),
        ("S", "k+", "state", None),
        ("S", "#", "state", None),
        ("", "k1", "state", None),
        ("S", "k 1", "state", None),
        ("S", "k1", "events", "dance"),
        ("S", "k1", "events", None),
        ("S", "k1", "state", "extra"),
        ("S", "k1", "commands", "self_destruct"),
        ("S", "k1", "nowhere", None),
    ],
)
def test_bad_topics_refused(site: str, device: str, channel: str, name: str | None) -> None:
    with pytest.raises(TopicError):
        build_topic("muontra", site, device, channel, name)


@pytest.mark.parametrize(
    "topic",
    [
        "other/v1/S/k1/state",
        "muontra/v2/S/k1/state",
        "muontra/v1/S/k1",
        "muontra/v1/S/k1/events/checkout/more",
        "muontra/v1/S/k1/events/nope",
        "muontra/v1//k1/state",
    ],
)
def test_off_schema_topics_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(topic, "muontra")


_level = st.text(
    st.characters(blacklist_characters="/+#\x00", blacklist_categories=("Zs", "Cc", "Cs")),
    min_size=1,
    max_size=20,
).filter(lambda s: not any(c.isspace() for c in s))


@given(_level, _level, st.sampled_from(["checkout", "alarm", "people", "device"]))
def test_round_trip(site: str, device: str, kind: str) -> None:
    topic = build_topic("muontra", site, device, "events", kind)
    assert parse_topic(topic, "muontra") == Topic("muontra", site, device, Channel.EVENTS, kind)


@given(st.text(max_size=80))
def test_parse_fuzz(topic: str) -> None:
    try:
        parsed = parse_topic(topic, "muontra")
    except TopicError:
        return
    assert str(parsed) == topic
