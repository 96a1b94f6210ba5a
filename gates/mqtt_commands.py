"""The gate on the fleet: the commands it takes, and the site's kiosk events it listens to.

A gate takes a message for its staff screen and a reload; lock, unlock and
empty_bin are answered as not applying to a gate (see :mod:`engine.mqtt.commands`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.events import EventBus
from engine.mqtt.commands import CommandRouter, MessageCommand, ReloadCommand
from protocols.mqtt.payloads import Event


def gate_commands(bus: EventBus, reload: Callable[[], str | None] | None = None) -> CommandRouter:
    """The gate's command router (the link's ``on_command``)."""
    return (
        CommandRouter("gate")
        .register("message", MessageCommand(bus))
        .register("reload", ReloadCommand(reload))
    )


def kiosk_event_for_gate(kind: str, event: Event) -> dict[str, Any]:
    """A kiosk's fleet event as the gate controller's ``kiosk_event`` expects it."""
    return {"kind": kind, **dict(event.data)}
