"""Commands through central to a real device link on a real mosquitto with the shipped ACL.

central logs in as ``muontra_central`` (the only login the ACL lets command); kiosk-01
runs the engine's real MqttLink. Every command and its result land in the audit log
with who and when; a wrong role is refused and audited; a result forged by another
device (on its own topic, or claiming to be kiosk-01 in its payload) changes nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.accounts import Role, Staff
from central.commands import CommandBook, CommandError, CommandLink, results_filter
from central.staff_models import AuditEntry
from engine.mqtt.link import CommandOutcome, LinkState, MqttLink
from engine.mqtt.outbox import Outbox
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Command, Envelope, Result
from tests.central.ops_db import fresh_db_fixture  # noqa: F401  (a fixture)
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_link import SITE, Broker, settings

ACL = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "muontra.acl"
PASSWORDS = {
    "muontra_central": "central-secret",
    "kiosk-01": "kiosk-01-secret",
    "kiosk-02": "kiosk-02-secret",
}
PREFIX = "muontra"
DESK = Staff(1, "lan", "Nguyễn Thị Lan", Role.DESK, SITE)
VIEWER = Staff(2, "xem", "Xem", Role.VIEWER, SITE)
ADMIN = Staff(3, "boss", "Boss", Role.ADMIN, None)


@pytest.fixture
def broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    folder = tmp_path / "broker"
    folder.mkdir()
    running = Broker(folder, tls_files, acl=ACL, users=PASSWORDS)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sessions(fresh_db: Callable[[], Session]) -> Callable[[], Session]:
    return fresh_db


@pytest.fixture
def kiosk(broker: Broker) -> Iterator[list[Command]]:
    """kiosk-01's real link, logged in as itself; the commands it runs."""
    ran: list[Command] = []

    def handle(cmd: Command) -> CommandOutcome:
        ran.append(cmd)
        return CommandOutcome(True, f"did {cmd.name}")

    with Outbox.open(None) as outbox:
        link = MqttLink(
            settings(broker, username="kiosk-01", password=PASSWORDS["kiosk-01"]),
            outbox,
            on_command=handle,
        )
        link.start()
        assert link.wait_state(LinkState.ONLINE)
        try:
            yield ran
        finally:
            link.stop()


def login(broker: Broker, user: str, on_connect: Callable[[], None] | None = None) -> mqtt.Client:
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{user}")
    client.tls_set(ca_certs=str(broker.tls.cert))
    client.username_pw_set(user, PASSWORDS[user])
    client.on_connect = lambda *_: on_connect() if on_connect else subscribed.set()
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert subscribed.wait(10), f"{user} never connected"
    return client


@pytest.fixture
def central(broker: Broker, sessions: Callable[[], Session]) -> Iterator[CommandLink]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central")
    book = CommandBook(sessions, PREFIX)
    link = CommandLink(client, book, time.time)
    subscribed = threading.Event()
    client.tls_set(ca_certs=str(broker.tls.cert))
    client.username_pw_set("muontra_central", PASSWORDS["muontra_central"])
    client.on_connect = lambda *_: link.subscribe()
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert subscribed.wait(10)
    try:
        yield link
    finally:
        client.disconnect()
        stop_loop(client)


def send_until_heard(central: CommandLink, ran: list[Command], name: str, args: Any) -> str:
    """Send until the kiosk's own subscription is in place (it subscribes after connecting)."""
    deadline = time.monotonic() + 10
    while True:
        view = central.send(DESK, SITE, "kiosk-01", name, args)
        assert view.command_id is not None
        answer = central.wait(view.command_id, 1)
        if answer is not None:
            return view.command_id
        assert time.monotonic() < deadline, "the kiosk never answered"


def test_lock_reaches_the_kiosk_and_its_result_is_audited(
    central: CommandLink, kiosk: list[Command], sessions: Callable[[], Session]
) -> None:
    command_id = send_until_heard(central, kiosk, "lock", {})
    view = central.book.get(command_id)
    assert view is not None
    assert (view.actor, view.command, view.device, view.outcome, view.detail) == (
        "lan",
        "lock",
        "kiosk-01",
        "ok",
        "did lock",
    )
    assert view.answered is not None and view.answered >= view.time
    assert kiosk[-1].envelope.id == command_id and kiosk[-1].name == "lock"
    message = central.send(DESK, SITE, "kiosk-01", "message", {"text": "Sắp đóng cửa"})
    assert message.command_id is not None
    answered = central.wait(message.command_id, 10)
    assert answered is not None and answered.outcome == "ok"
    assert kiosk[-1].args == {"text": "Sắp đóng cửa"}


def test_wrong_role_is_refused_audited_and_nothing_sent(
    central: CommandLink, kiosk: list[Command], sessions: Callable[[], Session]
) -> None:
    send_until_heard(central, kiosk, "unlock", {})
    before = len(kiosk)
    with pytest.raises(CommandError, match="viewer"):
        central.send(VIEWER, SITE, "kiosk-01", "lock", {})
    with pytest.raises(CommandError, match="desk"):
        central.send(DESK, SITE, "kiosk-01", "reload", {})
    # The next command the kiosk runs is the admin's reload: the refused ones never left.
    view = central.send(ADMIN, SITE, "kiosk-01", "reload", {})
    assert view.command_id is not None and central.wait(view.command_id, 10) is not None
    assert [c.name for c in kiosk[before:]] == ["reload"]
    with sessions() as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused")).all()
    assert [(r.actor, r.action, r.command_id) for r in refused] == [
        ("xem", "lock", None),
        ("lan", "reload", None),
    ]


