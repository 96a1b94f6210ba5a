"""Messages as devices publish them, for central's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from protocols.mqtt import payloads
from protocols.mqtt.payloads import Envelope
from protocols.mqtt.topics import Channel, build_topic

PREFIX = "muontra"
SITE = "VN-HN0001"


def stamp(moment: datetime) -> str:
    return payloads.iso_time(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())


def event(
    kind: str, when: datetime, *, site: str = SITE, device: str = "kiosk-01", **data: Any
) -> tuple[str, bytes]:
    message = payloads.Event(Envelope(payloads.new_id(), stamp(when), device, site), kind, data)
    return build_topic(PREFIX, site, device, Channel.EVENTS, kind), payloads.encode(message)


def state(
    value: str, when: datetime, *, site: str = SITE, device: str = "kiosk-01"
) -> tuple[str, bytes]:
    message = payloads.State(
        Envelope(payloads.new_id(), stamp(when), device, site), value, stamp(when), "1.0"
    )
    return build_topic(PREFIX, site, device, Channel.STATE), payloads.encode(message)


def telemetry(
    when: datetime, *, site: str = SITE, device: str = "kiosk-01", queue: int = 0
) -> tuple[str, bytes]:
    message = payloads.Telemetry(
        Envelope(payloads.new_id(), stamp(when), device, site),
        12.5,
        {"pad": "ok"},
        {"outbox": queue},
        {"muontra": "1.0"},
    )
    return build_topic(PREFIX, site, device, Channel.TELEMETRY), payloads.encode(message)
