"""What central monitoring may ask of a kiosk over MQTT: lock, unlock, a message, reload.

A kiosk has no bins, so ``empty_bin`` is not registered here and the router
answers it as such (see :mod:`engine.mqtt.commands`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.events import EventBus
from engine.mqtt.commands import CommandRouter, MessageCommand, ReloadCommand
from engine.mqtt.link import CommandOutcome
from protocols.mqtt.payloads import Command


class StaffActions(Protocol):
    """The part of the kiosk engine these commands use."""

    bus: EventBus

    def staff(self, action: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ServiceCommand:
    """``lock`` / ``unlock``: take the kiosk out of service (ending a session) or back in."""

    engine: StaffActions
    action: str
    detail: str

    def handle(self, command: Command) -> CommandOutcome:
        self.engine.staff(self.action)
        return CommandOutcome(True, self.detail)


def kiosk_commands(
    engine: StaffActions, reload: Callable[[], str | None] | None = None
) -> CommandRouter:
    """The kiosk's command router (the link's ``on_command``).

    ``reload`` checks the configuration file again and, when it is valid, has the
    daemon restart itself on it; it returns the problem when it is not.
    """
    return (
        CommandRouter("kiosk")
        .register("lock", ServiceCommand(engine, "out_of_service", "out of service"))
        .register("unlock", ServiceCommand(engine, "in_service", "in service"))
        .register("message", MessageCommand(engine.bus))
        .register("reload", ReloadCommand(reload))
    )