def test_a_forged_result_from_another_device_is_dropped(
    broker: Broker, central: CommandLink, sessions: Callable[[], Session]
) -> None:
    # No kiosk runs: the command stays open, and kiosk-02 tries to answer it.
    view = central.send(DESK, SITE, "kiosk-01", "unlock", {})
    assert view.command_id is not None
    forger = login(broker, "kiosk-02")
    base = f"{PREFIX}/v1/{SITE}"
    try:
        for device, claims in (
            ("kiosk-02", "kiosk-02"),
            ("kiosk-02", "kiosk-01"),
            ("kiosk-01", "kiosk-01"),
        ):
            # kiosk-02 on its own topic, then claiming kiosk-01 in the payload, then on
            # kiosk-01's topic (which the ACL drops at the broker).
            result = Result(
                Envelope(payloads.new_id(), payloads.iso_time(time.time()), claims, SITE),
                view.command_id,
                "unlock",
                True,
                "forged",
            )
            forger.publish(
                f"{base}/{device}/results/{view.command_id}", payloads.encode(result), qos=1
            ).wait_for_publish(5)
        # A real answer on the way the ACL allows, after the forgeries: central handles one
        # client's messages in order, so once this is recorded the forgeries were seen.
        probe = central.send(DESK, SITE, "kiosk-02", "lock", {})
        assert probe.command_id is not None
        real = Result(
            Envelope(payloads.new_id(), payloads.iso_time(time.time()), "kiosk-02", SITE),
            probe.command_id,
            "lock",
            False,
            "not a kiosk that locks",
        )
        forger.publish(
            f"{base}/kiosk-02/results/{probe.command_id}", payloads.encode(real), qos=1
        ).wait_for_publish(5)
        answered = central.wait(probe.command_id, 10)
        assert answered is not None and answered.outcome == "failed"
    finally:
        forger.disconnect()
        stop_loop(forger)
    still = central.book.get(view.command_id)
    assert still is not None and still.outcome is None and still.detail is None
    assert central.book.expire(time.time() + 1, time.time()) == 1
    timed_out = central.book.get(view.command_id)
    assert timed_out is not None and timed_out.outcome == "timeout"


# --- the sans-IO book ----------------------------------------------------------------------


def test_book_checks_arguments_and_devices(sessions: Callable[[], Session]) -> None:
    book = CommandBook(sessions, PREFIX)
    for name, args in [
        ("message", {}),
        ("message", {"text": "x" * 501}),
        ("message", {"text": "hi", "extra": 1}),
        ("empty_bin", {"bin": 0}),
        ("empty_bin", {"bin": True}),
        ("empty_bin", {"bin": "1"}),
        ("lock", {"force": True}),
        ("format", {}),
    ]:
        with pytest.raises(CommandError):
            book.prepare(DESK, SITE, "kiosk-01", name, args, now=1.8e9)
    for device in ["kiosk-01/#", "+", "", "a b", "kiosk\x00"]:
        with pytest.raises(CommandError):
            book.prepare(DESK, SITE, device, "lock", {}, now=1.8e9)
    topic, payload, view = book.prepare(DESK, SITE, "sorter-01", "empty_bin", {"bin": 3}, now=1.8e9)
    assert topic == f"muontra/v1/{SITE}/sorter-01/commands/empty_bin"
    decoded = payloads.decode_command(payload, "empty_bin")
    assert decoded.args == {"bin": 3} and decoded.envelope.device == "sorter-01"
    assert json.loads(json.dumps(view.as_json()))["args"] == {"bin": 3}
    assert len(book.list_audit()) == 1  # only the command that went out is audited


def test_a_result_counts_once(sessions: Callable[[], Session]) -> None:
    book = CommandBook(sessions, PREFIX)
    _topic, _payload, view = book.prepare(DESK, SITE, "kiosk-01", "lock", {}, now=1.8e9)
    assert view.command_id is not None

    def result(ok: bool, command: str = "lock") -> bytes:
        envelope = Envelope(payloads.new_id(), payloads.iso_time(1.8e9), "kiosk-01", SITE)
        return payloads.encode(Result(envelope, view.command_id or "", command, ok, "x"))

    topic = f"muontra/v1/{SITE}/kiosk-01/results/{view.command_id}"
    assert book.accept(topic, result(True, "unlock"), 1.8e9 + 1) is None  # another command's name
    first = book.accept(topic, result(True), 1.8e9 + 1)
    assert first is not None and first.outcome == "ok"
    assert book.accept(topic, result(False), 1.8e9 + 2) is None  # a late duplicate changes nothing
    assert book.get(view.command_id or "") == first


@given(st.binary(max_size=300), st.text(max_size=80))
def test_hostile_results_never_raise(data: bytes, topic: str) -> None:
    book = CommandBook(lambda: pytest.fail("a hostile result reached the database"), PREFIX)
    try:
        parsed = payloads.decode_result(data)
    except payloads.PayloadError:
        assert book.accept(topic, data, 0) is None
        return
    assert parsed is not None  # pragma: no cover - random bytes are never a valid result


def test_results_filter() -> None:
    assert results_filter("thuvien/hanoi") == "thuvien/hanoi/v1/+/+/results/+"
