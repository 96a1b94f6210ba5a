"""Commands from central monitoring: each role's router, and emptying a bin for real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.events import EventBus
from engine.mqtt.commands import (
    NO_BINS,
    CommandRouter,
    EmptiedBin,
    EmptyBinCommand,
    MessageCommand,
    UnknownBin,
)
from gates.mqtt_commands import gate_commands
from kiosk.mqtt_commands import kiosk_commands
from protocols.mqtt.payloads import Command, Envelope


class Engine:
    def __init__(self) -> None:
        self.bus = EventBus()
        self.actions: list[str] = []

    def staff(self, action: str) -> dict[str, Any]:
        self.actions.append(action)
        return {}


class Machine:
    """Stands in for the sorter: bins "1" and "X" holding a few items each."""

    def __init__(self) -> None:
        self.counts = {"1": 3, "X": 1}
        self.calls: list[tuple[str, str | None]] = []

    def empty_bin(self, bin_id: str, staff: str | None) -> EmptiedBin:
        if bin_id not in self.counts:
            raise UnknownBin(bin_id)
        self.calls.append((bin_id, staff))
        items, self.counts[bin_id] = self.counts[bin_id], 0
        return EmptiedBin(bin_id, items, Path(f"/data/bins/bin-{bin_id}.csv"), printed=True)


def command(name: str, **args: Any) -> Command:
    return Command(Envelope("c" * 32, "2026-11-25T21:00:00.000Z", "kiosk-01", "S"), name, args)


def test_kiosk_lock_unlock_message() -> None:
    engine = Engine()
    handle = kiosk_commands(engine)
    assert handle(command("lock")).ok and handle(command("unlock")).ok
    assert engine.actions == ["out_of_service", "in_service"]
    assert handle(command("message", text="Thư viện đóng cửa lúc 17:00")).ok
    assert not handle(command("message")).ok
    assert [e["event"] for e in engine.bus.history()] == ["staff_message"]


@pytest.mark.parametrize(
    "make", [lambda: kiosk_commands(Engine()), lambda: gate_commands(EventBus())]
)
def test_a_device_without_bins_says_so_and_does_nothing(make: Any) -> None:
    router = make()
    outcome = router(command("empty_bin", bin=2))
    assert not outcome.ok
    assert outcome.detail is not None and outcome.detail.startswith(NO_BINS)
    assert router.role in outcome.detail


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
    lock = handle(command("lock"))
    assert not lock.ok and lock.detail == "lock does not apply to a gate"
    assert handle(command("reload")).ok and reloads == ["asked"]
    assert not gate_commands(bus)(command("reload")).ok


def test_router_refuses_unknown_names_and_second_handlers() -> None:
    router = CommandRouter("sorter").register("message", MessageCommand(EventBus()))
    with pytest.raises(ValueError, match="not a command"):
        router.register("self_destruct", MessageCommand(EventBus()))
    with pytest.raises(ValueError, match="already"):
        router.register("message", MessageCommand(EventBus()))
    assert router.names == {"message"}


def test_empty_bin_empties_and_announces() -> None:
    bus, machine = EventBus(), Machine()
    router = CommandRouter("sorter").register("empty_bin", EmptyBinCommand(machine, bus))
    outcome = router(command("empty_bin", bin="1", staff="Lan"))
    assert outcome.ok
    assert outcome.detail == "bin 1 emptied: 3 item(s), slip printed, manifest bin-1.csv"
    assert machine.calls == [("1", "Lan")] and machine.counts["1"] == 0
    events = [e for e in bus.history() if e["event"] == "bin_emptied"]
    assert [(e["bin"], e["count"], e["staff"]) for e in events] == [("1", 3, "Lan")]
    # A bin number as older consoles send it, and no staff name: the event has none.
    assert router(command("empty_bin", bin=1)).ok
    assert "staff" not in bus.history()[-1]


@pytest.mark.parametrize(
    ("args", "detail"),
    [
        ({}, "empty_bin needs args.bin"),
        ({"bin": ""}, "empty_bin needs args.bin"),
        ({"bin": True}, "empty_bin needs args.bin"),
        ({"bin": -1}, "empty_bin needs args.bin"),
        ({"bin": ["1"]}, "empty_bin needs args.bin"),
        ({"bin": "1\n"}, "empty_bin needs args.bin"),
        ({"bin": "9"}, "there is no bin '9' on this machine"),
        ({"bin": "1", "staff": 7}, "empty_bin args.staff must be a name"),
        ({"bin": "1", "staff": "x" * 65}, "empty_bin args.staff must be a name"),
        ({"bin": "1", "staff": "Lan\x1b[2J"}, "empty_bin args.staff must be a name"),
    ],
)
def test_empty_bin_with_bad_arguments_changes_nothing(args: dict[str, Any], detail: str) -> None:
    bus, machine = EventBus(), Machine()
    outcome = EmptyBinCommand(machine, bus).handle(command("empty_bin", **args))
    assert not outcome.ok and (outcome.detail or "").startswith(detail)
    assert machine.calls == [] and machine.counts == {"1": 3, "X": 1}
    assert bus.history() == []
