"""Home Assistant MQTT discovery: every device of the fleet appears in a site's Home Assistant.

Central only announces (retained ``{discovery_prefix}/{component}/{node}/{object}/config``
messages). Home Assistant then reads the devices' own topics, so central does not relay
states: availability from the device's retained state (birth and will), health and
queue lengths from its telemetry, a gate's alarm from its ``events/alarm`` (on for
``ALARM_HOLD_S`` seconds after each, HA's ``off_delay``). The counters (today's
checkouts, people in and out, …) are central's, from its statistics: it publishes them
retained on :func:`counters_topic`, and whether a device has an open security alert
on :func:`security_topic` (a ``security`` binary sensor on every device: the alerts are
central's, after its rate limits and joins, so Home Assistant is not woken by every
wrong PIN, and it needs no read access to the devices' security events). The broker
lets Home Assistant's login read exactly those topics (config/mosquitto/muontra.acl,
``user homeassistant``); no alarm payload it can read names a patron.

When Home Assistant restarts it publishes ``online`` on ``{discovery_prefix}/status``;
central then announces every device it knows again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from typing import Any

import paho.mqtt.client as mqtt

from central.settings_ops import HomeAssistantSection
from protocols.mqtt import topics
from protocols.mqtt.topics import Channel

__all__ = [
    "ALARM_HOLD_S",
    "COUNTERS",
    "HomeAssistantLink",
    "counters_topic",
    "discovery",
    "node_id",
    "security_topic",
]

log = logging.getLogger(__name__)
ALARM_HOLD_S = 30
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_HEALTH = (
    "{{ 'ON' if (value_json.readers | default({})).values() "
    "| reject('in', ['ready', 'connecting']) | list | length > 0 else 'OFF' }}"
)


COUNTERS: dict[str, tuple[str, ...]] = {
    "gate": ("people_in", "people_out", "alarms"),
    "kiosk": ("checkouts", "checkins", "renewals", "failures"),
    "sorter": ("checkins", "failures"),
}
"""Today's counters per role, as central publishes them (:meth:`HomeAssistantLink.counters`)."""


def counters_topic(prefix: str, site: str, device: str) -> str:
    """Central's own retained topic of a device's counters for today (JSON, name -> int).

    Outside the devices' ``v1`` tree, so no device can write it (the ACL gives it to central).
    """
    topics.check_prefix(prefix)
    topics.check_level(site, "site")
    topics.check_level(device, "device")
    return f"{prefix}/central/{site}/{device}/counters"


def security_topic(prefix: str, site: str, device: str) -> str:
    """Central's own retained topic of a device's open security alerts:
    ``{"open": n, "threats": [...]}`` (threat codes only, never evidence)."""
    topics.check_prefix(prefix)
    topics.check_level(site, "site")
    topics.check_level(device, "device")
    return f"{prefix}/central/{site}/{device}/security"


def node_id(section: HomeAssistantSection, site: str, device: str) -> str:
    """HA's node id for a device: only ``[A-Za-z0-9_-]``; a hash keeps cleaned ids apart."""
    raw = f"{site}_{device}"
    clean = _UNSAFE.sub("_", raw)
    if clean != raw:
        clean += "_" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:6]
    return f"{_UNSAFE.sub('_', section.node_prefix)}_{clean}"


