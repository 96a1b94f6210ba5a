"""``empty_bin`` end to end through a real mosquitto: central asks, the bin is emptied, the
result and a ``bin_emptied`` event come back; a kiosk says it has no bins.

The sorter is a stand-in here (its real ``empty_bin`` is wired by the sorter role);
everything between the broker and it is the production path: the link, the
command log, the router, :class:`EmptyBinCommand`, the bus, the bridge, the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.events import EventBus
from engine.mqtt.commands import CommandRouter, EmptiedBin, EmptyBinCommand, UnknownBin
from engine.mqtt.link import LinkState, MqttLink, bridge
from engine.mqtt.outbox import Outbox
from kiosk.mqtt_commands import kiosk_commands
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope
from tests.integration.test_mqtt_link import SITE, Broker, Watcher, broker, settings

__all__ = ["broker"]  # a fixture used here

SORTER = "kiosk-01"  # the broker's test login; the role is what the router says


class StandInSorter:
    def __init__(self) -> None:
        self.counts = {"2": 31}
        self.emptied: list[tuple[str, str | None]] = []

    def empty_bin(self, bin_id: str, staff: str | None) -> EmptiedBin:
        if bin_id not in self.counts:
            raise UnknownBin(bin_id)
        self.emptied.append((bin_id, staff))
        items, self.counts[bin_id] = self.counts[bin_id], 0
        return EmptiedBin(bin_id, items, Path("bin-2-20261125-083000.csv"), printed=True)


def _command(name: str, **args: Any) -> Command:
    envelope = Envelope(payloads.new_id(), payloads.iso_time(time.time()), SORTER, SITE)
    return Command(envelope, name, args)


class Device:
    """A link with its bridge, as start_mqtt wires them, around one command router."""

    def __init__(self, broker: Broker, bus: EventBus, router: CommandRouter) -> None:
        self.outbox = Outbox.open(None)
        self.link = MqttLink(settings(broker), self.outbox, on_command=router)
        self.copier = bridge(bus, self.outbox, SORTER, SITE)
        self.link.start()
        assert self.link.wait_state(LinkState.ONLINE)

    def close(self) -> None:
        self.copier.stop()
        self.link.stop()
        self.outbox.close()


@pytest.fixture
def watcher(broker: Broker) -> Iterator[Watcher]:
    seen = Watcher(
        broker,
        [f"muontra/v1/{SITE}/{SORTER}/results/+", f"muontra/v1/{SITE}/{SORTER}/events/+"],
    )
    yield seen
    seen.close()


def _send(watcher: Watcher, command: Command) -> payloads.Result:
    topic = f"muontra/v1/{SITE}/{SORTER}/commands/{command.name}"
    watcher.client.publish(topic, payloads.encode(command), qos=1).wait_for_publish(5)
    wanted = f"/results/{command.envelope.id}"
    watcher.wait(lambda: any(t.endswith(wanted) for t, _, _ in watcher.messages), "the result")
    with watcher._cond:
        return next(payloads.decode_result(p) for t, p, _ in watcher.messages if t.endswith(wanted))


def _events(watcher: Watcher, kind: str) -> list[payloads.Event]:
    with watcher._cond:
        return [
            payloads.decode_event(p, kind)
            for t, p, _ in watcher.messages
            if t.endswith(f"/events/{kind}")
        ]


def test_empty_bin_is_done_answered_and_announced(broker: Broker, watcher: Watcher) -> None:
    bus, sorter = EventBus(), StandInSorter()
    router = CommandRouter("sorter").register("empty_bin", EmptyBinCommand(sorter, bus))
    device = Device(broker, bus, router)
    try:
        result = _send(watcher, _command("empty_bin", bin="2", staff="Thủ thư Lan"))
        assert result.ok and result.command == "empty_bin"
        assert result.detail == (
            "bin 2 emptied: 31 item(s), slip printed, manifest bin-2-20261125-083000.csv"
        )
        watcher.wait(lambda: bool(_events(watcher, "bin_emptied")), "the bin_emptied event")
        (event,) = _events(watcher, "bin_emptied")
        assert dict(event.data) == {"bin": "2", "count": 31, "staff": "Thủ thư Lan"}
        assert (event.envelope.device, event.envelope.site) == (SORTER, SITE)
        assert sorter.emptied == [("2", "Thủ thư Lan")] and sorter.counts["2"] == 0

        wrong = _send(watcher, _command("empty_bin", bin="7"))
        assert not wrong.ok and wrong.detail == "there is no bin '7' on this machine"
        # The handler runs before its result is queued: a refused command announced nothing.
        assert [e["event"] for e in bus.history()] == ["bin_emptied"]
        assert sorter.emptied == [("2", "Thủ thư Lan")]
    finally:
        device.close()


def test_a_kiosk_answers_it_has_no_bins(broker: Broker, watcher: Watcher) -> None:
    class Kiosk:
        def __init__(self) -> None:
            self.bus = EventBus()

        def staff(self, action: str) -> dict[str, Any]:
            raise AssertionError(f"no staff action expected, got {action}")

    kiosk = Kiosk()
    device = Device(broker, kiosk.bus, kiosk_commands(kiosk))
    try:
        result = _send(watcher, _command("empty_bin", bin=2))
        assert not result.ok
        assert result.detail == (
            "this device has no bins: empty_bin is for a return machine with sorting bins "
            "(this is a kiosk)"
        )
        assert kiosk.bus.history() == []
        assert _events(watcher, "bin_emptied") == []
    finally:
        device.close()
