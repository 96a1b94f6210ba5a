"""JSON payloads of the fleet's MQTT messages: encode, decode, validate.

Every payload is a JSON object with the same envelope, ``{"v": 1, "id", "time",
"device", "site"}``, and the fields of its kind at the top level. ``id`` is a
uuid4 in hex: QoS 1 delivers at least once, so a consumer drops an id it has
already seen. ``time`` is when it happened (ISO 8601, UTC, "Z"), not when it
was sent: an event may wait in a device's outbox through a network outage.

Decoding is fuzz-safe: any input either decodes to a value or raises
:class:`PayloadError` (a ValueError), never anything else.

:func:`event_from_engine` is the privacy gate between the engine and the fleet:
it copies an allow-list of fields, so a field added to an engine event later
(a patron id, a name, a PIN) cannot leak onto the network by accident.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from protocols.mqtt.security_schema import SECURITY_EVENT, SECURITY_FIELDS
from protocols.mqtt.sorter_schema import (
    CODE,
    MAX_LEVEL,
    MAX_TEXT,
    SORTER_EVENTS,
    FieldKind,
    FieldSpec,
)
from protocols.mqtt.topics import COMMAND_NAMES, EVENT_KINDS, Channel, TopicError, check_level

__all__ = [
    "MAX_PAYLOAD",
    "VERSION",
    "Command",
    "Envelope",
    "Event",
    "PayloadError",
    "Result",
    "State",
    "Telemetry",
    "as_dict",
    "decode",
    "decode_command",
    "decode_event",
    "decode_for",
    "decode_result",
    "decode_state",
    "decode_telemetry",
    "encode",
    "epoch_of",
    "event_from_engine",
    "iso_time",
    "new_id",
]

VERSION: Final = 1
"""The payload schema version carried in every payload as ``"v"``."""

MAX_PAYLOAD: Final = 64 * 1024
"""Bytes; larger payloads are refused (a device event is a few hundred)."""

_MAX_DEPTH = 6
_MAX_TEXT = 512
_MAX_LEVEL_SHOWN = 40  # of an unknown name quoted in an error: enough to recognise it
_ID = re.compile(r"[0-9a-f]{32}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_ENVELOPE = frozenset({"v", "id", "time", "device", "site"})
CLOSED_EVENTS: Final[Mapping[str, Mapping[str, FieldSpec]]] = {
    **SORTER_EVENTS,
    SECURITY_EVENT: SECURITY_FIELDS,
}
"""Event kinds whose fields are a closed list: the sorter's and ``security``."""
STATES = frozenset({"online", "offline"})

Json = Any
"""A JSON value as :func:`json.loads` returns it."""


class PayloadError(ValueError):
    """A payload that is not valid JSON of the schema (or a value that cannot be encoded)."""


def new_id() -> str:
    """A fresh message id: a uuid4 in hex."""
    return uuid.uuid4().hex


def iso_time(epoch: float) -> str:
    """``epoch`` seconds as the schema's time: ISO 8601, UTC, milliseconds, "Z"."""
    try:
        moment = datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise PayloadError(f"time out of range: {epoch!r}") from error
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_of(time: str) -> float:
    """The epoch seconds of a schema time (``2026-11-25T08:30:00.250Z``); PayloadError if off."""
    _check_time(time, "time")
    return datetime.fromisoformat(time).replace(tzinfo=UTC).timestamp()


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every payload carries: who sent it, when it happened, its id for dedupe."""

    id: str
    time: str
    device: str
    site: str

    def __post_init__(self) -> None:
        _check_id(self.id, "id")
        _check_time(self.time, "time")
        _check_level(self.device, "device")
        _check_level(self.site, "site")


@dataclass(frozen=True, slots=True)
class State:
    """A device's retained online/offline state (birth message and last will)."""

    envelope: Envelope
    state: str
    since: str
    version: str

    def __post_init__(self) -> None:
        _check_name(self.state, STATES, "state")
        _check_time(self.since, "since")
        _check_text(self.version, "version")


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at a device; ``data`` holds the kind's fields."""

    envelope: Envelope
    kind: str
    data: Mapping[str, Json] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_name(self.kind, EVENT_KINDS, "event kind")
        _check_fields(self.data, _ENVELOPE | {"event"})
        schema = CLOSED_EVENTS.get(self.kind)
        if schema is not None:
            _check_schema(self.kind, self.data, schema)


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A device's periodic health report."""

    envelope: Envelope
    uptime: float
    readers: Mapping[str, str] = field(default_factory=dict)
    queues: Mapping[str, int] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _is_number(self.uptime) or self.uptime < 0:
            raise PayloadError("uptime must be a number of seconds >= 0")
        _check_map(self.readers, str, "readers")
        _check_map(self.queues, int, "queues")
        _check_map(self.versions, str, "versions")


