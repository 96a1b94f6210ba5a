"""What a kiosk does with commands from central monitoring."""

from __future__ import annotations

from typing import Any

from kiosk.engine.events import EventBus
from kiosk.mqtt.service import gate_commands, kiosk_commands
from protocols.mqtt.payloads import Command, Envelope


class Engine:
    def __init__(self) -> None:
        self.bus = EventBus()
        self.actions: list[str] = []

    def staff(self, action: str) -> dict[str, Any]:
        self.actions.append(action)
        return {}


def command(name: str, **args: Any) -> Command:
    return Command(Envelope("c" * 32, "2026-11-25T21:00:00.000Z", "kiosk-01", "S"), name, args)


def test_lock_unlock_message_empty_bin() -> None:
    engine = Engine()
    handle = kiosk_commands(engine)
    assert handle(command("lock")).ok and handle(command("unlock")).ok
    assert engine.actions == ["out_of_service", "in_service"]
    assert handle(command("message", text="Thư viện đóng cửa lúc 17:00")).ok
    assert not handle(command("message")).ok
    assert handle(command("empty_bin", bin=2)).ok and not handle(command("empty_bin", bin=0)).ok
    names = [e["event"] for e in engine.bus.history()]
    assert names == ["staff_message", "bin_emptied"]


def test_reload_only_with_a_valid_configuration() -> None:
    outcomes = iter([None, "patron.pin_attempts: must be at most 10"])
    handle = kiosk_commands(Engine(), reload=lambda: next(outcomes))
    first, second = handle(command("reload")), handle(command("reload"))
    assert first.ok and not second.ok and "pin_attempts" in (second.detail or "")
    assert not kiosk_commands(Engine())(command("reload")).ok


def test_a_gate_takes_messages_and_reloads_only() -> None:
    bus = EventBus()
    reloads: list[str] = []
    handle = gate_commands(bus, reload=lambda: reloads.append("asked") or None)
    assert handle(command("message", text="hello")).ok
    assert not handle(command("lock")).ok and not handle(command("empty_bin", bin=1)).ok
    assert handle(command("reload")).ok and reloads == ["asked"]
    assert not gate_commands(bus)(command("reload")).ok
