"""Hostile input at central's door: whatever arrives on whatever topic is either a message
to store or a :class:`Rejected`, and storing what passes never fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db import make_engine, migrate
from central.models import Event
from central.store import Rejected, parse_message, store_batch
from tests.central.helpers import PREFIX, event

TOPICS = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda site, device, tail: f"{PREFIX}/v1/{site}/{device}/{tail}",
        st.sampled_from(["VN-HN0001", "+", "#", "", "a b"]),
        st.sampled_from(["kiosk-01", "gate-01", "x"]),
        st.sampled_from(
            [
                "events/checkout",
                "events/alarm",
                "events/nope",
                "state",
                "telemetry",
                "commands/lock",
                "results/abc",
                "events",
                "state/x",
            ]
        ),
    ),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _valid_base() -> dict[str, object]:
    _topic, payload = event("checkout", datetime(2026, 11, 25, 8, tzinfo=UTC), success=True)
    return dict(json.loads(payload))


def _outcome(topic: str, payload: bytes) -> object:
    try:
        return parse_message(topic, payload, PREFIX)
    except Rejected:
        return None


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(TOPICS, st.binary(max_size=300))
@example("muontra/v1/VN-HN0001/kiosk-01/events/checkout", b"\xff\xfe")
@example("muontra/v1/VN-HN0001/kiosk-01/events/checkout", b"[" * 5000)
def test_any_bytes_on_any_topic_are_a_message_or_rejected(topic: str, payload: bytes) -> None:
    _outcome(topic, payload)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=12), JSON, max_size=6), st.data())
def test_mutated_valid_payloads_store_or_are_rejected(
    extra: dict[str, object], data: st.DataObject
) -> None:
    body = _valid_base()
    for key in data.draw(st.lists(st.sampled_from(sorted(body)), max_size=3)):
        body[key] = data.draw(JSON)
    body.update(extra)
    payload = json.dumps(body).encode()
    message = _outcome("muontra/v1/VN-HN0001/kiosk-01/events/checkout", payload)
    if message is None:
        return
    # What passes the door must store: in a fresh SQLite database each time.
    engine = make_engine("sqlite://")
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            store_batch(session, [message], lambda: datetime.now(UTC))  # type: ignore[list-item]
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Event)) == 1
    finally:
        engine.dispose()


def test_a_payload_naming_another_device_than_its_topic_is_rejected() -> None:
    topic, payload = event("alarm", datetime(2026, 11, 25, tzinfo=UTC), device="gate-01")
    try:
        parse_message(topic.replace("gate-01", "gate-02"), payload, PREFIX)
    except Rejected as error:
        assert "differ" in str(error)
    else:
        raise AssertionError("a payload about another device was accepted")


def test_commands_are_not_stored_by_ingest(tmp_path: Path) -> None:
    try:
        parse_message("muontra/v1/VN-HN0001/kiosk-01/commands/lock", b"{}", PREFIX)
    except Rejected as error:
        assert "not stored" in str(error)
    else:
        raise AssertionError("a command was accepted for storing")
