"""MQTT for the fleet, sans-IO: the topic schema and the JSON payloads.

The I/O shell (paho-mqtt, the durable outbox) lives in :mod:`engine.mqtt`; this
package only builds and checks strings and bytes, so it is tested exactly and
fuzzed without a broker.
"""

from protocols.mqtt.payloads import (
    Command,
    Envelope,
    Event,
    PayloadError,
    Result,
    State,
    Telemetry,
    decode,
    decode_command,
    decode_event,
    decode_for,
    decode_result,
    decode_state,
    decode_telemetry,
    encode,
    event_from_engine,
    iso_time,
    new_id,
)
from protocols.mqtt.sorter_schema import SORTER_EVENTS, SorterEvent
from protocols.mqtt.topics import (
    COMMAND_NAMES,
    EVENT_KINDS,
    Channel,
    Topic,
    TopicError,
    build_topic,
    commands_filter,
    device_base,
    events_filter,
    parse_topic,
    state_filter,
)

__all__ = [
    "COMMAND_NAMES",
    "EVENT_KINDS",
    "SORTER_EVENTS",
    "Channel",
    "Command",
    "Envelope",
    "Event",
    "PayloadError",
    "Result",
    "SorterEvent",
    "State",
    "Telemetry",
    "Topic",
    "TopicError",
    "build_topic",
    "commands_filter",
    "decode",
    "decode_command",
    "decode_event",
    "decode_for",
    "decode_result",
    "decode_state",
    "decode_telemetry",
    "device_base",
    "encode",
    "event_from_engine",
    "events_filter",
    "iso_time",
    "new_id",
    "parse_topic",
    "state_filter",
]