@dataclass(frozen=True, slots=True)
class Command:
    """A request from central monitoring to one device (envelope: the target device)."""

    envelope: Envelope
    name: str
    args: Mapping[str, Json] = field(default_factory=dict)
    expires: str | None = None
    """Signed commands only: after this time the command is void (protocols.mqtt.signing)."""
    sig: str | None = None
    """Signed commands only: HMAC-SHA256 under the site's command key, in hex."""

    def __post_init__(self) -> None:
        _check_name(self.name, COMMAND_NAMES, "command")
        if not isinstance(self.args, Mapping):
            raise PayloadError("args must be an object")
        _check_fields(self.args, frozenset())
        if self.expires is not None:
            _check_time(self.expires, "expires")
        if self.sig is not None:
            # Any short text decodes, so that a forged signature is answered as such
            # (and reported) instead of vanishing as a malformed payload.
            _check_text(self.sig, "sig")


@dataclass(frozen=True, slots=True)
class Result:
    """A device's answer to a command, published under ``results/{command_id}``."""

    envelope: Envelope
    command_id: str
    command: str
    ok: bool
    detail: str | None = None
    reason: str | None = None
    """Why a command was refused, as a code (``unsigned``, ``expired``, …); None otherwise."""

    def __post_init__(self) -> None:
        _check_id(self.command_id, "command_id")
        _check_name(self.command, COMMAND_NAMES, "command")
        if not isinstance(self.ok, bool):
            raise PayloadError("ok must be true or false")
        if self.detail is not None:
            _check_text(self.detail, "detail")
        if self.reason is not None and (
            not isinstance(self.reason, str) or not CODE.fullmatch(self.reason)
        ):
            raise PayloadError("reason must be a lower-case code")


Message = State | Event | Telemetry | Command | Result


# --- checks -----------------------------------------------------------------------------------


def _check_id(value: object, what: str) -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise PayloadError(f"{what} must be 32 lower-case hex digits")


def _check_name(value: object, names: frozenset[str], what: str) -> None:
    # The type first: a JSON list or object in a name field is unhashable, and
    # `in` on a frozenset would raise TypeError instead of the declared PayloadError.
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be text, one of {sorted(names)}")
    if value not in names:
        raise PayloadError(f"unknown {what} {value[:_MAX_LEVEL_SHOWN]!r}")


def _check_time(value: object, what: str) -> None:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise PayloadError(f"{what} must be an ISO 8601 UTC time ending in Z")
    try:
        datetime.fromisoformat(value)
    except ValueError as error:
        raise PayloadError(f"{what} is not a real date and time") from error


