"""Signed commands end to end on a real mosquitto that cannot be trusted to say who commands.

The broker here runs without an ACL: any login may write a device's command topic,
as on a broker someone else controls. kiosk-01 runs the engine's real MqttLink with
``require_signed_commands`` and the site's command key, its security events going
through the real bus, reporter and outbox; central's real CommandBook signs with the
same key. A forged command (unsigned, signed with another key, or altered after
signing) is refused and reported, a signed one runs, and the captured bytes of a
signed one replayed are refused — also after the device restarts on the same data.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.accounts import Role, Staff
from central.command_signing import SigningSection, SiteKeys
from central.commands import CommandBook, CommandError
from engine.events import EventBus
from engine.mqtt.link import Bridge, CommandOutcome, LinkState, MqttLink, bridge
from engine.mqtt.outbox import Outbox
from engine.mqtt.signed import refusal_reporter
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope
from protocols.mqtt.signing import sign
from tests.central.ops_db import sqlite_sessions
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_acl import PASSWORDS, Client
from tests.integration.test_mqtt_link import SITE, Broker, settings

KEY = b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
OTHER_KEY = b"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
BASE = f"muontra/v1/{SITE}/kiosk-01"
DESK = Staff(1, "lan", "Nguyễn Thị Lan", Role.DESK, SITE)


@pytest.fixture
def broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    folder = tmp_path / "broker"
    folder.mkdir()
    running = Broker(folder, tls_files, acl=None, users=PASSWORDS)  # no ACL: untrusted
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def book(tmp_path: Path) -> CommandBook:
    key_file = tmp_path / "VN-HN0001.key"
    key_file.write_bytes(KEY + b"\n")
    keys = SiteKeys(SigningSection(keys={SITE: key_file}, ttl_s=120))
    return CommandBook(sqlite_sessions(tmp_path), "muontra", keys=keys)


class Kiosk:
    """kiosk-01's link, restartable on the same outbox file, recording what it runs."""

    def __init__(self, broker: Broker, data: Path) -> None:
        self.broker = broker
        self.data = data
        self.ran: list[str] = []
        self.bus = EventBus()
        self.outbox: Outbox | None = None
        self.link: MqttLink | None = None
        self.copier: Bridge | None = None

    def _handle(self, command: Command) -> CommandOutcome:
        self.ran.append(command.envelope.id)
        return CommandOutcome(True, "done")

    def start(self) -> None:
        self.outbox = Outbox.open(self.data / "outbox.sqlite")
        link_settings = settings(
            self.broker,
            username="kiosk-01",
            password=PASSWORDS["kiosk-01"],
            require_signed=True,
            command_key=KEY,
        )
        self.link = MqttLink(
            link_settings,
            self.outbox,
            on_command=self._handle,
            on_refused=refusal_reporter(self.bus),
        )
        self.link.start()
        self.copier = bridge(self.bus, self.outbox, "kiosk-01", SITE)
        assert self.link.wait_state(LinkState.ONLINE)

    def stop(self) -> None:
        assert self.link is not None and self.copier is not None and self.outbox is not None
        self.copier.stop()
        self.link.stop()
        self.outbox.close()


