"""Writing what the fleet says into the store: idempotent, batch by batch.

A batch is stored in one transaction. An event is inserted with ``ON CONFLICT
DO NOTHING`` on its id and ``RETURNING`` tells which ones were new; only those
add to the hourly counters, so a message delivered twice (QoS 1 after a
reconnect, or to two central processes) is stored and counted once. Birth, will
and telemetry update the device's row only when they are newer than what it
holds, so a late redelivery never turns an online device back offline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from central.models import Device, Event, utc_naive
from central.stats import StatKey, add_counts, hour_of, metrics_of
from protocols.mqtt import payloads
from protocols.mqtt.payloads import PayloadError
from protocols.mqtt.topics import Channel, Topic, TopicError, parse_topic

__all__ = ["Incoming", "Rejected", "StoreResult", "parse_message", "store_batch"]

log = logging.getLogger(__name__)

Incoming = payloads.State | payloads.Event | payloads.Telemetry
"""What central stores; commands and results are the staff side's (central/commands.py)."""


class Rejected(ValueError):
    """A message central will not store: off-schema topic or payload, or a mismatch."""


@dataclass
class StoreResult:
    events_new: list[payloads.Event] = field(default_factory=list)
    """Events stored by this batch (not those already there)."""
    duplicates: int = 0
    devices: int = 0
    heard: list[payloads.State | payloads.Telemetry] = field(default_factory=list)
    """The newest birth/will and telemetry of each device in the batch (for the alert rules)."""


def _clean(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters without NUL (PostgreSQL's text refuses it)."""
    return text.replace("\x00", "")[:most]


def _when(text: str) -> datetime:
    return datetime.fromtimestamp(payloads.epoch_of(text), UTC).replace(tzinfo=None)


def parse_message(topic: str, payload: bytes, prefix: str) -> Incoming:
    """The message of ``topic`` and ``payload``; :class:`Rejected` for anything central
    does not store. Every failure is a Rejected, never another exception (fuzzed)."""
    try:
        parsed: Topic = parse_topic(topic, prefix)
    except TopicError as error:
        raise Rejected(f"topic: {error}") from None
    if parsed.channel not in (Channel.STATE, Channel.EVENTS, Channel.TELEMETRY):
        raise Rejected(f"channel {parsed.channel} is not stored")
    try:
        message = payloads.decode_for(parsed.channel, parsed.name, bytes(payload))
    except PayloadError as error:
        raise Rejected(f"payload: {error}") from None
    assert isinstance(message, payloads.State | payloads.Event | payloads.Telemetry)
    envelope = message.envelope
    # A device may publish only about itself: the topic and the envelope must agree.
    if envelope.site != parsed.site or envelope.device != parsed.device:
        raise Rejected("payload's site/device differ from the topic's")
    return message


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _store_events(
    session: Session, events: Sequence[payloads.Event], now: datetime, result: StoreResult
) -> None:
    unique = {e.envelope.id: e for e in events}
    result.duplicates += len(events) - len(unique)
    if not unique:
        return
    insert = _insert(session)
    rows = []
    # Sorted ids: two processes inserting overlapping batches lock in one order.
    for event_id in sorted(unique):
        event = unique[event_id]
        env = event.envelope
        item = event.data.get("item_id")
        rows.append(
            {
                "id": env.id,
                "site": env.site,
                "device": env.device,
                "kind": event.kind,
                "time": _when(env.time),
                "received": now,
                "item_id": _clean(item, 200) if isinstance(item, str) else None,
                "data": dict(event.data),
            }
        )
    # One statement with the batch as parameters (executemany: SQLAlchemy sends it as a few
    # multi-row INSERTs and compiles it once, where .values(rows) compiled a new statement of
    # every batch's size: most of the store's time, bench/fleet.py); RETURNING names the new.
    statement = insert(Event).on_conflict_do_nothing(index_elements=["id"]).returning(Event.id)
    new = set(session.connection().execute(statement, rows).scalars())
    counts: dict[StatKey, int] = {}
    for event_id in sorted(unique):
        event = unique[event_id]
        if event_id not in new:
            result.duplicates += 1
            continue
        result.events_new.append(event)
        env = event.envelope
        for metric, key in metrics_of(event.kind, event.data):
            stat = StatKey(env.site, env.device, hour_of(_when(env.time)), metric, key)
            counts[stat] = counts.get(stat, 0) + 1
    add_counts(session, counts)


def _upsert_devices(session: Session, rows: list[dict[str, Any]], made: str) -> None:
    """Insert or update the devices of ``rows`` (one per device, in key order) where the
    row's ``made`` time is newer than the stored one."""
    if not rows:
        return
    insert = _insert(session)
    statement = insert(Device)
    columns = [c for c in rows[0] if c not in ("site", "device")]
    stored = getattr(Device, made)
    statement = statement.on_conflict_do_update(
        index_elements=["site", "device"],
        set_={c: statement.excluded[c] for c in columns},
        where=or_(stored.is_(None), stored <= statement.excluded[made]),
    )
    session.connection().execute(statement, rows)  # executemany, compiled once


def _newest(messages: list[Any]) -> list[Any]:
    """The newest message of each device, in (site, device) order."""
    newest: dict[tuple[str, str], Any] = {}
    for message in messages:
        env = message.envelope
        key = (env.site, env.device)
        held = newest.get(key)
        if held is None or payloads.epoch_of(held.envelope.time) <= payloads.epoch_of(env.time):
            newest[key] = message
    return [newest[key] for key in sorted(newest)]


def _state_row(state: payloads.State, now: datetime) -> dict[str, Any]:
    env = state.envelope
    return {
        "site": env.site,
        "device": env.device,
        "state": state.state,
        "state_since": _when(state.since),
        "state_time": _when(env.time),
        "version": _clean(state.version, 512),
        "last_seen": now,
    }


def _telemetry_row(telemetry: payloads.Telemetry, now: datetime) -> dict[str, Any]:
    env = telemetry.envelope
    return {
        "site": env.site,
        "device": env.device,
        "telemetry_time": _when(env.time),
        "uptime": float(telemetry.uptime),
        "readers": dict(telemetry.readers),
        "queues": dict(telemetry.queues),
        "versions": dict(telemetry.versions),
        "last_seen": now,
    }


def store_batch(
    session: Session, messages: Sequence[Incoming], clock: Callable[[], datetime]
) -> StoreResult:
    """Store ``messages`` in ``session``'s transaction (the caller commits)."""
    now = utc_naive(clock())
    result = StoreResult()
    events = [m for m in messages if isinstance(m, payloads.Event)]
    _store_events(session, events, now, result)
    # Only the newest birth/will and telemetry of each device in a batch matter; device
    # rows go last and in key order, for the same reason as the sorted event ids.
    states = _newest([m for m in messages if isinstance(m, payloads.State)])
    reports = _newest([m for m in messages if isinstance(m, payloads.Telemetry)])
    _upsert_devices(session, [_state_row(m, now) for m in states], "state_time")
    _upsert_devices(session, [_telemetry_row(m, now) for m in reports], "telemetry_time")
    result.devices = len(states) + len(reports)
    result.heard = [*states, *reports]
    return result