def _check_level(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be text")
    try:
        check_level(value, what)
    except TopicError as error:
        raise PayloadError(str(error)) from None


def _check_text(value: object, what: str) -> None:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise PayloadError(f"{what} must be text of at most {_MAX_TEXT} characters")


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_map(value: object, kind: type, what: str) -> None:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{what} must be an object")
    for key, item in value.items():
        if not isinstance(key, str) or isinstance(item, bool) or not isinstance(item, kind):
            raise PayloadError(f"{what} must map names to {kind.__name__}")


def _check_json(value: object, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise PayloadError("payload nested too deeply")
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int | float):
        if not _is_number(value):
            raise PayloadError("numbers must be finite")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_json(item, depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PayloadError("object keys must be text")
            _check_json(item, depth + 1)
        return
    raise PayloadError(f"{type(value).__name__} is not a JSON value")


def _field_problem(spec: FieldSpec, value: object) -> str | None:
    """What is wrong with ``value`` for a field of ``spec``; None when it is right."""
    kind = spec.kind
    if kind is FieldKind.FLAG:
        return None if isinstance(value, bool) else "must be true or false"
    if kind in (FieldKind.COUNT, FieldKind.SECONDS):
        whole = kind is FieldKind.COUNT
        if not _is_number(value) or (whole and not isinstance(value, int)) or value < 0:  # type: ignore[operator]
            return "must be a whole number >= 0" if whole else "must be a number >= 0"
        return None
    if not isinstance(value, str):
        return "must be text"
    if kind is FieldKind.CODE:
        return None if CODE.fullmatch(value) else "must be a lower-case code"
    if kind is FieldKind.LEVEL:
        if not value or len(value) > MAX_LEVEL or not value.isprintable():
            return f"must be 1 to {MAX_LEVEL} printable characters"
        return None
    return None if len(value) <= MAX_TEXT else f"must be at most {MAX_TEXT} characters"


def _check_schema(kind: str, data: Mapping[str, Json], schema: Mapping[str, FieldSpec]) -> None:
    """``data`` holds exactly the fields of a closed event ``kind``, each of its type."""
    extra = set(data) - set(schema)
    if extra:
        raise PayloadError(f"{kind} has unknown fields: {sorted(extra)[:5]}")
    for name, spec in schema.items():
        if name not in data:
            if spec.required:
                raise PayloadError(f"{kind} needs {name}")
            continue
        problem = _field_problem(spec, data[name])
        if problem is not None:
            raise PayloadError(f"{kind}.{name} {problem}")


def _check_fields(data: object, reserved: frozenset[str]) -> None:
    if not isinstance(data, Mapping):
        raise PayloadError("fields must be an object")
    clash = reserved.intersection(data)
    if clash:
        raise PayloadError(f"reserved field names: {sorted(clash)}")
    _check_json(data)


# --- encoding ---------------------------------------------------------------------------------


def _envelope_dict(envelope: Envelope) -> dict[str, Json]:
    return {
        "v": VERSION,
        "id": envelope.id,
        "time": envelope.time,
        "device": envelope.device,
        "site": envelope.site,
    }


def as_dict(message: Message) -> dict[str, Json]:
    """The JSON object of ``message`` (what :func:`encode` serialises)."""
    body = _envelope_dict(message.envelope)
    if isinstance(message, State):
        body |= {"state": message.state, "since": message.since, "version": message.version}
    elif isinstance(message, Event):
        body |= {"event": message.kind, **message.data}
    elif isinstance(message, Telemetry):
        body |= {
            "uptime": message.uptime,
            "readers": dict(message.readers),
            "queues": dict(message.queues),
            "versions": dict(message.versions),
        }
    elif isinstance(message, Command):
        body |= {"command": message.name, "args": dict(message.args)}
        # Only a signed command carries these: an unsigned one keeps its old bytes.
        if message.expires is not None:
            body["expires"] = message.expires
        if message.sig is not None:
            body["sig"] = message.sig
    elif isinstance(message, Result):
        body |= {
            "command": message.command,
            "command_id": message.command_id,
            "ok": message.ok,
            "detail": message.detail,
        }
        if message.reason is not None:
            body["reason"] = message.reason
    else:  # pragma: no cover - the union is closed
        raise PayloadError(f"not a message: {type(message).__name__}")
    return body


def encode(message: Message) -> bytes:
    """UTF-8 JSON, keys sorted and no spaces: the same message always gives the same bytes."""
    data = json.dumps(
        as_dict(message), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")
    if len(data) > MAX_PAYLOAD:
        raise PayloadError(f"payload of {len(data)} bytes is over {MAX_PAYLOAD}")
    return data


# --- decoding ---------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise PayloadError(f"{name} is not allowed in a payload")


def decode(data: bytes) -> dict[str, Json]:
    """The checked JSON object and envelope of ``data``; use a ``decode_*`` for its kind."""
    if not isinstance(data, bytes | bytearray):
        raise PayloadError("payload must be bytes")
    if len(data) > MAX_PAYLOAD:
        raise PayloadError(f"payload of {len(data)} bytes is over {MAX_PAYLOAD}")
    try:
        value = json.loads(bytes(data).decode("utf-8"), parse_constant=_reject_constant)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as error:
        raise PayloadError(f"not JSON: {type(error).__name__}") from None
    if not isinstance(value, dict):
        raise PayloadError("payload must be a JSON object")
    version = value.get("v")
    if isinstance(version, bool) or version != VERSION:
        raise PayloadError(f"unsupported payload version {version!r}")
    _check_json(value)
    return value


def _envelope(value: Mapping[str, Json]) -> Envelope:
    return Envelope(value.get("id"), value.get("time"), value.get("device"), value.get("site"))  # type: ignore[arg-type]


def _only(value: Mapping[str, Json], fields: frozenset[str]) -> None:
    extra = set(value) - _ENVELOPE - fields
    if extra:
        raise PayloadError(f"unknown fields: {sorted(extra)}")


def decode_state(data: bytes) -> State:
    value = decode(data)
    _only(value, frozenset({"state", "since", "version"}))
    return State(_envelope(value), value.get("state"), value.get("since"), value.get("version"))  # type: ignore[arg-type]


def decode_event(data: bytes, kind: str | None = None) -> Event:
    """An event; with ``kind`` (from the topic) the payload must agree with it."""
    value = decode(data)
    name = value.get("event")
    if kind is not None and name != kind:
        raise PayloadError("event kind differs from the topic")
    rest = {k: v for k, v in value.items() if k not in _ENVELOPE and k != "event"}
    return Event(_envelope(value), name, rest)  # type: ignore[arg-type]


def decode_telemetry(data: bytes) -> Telemetry:
    value = decode(data)
    _only(value, frozenset({"uptime", "readers", "queues", "versions"}))
    return Telemetry(
        _envelope(value),
        value.get("uptime"),  # type: ignore[arg-type]
        value.get("readers", {}),
        value.get("queues", {}),
        value.get("versions", {}),
    )


def decode_command(data: bytes, name: str | None = None) -> Command:
    """A command; with ``name`` (from the topic) the payload must agree with it."""
    value = decode(data)
    _only(value, frozenset({"command", "args", "expires", "sig"}))
    command = value.get("command")
    if name is not None and command != name:
        raise PayloadError("command name differs from the topic")
    return Command(
        _envelope(value),
        command,  # type: ignore[arg-type]
        value.get("args", {}),
        value.get("expires"),
        value.get("sig"),
    )


def decode_result(data: bytes) -> Result:
    value = decode(data)
    _only(value, frozenset({"command", "command_id", "ok", "detail", "reason"}))
    return Result(
        _envelope(value),
        value.get("command_id"),  # type: ignore[arg-type]
        value.get("command"),  # type: ignore[arg-type]
        value.get("ok"),  # type: ignore[arg-type]
        value.get("detail"),
        value.get("reason"),
    )


def decode_for(channel: Channel | str, name: str | None, data: bytes) -> Message:
    """The message on ``channel`` (and topic ``name``), e.g. from :func:`parse_topic`."""
    chan = Channel(channel)
    if chan is Channel.STATE:
        return decode_state(data)
    if chan is Channel.EVENTS:
        return decode_event(data, name)
    if chan is Channel.TELEMETRY:
        return decode_telemetry(data)
    if chan is Channel.COMMANDS:
        return decode_command(data, name)
    return decode_result(data)


# --- the engine's events, made safe for the fleet ----------------------------------------------

# Field -> the JSON types it may have. Nothing else is ever copied from an engine event.
_ALLOWED: dict[str, tuple[type, ...]] = {
    "item_id": (str,),
    "outcome": (str,),
    "kind": (str,),
    "title": (str,),
    "due_date": (str,),
    "offline": (bool,),
    "success": (bool,),
    "patron_ref": (str,),
    "txn": (str,),
    "gate": (str,),
    "direction": (str,),
    "reason": (str,),
    "counts": (dict,),
    "count": (int,),
    "parts": (int,),
    "missing": (list,),
    "destination": (str,),
    "state": (str,),
    "part": (str,),
    "role": (str,),
}
# Free text that only device and error events may carry (a driver's error, never the ILS's).
_DETAIL_KINDS = frozenset({"device", "error"})
_ITEM_ERRORS = frozenset({"tag_unreadable", "unknown_model", "foreign_item"})
_MAX_COPIED_TEXT = 200
# Events that name an item's tags: central joins an item id seen with two UIDs across
# devices (a cloned tag). A tag UID names a tag, never a patron; a card's UID travels
# as ``card_uid``, which is not copied.
_UID_KINDS = frozenset({"checkout", "checkin", "alarm"})
_TAG_UID = re.compile(r"[0-9A-Fa-f]{8,32}")
_MAX_UIDS = 16


def _tag_uids(event: Mapping[str, Any]) -> dict[str, Json]:
    """``uid`` and ``uids`` of an item event, upper-case hex (the gate writes upper, the
    kiosk's results lower: one spelling for the fleet); anything else is dropped."""
    data: dict[str, Json] = {}
    uid = event.get("uid")
    if isinstance(uid, str) and _TAG_UID.fullmatch(uid):
        data["uid"] = uid.upper()
    uids = event.get("uids")
    if isinstance(uids, list | tuple):
        clean = [
            u.upper() for u in uids[:_MAX_UIDS] if isinstance(u, str) and _TAG_UID.fullmatch(u)
        ]
        if clean:
            data["uids"] = clean
    return data


def _safe(value: Json) -> Json | None:
    """``value`` if it is a small JSON value of scalars; None drops it."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value[:_MAX_COPIED_TEXT]
    if _is_number(value):
        return value
    if isinstance(value, list | tuple):
        items = [_safe(item) for item in value[:64] if not isinstance(item, list | dict)]
        return [item for item in items if item is not None]
    if isinstance(value, Mapping):
        return {
            str(k)[:64]: v
            for k, v in list(value.items())[:64]
            if isinstance(k, str) and (_is_number(v) or isinstance(v, str | bool))
        }
    return None


def _copy(event: Mapping[str, Any], kind: str, renamed: Mapping[str, str]) -> dict[str, Json]:
    data: dict[str, Json] = {}
    for source, value in event.items():
        name = renamed.get(source, source)
        if name == "detail" and kind in _DETAIL_KINDS and isinstance(value, str):
            data["detail"] = value[:_MAX_COPIED_TEXT]
            continue
        types = _ALLOWED.get(name)
        if types is None or isinstance(value, bool) != (bool in types):
            continue
        if isinstance(value, types) and value is not None:
            safe = _safe(value)
            if safe is not None:
                data[name] = safe
    return data


def event_from_engine(
    event: Mapping[str, Any], device: str, site: str, *, id: str | None = None
) -> tuple[str, Event] | None:
    """The fleet event for an engine event, as ``("events/{kind}", Event)``; None to drop it.

    Only finished work and alarms go to the fleet: an item still "processing",
    session steps and screen prompts stay on the device. Patron identifiers,
    PINs and names are dropped because only allow-listed fields are copied
    (``patron_ref``, a short keyed hash, is the one patron field allowed).
    """
    if not isinstance(event, Mapping):
        return None
    name = event.get("event")
    when = event.get("time")
    if not isinstance(name, str) or not isinstance(when, int | float) or not _is_number(when):
        return None
    renamed: dict[str, str] = {}
    extra: dict[str, Json] = {}
    kind: str
    if name == "item":
        outcome = event.get("outcome")
        item_kind = event.get("kind")
        if outcome == "processing":
            return None
        if item_kind in ("checkout", "checkin"):
            kind = item_kind
        elif isinstance(outcome, str) and outcome in _ITEM_ERRORS:  # a list is not hashable
            kind, extra = "error", {"reason": outcome}
        else:
            return None
    elif name == "renewed":
        kind, extra = "renew", {"kind": "renew"}
    elif name == "replayed":
        if event.get("kind") not in ("checkout", "checkin"):
            return None
        kind = event["kind"]
        renamed = {"state": "_state"}  # the journal state becomes the outcome below
        replayed = event.get("state") == "replayed"
        extra = {"outcome": "replayed" if replayed else "replay_conflict", "offline": True}
    elif name == "device":
        kind, renamed = "device", {"device": "part"}
    elif name == "ready":
        kind, extra = "device", {"part": "engine", "state": "ready"}
        renamed = {"device": "_device"}
    elif name in ("alarm", "people", "error"):
        kind = name
    elif name in CLOSED_EVENTS:
        return _closed_event(event, name, float(when), device, site, id=id)
    else:
        return None
    data = _copy(event, kind, renamed) | extra
    if kind in _UID_KINDS:
        data |= _tag_uids(event)
    try:
        envelope = Envelope(id or new_id(), iso_time(float(when)), device, site)
        return f"{Channel.EVENTS}/{kind}", Event(envelope, kind, data)
    except PayloadError:
        return None  # a time out of range, or a value no fleet consumer could read


def _closed_event(
    event: Mapping[str, Any], kind: str, when: float, device: str, site: str, *, id: str | None
) -> tuple[str, Event] | None:
    """A closed-schema event: its listed fields only (text cut to length); None if one is wrong.

    Devices publish these on their bus under the fleet kind's own name
    (``bus.publish("bin_emptied", bin="2", count=31, staff="Lan")``,
    ``bus.publish("security", threat="case_opened", severity="critical", part="case")``).
    """
    schema = CLOSED_EVENTS[kind]
    data: dict[str, Json] = {}
    for name, spec in schema.items():
        value = event.get(name)
        if value is None:
            continue
        if spec.kind is FieldKind.TEXT and isinstance(value, str):
            value = value[:MAX_TEXT]
        data[name] = value
    try:
        envelope = Envelope(id or new_id(), iso_time(when), device, site)
        return f"{Channel.EVENTS}/{kind}", Event(envelope, kind, data)
    except PayloadError:
        return None  # a wrong type, a missing bin: no consumer could read it
