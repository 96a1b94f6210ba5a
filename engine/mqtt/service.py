"""The MQTT side of a daemon: outbox, link and bridge started together from the config.

`muontra kiosk`, `muontra gate` and `muontra sorter` call :func:`start_mqtt` when
their config has an ``[mqtt]`` section: the engine's events go through the durable
outbox to the broker, and commands from central monitoring reach ``handle``, the
role's :class:`~engine.mqtt.commands.CommandRouter`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from engine.config.model import DeviceConfig
from engine.events import EventBus
from engine.mqtt.link import Bridge, CommandOutcome, LinkSettings, MqttLink, bridge
from engine.mqtt.outbox import Outbox
from engine.mqtt.signed import refusal_reporter
from engine.mqtt.site_trust import TrustedSenders
from engine.security.links import LinkWatch
from engine.security.reporter import SecurityReporter
from protocols.mqtt.payloads import Command, Event

log = logging.getLogger(__name__)


@dataclass
class MqttService:
    outbox: Outbox
    link: MqttLink
    bridge: Bridge

    def stop(self) -> None:
        self.bridge.stop()
        self.link.stop()
        self.outbox.close()


def start_mqtt(
    config: DeviceConfig,
    bus: EventBus,
    handle: Callable[[Command], CommandOutcome] | None,
    on_site_event: Callable[[str, Event], None] | None = None,
    site_event_kinds: tuple[str, ...] = (),
) -> MqttService | None:
    section = config.mqtt
    if section is None:
        return None
    outbox = Outbox.open(config.device.data_dir / "outbox.sqlite")
    settings = LinkSettings.from_config(section, config.device)
    if on_site_event is not None:
        # Only the site's listed kiosks may open a grace window or report a failed write.
        trusted = config.gate.trusted_devices if config.gate is not None else []
        on_site_event = TrustedSenders(config.device.site, trusted, on_site_event)
    # The broker refusing us, or a certificate that does not verify, is a security event;
    # it waits in the outbox (through the bridge) until the broker takes us again.
    detection = config.detection
    watch = LinkWatch(
        SecurityReporter(bus, window=detection.report_window),
        mqtt_failures=detection.mqtt_login_failures,
    )
    link = MqttLink(
        settings,
        outbox,
        on_command=handle,
        on_site_event=on_site_event,
        site_event_kinds=site_event_kinds,
        on_refused=refusal_reporter(bus),
        on_trouble=watch.mqtt,
    )
    # The bridge first: what the link reports while it connects must reach the outbox.
    copier = bridge(bus, outbox, config.device.id, config.device.site, settings.prefix)
    link.start()
    log.info("MQTT link to %s:%s started", section.host, section.port)
    return MqttService(outbox, link, copier)
