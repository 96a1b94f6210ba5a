"""The versioned MQTT topic schema of a muontra fleet.

Every topic is ``{prefix}/v1/{site}/{device}/{channel}[/{name}]``. The version
sits right after the prefix so that a v2 schema can run beside v1 during a
fleet upgrade, and the site comes before the device so that a staff view can
subscribe to one library (``prefix/v1/VN-HN0001/+/events/#``) or to all of them.
The topic levels are checked here, once, so that a site or device id can never
smuggle a wildcard or an extra level into a topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocols.mqtt.security_schema import SECURITY_EVENT
from protocols.mqtt.sorter_schema import SorterEvent

__all__ = [
    "COMMAND_NAMES",
    "EVENT_KINDS",
    "SCHEMA",
    "Channel",
    "Topic",
    "TopicError",
    "build_topic",
    "check_level",
    "check_prefix",
    "commands_filter",
    "device_base",
    "events_filter",
    "parse_topic",
    "state_filter",
]

SCHEMA = "v1"
"""The topic schema's version level."""

EVENT_KINDS = frozenset(
    {"checkout", "checkin", "renew", "alarm", "people", "error", "device", SECURITY_EVENT}
    | set(SorterEvent)
)
"""What happened at a device, one topic each: ``.../events/{kind}``. The return machine's
kinds (:class:`~protocols.mqtt.sorter_schema.SorterEvent`) have closed field lists."""

COMMAND_NAMES = frozenset({"lock", "unlock", "message", "reload", "empty_bin"})
"""What central monitoring may ask a device to do: ``.../commands/{name}``."""

_MAX_LEVEL = 128


class TopicError(ValueError):
    """A topic, or a level of one, that does not fit the schema."""


class Channel(StrEnum):
    STATE = "state"
    """Retained online/offline state (birth and last will)."""
    EVENTS = "events"
    TELEMETRY = "telemetry"
    COMMANDS = "commands"
    RESULTS = "results"


# The channels that take a name level after them, and what names they accept
# (None: any valid level, e.g. the id of the command a result answers).
_NAMED: dict[Channel, frozenset[str] | None] = {
    Channel.EVENTS: EVENT_KINDS,
    Channel.COMMANDS: COMMAND_NAMES,
    Channel.RESULTS: None,
}


def check_level(value: str, what: str = "topic level") -> str:
    """``value`` if it is one clean topic level: not empty, no '/', '+', '#', NUL or spaces."""
    if not isinstance(value, str) or not value:
        raise TopicError(f"{what} is empty")
    if len(value) > _MAX_LEVEL:
        raise TopicError(f"{what} is longer than {_MAX_LEVEL} characters")
    if any(c in "/+#\x00" or c.isspace() for c in value):
        raise TopicError(f"{what} {value!r} holds '/', '+', '#', NUL or a space")
    return value


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is one or more clean levels (it may hold '/', e.g. 'thuvien/hanoi')."""
    if not isinstance(prefix, str) or not prefix:
        raise TopicError("topic prefix is empty")
    for level in prefix.split("/"):
        check_level(level, "topic prefix level")
    return prefix


@dataclass(frozen=True, slots=True)
class Topic:
    """One parsed topic of the schema."""

    prefix: str
    site: str
    device: str
    channel: Channel
    name: str | None = None

    def __str__(self) -> str:
        return build_topic(self.prefix, self.site, self.device, self.channel, self.name)


def device_base(prefix: str, site: str, device: str) -> str:
    """``{prefix}/v1/{site}/{device}``: the root under which a device publishes."""
    check_prefix(prefix)
    check_level(site, "site")
    check_level(device, "device")
    return f"{prefix}/{SCHEMA}/{site}/{device}"


def build_topic(
    prefix: str, site: str, device: str, channel: Channel | str, name: str | None = None
) -> str:
    """The topic of ``channel`` (and ``name``, for events, commands and results)."""
    try:
        chan = Channel(channel)
    except ValueError:
        raise TopicError(f"unknown channel {channel!r}") from None
    base = device_base(prefix, site, device)
    if chan not in _NAMED:
        if name is not None:
            raise TopicError(f"channel {chan} takes no name")
        return f"{base}/{chan}"
    if name is None:
        raise TopicError(f"channel {chan} needs a name")
    check_level(name, f"{chan} name")
    allowed = _NAMED[chan]
    if allowed is not None and name not in allowed:
        raise TopicError(f"unknown {chan} name {name!r}")
    return f"{base}/{chan}/{name}"


def parse_topic(topic: str, prefix: str) -> Topic:
    """Split ``topic`` into its parts; :class:`TopicError` for anything off-schema."""
    check_prefix(prefix)
    if not isinstance(topic, str):
        raise TopicError("topic is not text")
    head = f"{prefix}/{SCHEMA}/"
    if not topic.startswith(head):
        raise TopicError(f"topic is not under {head!r}")
    levels = topic[len(head) :].split("/")
    if len(levels) not in (3, 4):
        raise TopicError("topic has the wrong number of levels")
    site, device, channel = levels[:3]
    name = levels[3] if len(levels) == 4 else None
    check_level(site, "site")
    check_level(device, "device")
    try:
        chan = Channel(channel)
    except ValueError:
        raise TopicError(f"unknown channel {channel!r}") from None
    # Rebuilding validates the name against the channel in one place.
    build_topic(prefix, site, device, chan, name)
    return Topic(prefix, site, device, chan, name)


def _filter_level(value: str | None, what: str) -> str:
    return "+" if value is None else check_level(value, what)


def events_filter(prefix: str, site: str | None = None, device: str | None = None) -> str:
    """Subscription filter for every event of a site (or all sites) and device (or all)."""
    check_prefix(prefix)
    return (
        f"{prefix}/{SCHEMA}/{_filter_level(site, 'site')}/"
        f"{_filter_level(device, 'device')}/{Channel.EVENTS}/#"
    )


def state_filter(prefix: str, site: str | None = None, device: str | None = None) -> str:
    """Subscription filter for the retained states of a site's (or every site's) devices."""
    check_prefix(prefix)
    return (
        f"{prefix}/{SCHEMA}/{_filter_level(site, 'site')}/"
        f"{_filter_level(device, 'device')}/{Channel.STATE}"
    )


def commands_filter(prefix: str, site: str, device: str) -> str:
    """What a device subscribes to: every command addressed to it."""
    return f"{device_base(prefix, site, device)}/{Channel.COMMANDS}/+"