def discovery(
    section: HomeAssistantSection, prefix: str, site: str, device: str, role: str | None = None
) -> list[tuple[str, bytes]]:
    """The retained ``(topic, payload)`` discovery messages for one device.

    ``role`` ("gate", "kiosk", "sorter", or None when not yet known) adds the role's
    counters, a gate's alarm and a kiosk's offline queue.
    """
    node = node_id(section, site, device)
    base = topics.device_base(prefix, site, device)
    state = f"{base}/{Channel.STATE}"
    telemetry = f"{base}/{Channel.TELEMETRY}"
    common: dict[str, Any] = {
        "availability": [
            {
                "topic": state,
                "value_template": "{{ value_json.state }}",
                "payload_available": "online",
                "payload_not_available": "offline",
            }
        ],
        "device": {
            "identifiers": [node],
            "name": f"{device} ({site})",
            "manufacturer": "muontra",
            "model": role or "device",
            "suggested_area": site,
        },
    }
    entities: list[tuple[str, str, dict[str, Any]]] = [
        (
            "binary_sensor",
            "health",
            {
                "name": "Health problem",
                "device_class": "problem",
                "state_topic": telemetry,
                "value_template": _HEALTH,
                "expire_after": 300,
            },
        ),
        (
            "sensor",
            "outbox",
            {
                "name": "Outbox queue",
                "state_topic": telemetry,
                "value_template": "{{ value_json.queues.outbox | default(0) }}",
                "state_class": "measurement",
                "unit_of_measurement": "messages",
            },
        ),
        (
            "sensor",
            "uptime",
            {
                "name": "Uptime",
                "state_topic": telemetry,
                "value_template": "{{ value_json.uptime | int }}",
                "device_class": "duration",
                "unit_of_measurement": "s",
                "state_class": "measurement",
            },
        ),
        (
            "binary_sensor",
            "security",
            {
                "name": "Security alert",
                "device_class": "safety",
                "state_topic": security_topic(prefix, site, device),
                "value_template": "{{ 'ON' if value_json.open | default(0) > 0 else 'OFF' }}",
            },
        ),
    ]
    if role == "kiosk":
        entities.append(
            (
                "sensor",
                "offline_queue",
                {
                    "name": "Offline loans waiting",
                    "state_topic": telemetry,
                    "value_template": "{{ value_json.queues.offline | default(0) }}",
                    "state_class": "measurement",
                },
            )
        )
    if role == "gate":
        entities.append(
            (
                "binary_sensor",
                "alarm",
                {
                    "name": "Alarm",
                    "device_class": "safety",
                    "state_topic": f"{base}/{Channel.EVENTS}/alarm",
                    "value_template": "ON",
                    "off_delay": ALARM_HOLD_S,
                },
            )
        )
    for counter in COUNTERS.get(role or "", ()):
        entities.append(
            (
                "sensor",
                counter,
                {
                    "name": counter.replace("_", " ").capitalize() + " today",
                    "state_topic": counters_topic(prefix, site, device),
                    "value_template": "{{ value_json." + counter + " | default(0) }}",
                    "state_class": "total_increasing",
                },
            )
        )
    messages = []
    for component, name, config in entities:
        body = common | config | {"unique_id": f"{node}_{name}", "object_id": f"{node}_{name}"}
        topic = f"{section.discovery_prefix}/{component}/{node}/{name}/config"
        data = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        messages.append((topic, data.encode("utf-8")))
    return messages


class HomeAssistantLink:
    """Announce devices on a paho client logged in as central; again when HA comes back."""

    def __init__(self, client: mqtt.Client, section: HomeAssistantSection, prefix: str) -> None:
        self.client = client
        self.section = section
        self.prefix = topics.check_prefix(prefix)
        self._known: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()
        self.status_topic = f"{section.discovery_prefix}/status"
        client.message_callback_add(self.status_topic, self._on_status)

    def subscribe(self) -> None:
        """From the owner's on_connect: hear Home Assistant's restarts."""
        self.client.subscribe(self.status_topic, qos=1)

    def seen(self, site: str, device: str, role: str | None = None) -> bool:
        """Announce a device the first time (or when its role becomes known); True if sent."""
        with self._lock:
            if (site, device) in self._known and (
                self._known[(site, device)] == role or role is None
            ):
                return False
            self._known[(site, device)] = role
        self._announce(site, device, role)
        return True

    def announce_all(self) -> int:
        with self._lock:
            known = list(self._known.items())
        for (site, device), role in known:
            self._announce(site, device, role)
        return len(known)

    def _announce(self, site: str, device: str, role: str | None) -> None:
        for topic, payload in discovery(self.section, self.prefix, site, device, role):
            self.client.publish(topic, payload, qos=1, retain=True)

    def counters(self, site: str, device: str, counts: dict[str, int]) -> None:
        """Publish a device's counters for today (retained; only known counter names)."""
        known = set().union(*COUNTERS.values())
        clean = {
            k: v
            for k, v in counts.items()
            if k in known and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        }
        data = json.dumps(clean, sort_keys=True, separators=(",", ":")).encode("utf-8")
        self.client.publish(counters_topic(self.prefix, site, device), data, qos=1, retain=True)

    def security(self, site: str, device: str, threats: list[str]) -> None:
        """Publish a device's open security alerts (retained): their number and threats."""
        body = {"open": len(threats), "threats": sorted(threats)[:50]}
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
        self.client.publish(security_topic(self.prefix, site, device), data, qos=1, retain=True)

    def _on_status(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if bytes(message.payload).strip() == b"online":
            log.info("Home Assistant is online: announcing %d devices", self.announce_all())
