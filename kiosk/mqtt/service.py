"""The MQTT side of a daemon: outbox, link and bridge started together from the config.

`muontra kiosk` and `muontra gate` call :func:`start_mqtt` when their config
has an ``[mqtt]`` section: the engine's events go through the durable outbox
to the broker, and commands from central monitoring reach ``handle``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.config.model import DeviceConfig
from kiosk.engine.events import EventBus
from kiosk.mqtt.link import Bridge, CommandOutcome, LinkSettings, MqttLink, bridge
from kiosk.mqtt.outbox import Outbox
from kiosk.mqtt.site_trust import TrustedSenders
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
    link = MqttLink(
        settings,
        outbox,
        on_command=handle,
        on_site_event=on_site_event,
        site_event_kinds=site_event_kinds,
    )
    link.start()
    copier = bridge(bus, outbox, config.device.id, config.device.site, settings.prefix)
    log.info("MQTT link to %s:%s started", section.host, section.port)
    return MqttService(outbox, link, copier)


def kiosk_commands(
    engine: Any, reload: Callable[[], str | None] | None = None
) -> Callable[[Command], CommandOutcome]:
    """What central monitoring may ask of a kiosk: lock, unlock, a message, reload, empty a bin.

    ``reload`` checks the configuration file again and, when it is valid, has the
    daemon restart itself on it; it returns the problem when it is not.
    """

    def handle(command: Command) -> CommandOutcome:
        if command.name == "lock":
            engine.staff("out_of_service")
            return CommandOutcome(True, "out of service")
        if command.name == "unlock":
            engine.staff("in_service")
            return CommandOutcome(True, "in service")
        if command.name == "message":
            return _message(engine.bus, command)
        if command.name == "reload":
            return _reload(reload)
        if command.name == "empty_bin":
            number = command.args.get("bin")
            if not isinstance(number, int) or number < 1:
                return CommandOutcome(False, "empty_bin needs args.bin (a bin number from 1)")
            engine.bus.publish("bin_emptied", bin=number)
            return CommandOutcome(True, f"bin {number} marked empty")
        return CommandOutcome(False, f"{command.name} does not apply to a kiosk")

    return handle


def gate_commands(
    bus: EventBus, reload: Callable[[], str | None] | None = None
) -> Callable[[Command], CommandOutcome]:
    """A gate takes messages for its staff screen and reloads; the rest is for kiosks."""

    def handle(command: Command) -> CommandOutcome:
        if command.name == "message":
            return _message(bus, command)
        if command.name == "reload":
            return _reload(reload)
        return CommandOutcome(False, f"{command.name} does not apply to a gate")

    return handle


def _message(bus: EventBus, command: Command) -> CommandOutcome:
    text = command.args.get("text")
    if not isinstance(text, str) or not text:
        return CommandOutcome(False, "message needs args.text")
    bus.publish("staff_message", text=text[:500])
    return CommandOutcome(True, "shown")


def _reload(reload: Callable[[], str | None] | None) -> CommandOutcome:
    if reload is None:
        return CommandOutcome(False, "reload is not available here")
    problem = reload()
    return CommandOutcome(problem is None, problem or "reloading the configuration")


def kiosk_event_for_gate(kind: str, event: Event) -> dict[str, Any]:
    """A kiosk's fleet event as the gate controller's ``kiosk_event`` expects it."""
    return {"kind": kind, **dict(event.data)}