@pytest.fixture
def kiosk(broker: Broker, tmp_path: Path) -> Iterator[Kiosk]:
    running = Kiosk(broker, tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def central(broker: Broker) -> Iterator[Client]:
    filters = [f"{BASE}/results/+", f"{BASE}/events/security", f"{BASE}/state"]
    client = Client(broker, "muontra_central", filters)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def attacker(broker: Broker) -> Iterator[Client]:
    client = Client(broker, "kiosk-02", [])
    try:
        yield client
    finally:
        client.close()


def births(central: Client, count: int) -> None:
    """Wait for kiosk-01's ``count``-th online state: the link subscribes to its commands
    before it says so on the same connection, so after it a command reaches the link."""

    def online() -> int:
        return sum(
            1
            for t, wire in central.messages
            if t == f"{BASE}/state" and json.loads(wire)["state"] == "online"
        )

    central.wait(lambda: online() >= count, f"kiosk-01 online ({count})")


def result_of(central: Client, command_id: str) -> dict[str, Any]:
    topic = f"{BASE}/results/{command_id}"
    central.wait(lambda: topic in central.topics(), f"the result of {command_id}")
    with central._cond:
        wires = [wire for t, wire in central.messages if t == topic]
    return json.loads(wires[-1])  # type: ignore[no-any-return]


def security_details(central: Client, count: int) -> list[str]:
    topic = f"{BASE}/events/security"
    central.wait(
        lambda: central.topics().count(topic) >= count, f"{count} security event(s)", timeout=10
    )
    with central._cond:
        events = [json.loads(wire) for t, wire in central.messages if t == topic]
    assert {e["threat"] for e in events} == {"command_refused"}
    return [e["detail"] for e in events]


def results_for(central: Client, command_id: str) -> int:
    return central.topics().count(f"{BASE}/results/{command_id}")


def unsigned(name: str = "unlock") -> Command:
    envelope = Envelope(payloads.new_id(), payloads.iso_time(time.time()), "kiosk-01", SITE)
    return Command(envelope, name)


def test_forged_commands_are_refused_and_reported(
    kiosk: Kiosk, central: Client, attacker: Client
) -> None:
    births(central, 1)
    plain = unsigned()
    attacker.publish(f"{BASE}/commands/unlock", payloads.encode(plain))
    result = result_of(central, plain.envelope.id)
    assert (result["ok"], result["reason"]) == (False, "unsigned")
    assert "không có chữ ký" in result["detail"] and "not signed" in result["detail"]

    other = sign(unsigned(), OTHER_KEY, time.time() + 60)
    attacker.publish(f"{BASE}/commands/unlock", payloads.encode(other))
    assert result_of(central, other.envelope.id)["reason"] == "bad_signature"

    # A real signed lock, altered into an unlock under the same id and signature; then
    # the real one: the forgery neither ran nor used up the id.
    real = sign(unsigned("lock"), KEY, time.time() + 60)
    altered = dataclasses.replace(real, name="unlock")
    attacker.publish(f"{BASE}/commands/unlock", payloads.encode(altered))
    central.wait(lambda: results_for(central, real.envelope.id) == 1, "the altered one's answer")
    attacker.publish(f"{BASE}/commands/lock", payloads.encode(real))
    central.wait(lambda: results_for(central, real.envelope.id) == 2, "the real one's answer")
    with central._cond:
        answers = [
            json.loads(wire)
            for t, wire in central.messages
            if t == f"{BASE}/results/{real.envelope.id}"
        ]
    assert [(a["ok"], a.get("reason")) for a in answers] == [(False, "bad_signature"), (True, None)]
    assert kiosk.ran == [real.envelope.id]
    # One event per refusal code in the reporter's window, the count in it.
    assert sorted(security_details(central, 2)) == ["bad_signature", "unsigned"]


def test_central_signs_it_runs_and_a_replay_is_refused_also_after_a_restart(
    kiosk: Kiosk, central: Client, attacker: Client, book: CommandBook
) -> None:
    births(central, 1)
    topic, wire, view = book.prepare(DESK, SITE, "kiosk-01", "lock", {}, now=time.time())
    assert json.loads(wire)["sig"]
    central.publish(topic, wire)
    result = result_of(central, view.command_id or "")
    assert (result["ok"], result["detail"]) == (True, "done")
    assert kiosk.ran == [view.command_id]

    attacker.publish(topic, wire)  # the captured bytes, again
    central.wait(lambda: results_for(central, view.command_id or "") == 2, "the replay's answer")
    assert result_of(central, view.command_id or "")["reason"] == "replayed"
    assert kiosk.ran == [view.command_id]
    assert security_details(central, 1) == ["replayed"]

    kiosk.stop()
    kiosk.bus = EventBus()  # a new process: its reporter has seen nothing yet
    kiosk.start()
    births(central, 2)
    attacker.publish(topic, wire)
    central.wait(lambda: results_for(central, view.command_id or "") == 3, "the answer after")
    after = result_of(central, view.command_id or "")
    assert (after["ok"], after["reason"]) == (False, "replayed")
    assert kiosk.ran == [view.command_id]
    assert security_details(central, 2) == ["replayed", "replayed"]


def test_an_expired_signed_command_is_refused(
    kiosk: Kiosk, central: Client, book: CommandBook
) -> None:
    # Sent 200 s ago with a 120 s life: expired by the device's clock, past the 30 s skew.
    births(central, 1)
    topic, wire, view = book.prepare(DESK, SITE, "kiosk-01", "lock", {}, now=time.time() - 200)
    central.publish(topic, wire)
    result = result_of(central, view.command_id or "")
    assert (result["ok"], result["reason"]) == (False, "expired")
    assert "hết hạn" in result["detail"]
    assert kiosk.ran == []
    assert security_details(central, 1) == ["expired"]


def test_central_signs_only_for_sites_with_a_key_and_never_falls_back(tmp_path: Path) -> None:
    keys = SiteKeys(SigningSection(keys={SITE: tmp_path / "missing.key"}))
    book = CommandBook(sqlite_sessions(tmp_path), "muontra", keys=keys)
    with pytest.raises(CommandError, match="command key of site VN-HN0001"):
        book.prepare(DESK, SITE, "kiosk-01", "lock", {}, now=time.time())
    refused = book.list_audit()[0]
    assert (refused.outcome, refused.detail) == ("refused", "command key unreadable")
    # Another site has no key: its commands go unsigned, as before signing existed.
    other = Staff(2, "an", "An", Role.DESK, None)
    _topic, wire, _view = book.prepare(other, "VN-HN0002", "kiosk-09", "lock", {}, now=time.time())
    assert "sig" not in json.loads(wire) and "expires" not in json.loads(wire)
    (tmp_path / "missing.key").write_text("short\n")
    assert (
        "at least 32"
        in SiteKeys(SigningSection(keys={SITE: tmp_path / "missing.key"})).problems()[0]
    )
