"""The gate on simulators: sim:// readers with instant air time, gpiozero mock pins.

Tags walk through by being placed in and removed from a reader's field; beams
are mock pins driven high and low. Every check waits for an event or a pin
with a deadline: sleeps only stand for the time a person takes to walk.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers import gpio
from drivers.interfaces import DeviceError, Outputs, TagError, TagReader, TagSeen
from drivers.sim.field import SimTag, TagField, uid_for
from drivers.sim.reader import SimReader, item_tag
from engine.config.model import parse_config
from engine.events import EventBus
from gates import controller as controller_module
from gates.api import GateApiServer
from gates.controller import GateController
from gates.store import GateStore
from kiosk.api import ApiClient

DEADLINE = 5.0
RED, BUZZER, BEAM_A, BEAM_B = 17, 22, 5, 6


def gate_config(
    readers: list[str],
    *,
    grace: float = 0,
    owners: tuple[str, ...] = (),
    policy: str = "afi",
) -> Any:
    listed = ", ".join(f'"{url}"' for url in readers)
    owner_list = ", ".join(f'"{owner}"' for owner in owners)
    return parse_config(
        f"""
[device]
id = "gate-test"
site = "VN-HN0001"
role = "gate"

[ils]
url = "sip2+sim://"

[devices]
outputs = "gpio://?red={RED}&buzzer={BUZZER}&mock=1"

[gate]
readers = [{listed}]
alarm_outputs = ["red", "buzzer"]
alarm_seconds = 3
grace_minutes = {grace}
beams = "gpio+in://?beam_a={BEAM_A}&beam_b={BEAM_B}&mock=1"

[security]
policy = "{policy}"

[tags]
owner_libraries = [{owner_list}]
"""
    )


class Harness:
    def __init__(self, controller: GateController, bus: EventBus, fields: list[TagField]) -> None:
        self.controller = controller
        self.bus = bus
        self.fields = fields
        self.events: queue.Queue[dict[str, Any]] = bus.subscribe()
        self.seen: list[dict[str, Any]] = []

    @property
    def field(self) -> TagField:
        return self.fields[0]

    def wait_event(
        self, name: str, match: Callable[[dict[str, Any]], bool] = lambda e: True
    ) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(event)
            if event["event"] == name and match(event):
                return event
        raise AssertionError(f"no {name} event within {DEADLINE} s; saw {self.seen}")

    def alarm_for(self, item_id: str) -> dict[str, Any]:
        return self.wait_event("alarm", lambda e: e["item_id"] == item_id)

    def alarms(self, item_id: str) -> list[dict[str, Any]]:
        return [e for e in self.bus.history() if e["event"] == "alarm" and e["item_id"] == item_id]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {DEADLINE} s")
        time.sleep(0.005)


def pin(number: int) -> Any:
    return gpio.mock_factory().pin(number)


@pytest.fixture
def make_gate() -> Iterator[Callable[..., Harness]]:
    started: list[GateController] = []
    names: list[str] = []

    def make(readers: int = 1, **options: Any) -> Harness:
        store = options.pop("store", None)
        ils = options.pop("ils", None)
        outputs = options.pop("outputs", None)
        bus = options.pop("bus", None) or EventBus()
        pass_window = options.pop("pass_window", 1.0)
        local = [f"gate-{uuid.uuid4().hex[:8]}" for _ in range(readers)]
        names.extend(local)
        config = gate_config([f"sim://{name}?timing=0" for name in local], **options)
        controller = GateController(
            config, bus, ils=ils, store=store, outputs=outputs, pass_window=pass_window
        )
        harness = Harness(controller, bus, [TagField.named(name) for name in local])
        started.append(controller)
        controller.start()
        return harness

    yield make
    for controller in started:
        controller.stop()
    for name in names:
        TagField.forget(name)
    for number in (BEAM_A, BEAM_B):
        pin(number).drive_low()


def test_secured_item_alarms_and_drives_the_outputs(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate()
    gate.field.place(item_tag("B0001", "VN-HN0001"))
    alarm = gate.alarm_for("B0001")
    assert alarm["reason"] == "secured"
    assert alarm["gate"] == "gate-test"
    assert alarm["en"] == "item is not checked out"
    assert alarm["vi"] == "tài liệu chưa được mượn"
    assert alarm["title"] is None
    wait_until(lambda: pin(RED).state and pin(BUZZER).state, "red and buzzer on")


class RecordingOutputs:
    """Outputs that write into the same log as the bus, to check which came first."""

    def __init__(self, log: list[str]) -> None:
        self.url = "record://"
        self.names = ("red", "buzzer")
        self.log = log

    def set(self, name: str, on: bool) -> None:
        self.log.append(f"set {name}")

    def pulse(self, name: str, seconds: float) -> None:
        self.log.append(f"pulse {name}")

    def close(self) -> None:
        pass


class RecordingBus(EventBus):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def publish(self, name: str, /, **data: Any) -> dict[str, Any]:
        self.log.append(f"event {name}")
        return super().publish(name, **data)


def test_outputs_switch_before_the_alarm_is_published(make_gate: Callable[..., Harness]) -> None:
    order: list[str] = []
    outputs: Outputs = RecordingOutputs(order)
    gate = make_gate(outputs=outputs, bus=RecordingBus(order))
    gate.field.place(item_tag("B0002"))
    gate.alarm_for("B0002")
    alarm_events = [entry for entry in order if entry == "event alarm"]
    assert alarm_events == ["event alarm"]
    assert order.index("pulse red") < order.index("event alarm")
    assert order.index("pulse buzzer") < order.index("event alarm")


def test_a_slow_walk_alarms_once_while_the_tag_stays(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate(pass_window=1.0)
    gate.field.place(item_tag("B0003"))
    gate.alarm_for("B0003")
    # Further secured items walking in later act as markers: by the time each
    # alarms, B0003 has been seen in many more rounds.
    for marker in ("M0001", "M0002", "M0003"):
        time.sleep(0.1)
        gate.field.place(item_tag(marker))
        gate.alarm_for(marker)
    assert len(gate.alarms("B0003")) == 1


def test_a_second_pass_later_alarms_again(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate(pass_window=0.3)
    tag = gate.field.place(item_tag("B0004"))
    gate.alarm_for("B0004")
    gate.field.remove(tag.uid)
    time.sleep(0.5)  # the patron walks back in, longer than the pass window
    gate.field.bring_back(tag.uid)
    gate.alarm_for("B0004")
    assert len(gate.alarms("B0004")) == 2


def test_a_fast_pass_with_missed_rounds_still_alarms(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate()
    tag = item_tag("B0005")
    gate.field.faults.miss_rounds[tag.uid] = 3
    gate.field.place(tag)
    time.sleep(0.3)  # a brisk walk past the antennas
    gate.field.remove(tag.uid)
    alarm = gate.alarm_for("B0005")
    assert alarm["uid"] == tag.uid.hex().upper()
    assert len(gate.alarms("B0005")) == 1


def test_thirty_tags_at_once(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate()
    items = {f"S{index:04d}" for index in range(30)}
    gate.field.place_all(item_tag(item) for item in sorted(items))
    alarmed: set[str] = set()
    while alarmed != items:
        alarmed.add(gate.wait_event("alarm")["item_id"])
    for item in items:
        assert len(gate.alarms(item)) == 1


def test_checked_out_item_does_not_alarm(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate()
    gate.field.place(item_tag("L0001", afi=0xC2, eas=False))
    # A secured item joining later is seen in a round together with the loaned one.
    time.sleep(0.05)
    gate.field.place(item_tag("M0010"))
    gate.alarm_for("M0010")
    assert gate.alarms("L0001") == []


def test_grace_after_a_kiosk_checkout(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate(grace=5)
    gate.controller.kiosk_event(
        {"event": "item", "kind": "checkout", "outcome": "checked_out", "item_id": "G0001"}
    )
    gate.field.place(item_tag("G0001"))  # the kiosk has not released it yet
    time.sleep(0.05)
    gate.field.place(item_tag("M0011"))
    gate.alarm_for("M0011")
    assert gate.alarms("G0001") == []


@pytest.mark.parametrize("uids", [7, True, 2.5])
def test_kiosk_checkout_with_uids_not_a_list(
    make_gate: Callable[..., Harness], uids: object
) -> None:
    """Another device's event is outside data: a bad ``uids`` is ignored, the checkout kept
    (it once raised TypeError in the MQTT thread after the checkout was half recorded)."""
    gate = make_gate(grace=5)
    event = {"kind": "checkout", "outcome": "checked_out", "item_id": "G0002", "uids": uids}
    gate.controller.kiosk_event(event)
    gate.field.place(item_tag("G0002"))
    time.sleep(0.05)
    gate.field.place(item_tag("M0012"))
    gate.alarm_for("M0012")
    assert gate.alarms("G0002") == []


def test_kiosk_write_failure_alarms_with_its_reason(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate()
    gate.controller.kiosk_event(
        {
            "event": "item",
            "kind": "checkout",
            "outcome": "security_failed",
            "item_id": "F0001",
            "uids": [],
        }
    )
    gate.field.place(item_tag("F0001"))
    alarm = gate.alarm_for("F0001")
    assert alarm["reason"] == "kiosk_write_failed"
    assert alarm["en"] == "kiosk security write failed — item is on loan"
    assert alarm["vi"] == "ghi bảo mật ở máy mượn thất bại — tài liệu đang được mượn"


def test_eas_site_alarms_on_the_eas_bit(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate(policy="eas")
    gate.field.place(item_tag("E0001", afi=0x07, eas=False))  # AFI is not used here
    time.sleep(0.05)
    gate.field.place(item_tag("E0002", afi=0xC2, eas=True))
    assert gate.alarm_for("E0002")["reason"] == "secured"
    assert gate.alarms("E0001") == []


def test_reported_missing_item_alarms_even_on_loan(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate()
    gate.controller.report_missing("X0001")
    gate.field.place(item_tag("X0001", afi=0xC2, eas=False))
    assert gate.alarm_for("X0001")["reason"] == "reported_missing"


def test_a_tag_unread_in_one_pass_is_read_again_in_the_next(
    make_gate: Callable[..., Harness],
) -> None:
    """Issue 17's "recently seen" sets: a tag whose reads failed READ_ATTEMPTS times was
    never read again by this gate, so a lent book reported missing later walked out."""
    gate = make_gate(pass_window=0.2)
    gate.controller.report_missing("X0002")
    tag = item_tag("X0002", afi=0xC2, eas=False)
    attempts = controller_module.READ_ATTEMPTS
    gate.field.faults.read_fails[tag.uid] = attempts
    gate.field.place(tag)
    wait_until(lambda: tag.uid not in gate.field.faults.read_fails, "every read tried")
    gate.field.remove(tag.uid)
    time.sleep(0.3)  # the person walks away; the pass ends
    gate.field.place(tag)
    assert gate.alarm_for("X0002")["reason"] == "reported_missing"


def test_other_librarys_item_does_not_alarm(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate(owners=("VN-HN0001",))
    gate.field.place(item_tag("O0001", "VN-HCM0002"))
    time.sleep(0.05)
    gate.field.place(item_tag("O0002", "VN-HN0001"))
    gate.alarm_for("O0002")
    assert gate.alarms("O0001") == []


def walk(first: int, second: int) -> None:
    """A person through the beams: ~60 ms per step, longer than the debounce."""
    pin(first).drive_high()
    time.sleep(0.06)
    pin(second).drive_high()
    time.sleep(0.06)
    pin(first).drive_low()
    time.sleep(0.06)
    pin(second).drive_low()


def test_people_without_tags_are_counted_without_alarm(make_gate: Callable[..., Harness]) -> None:
    store = GateStore.open(None)
    gate = make_gate(store=store)
    wait_until(lambda: gate.controller.status()["beams"] == "ready", "beams ready")
    walk(BEAM_A, BEAM_B)
    assert gate.wait_event("people")["direction"] == "in"
    walk(BEAM_B, BEAM_A)
    assert gate.wait_event("people")["direction"] == "out"
    wait_until(lambda: store.counts(gate_today())["out"] == 1, "the pass stored")
    assert store.counts(gate_today())["in"] == 1
    assert gate.controller.counts()["alarm"] == 0
    assert [e for e in gate.bus.history() if e["event"] == "alarm"] == []
    store.close()


def test_alarm_tells_the_direction(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate()
    wait_until(lambda: gate.controller.status()["beams"] == "ready", "beams ready")
    pin(BEAM_B).drive_high()  # someone leaving is between the beams
    time.sleep(0.05)
    gate.field.place(item_tag("D0001"))
    assert gate.alarm_for("D0001")["direction"] == "out"
    pin(BEAM_B).drive_low()


def gate_today() -> Any:
    from datetime import datetime

    from gates.store import today

    return today(datetime.now())


def test_unplugged_reader_reports_and_the_other_keeps_alarming(
    make_gate: Callable[..., Harness],
) -> None:
    gate = make_gate(readers=2)
    first, second = gate.fields
    gate.wait_event("device", lambda e: e["state"] == "ready")
    first.faults.unplugged = True
    lost = gate.wait_event("device", lambda e: e["state"] == "unavailable")
    assert lost["device"].startswith("sim://gate-")
    assert lost["device"] == gate.controller.readers[0].url
    second.place(item_tag("U0001"))
    assert gate.alarm_for("U0001")["reader"] == gate.controller.readers[1].url
    assert gate.controller.healthy()
    first.faults.unplugged = False
    back = gate.wait_event("device", lambda e: e["device"] == lost["device"])
    assert back["state"] == "ready"


class SlowIls:
    """An ILS that takes its time: the alarm must not wait for it."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def item_information(self, item_id: str) -> Any:
        self.release.wait(DEADLINE)
        return type("Info", (), {"title": f"Tiêu đề {item_id}"})()


def test_title_follows_the_alarm_without_delaying_it(make_gate: Callable[..., Harness]) -> None:
    ils = SlowIls()
    gate = make_gate(ils=ils)
    gate.field.place(item_tag("T0001"))
    alarm = gate.alarm_for("T0001")
    assert alarm["title"] is None
    ils.release.set()
    titled = gate.wait_event("alarm_title")
    assert titled["title"] == "Tiêu đề T0001"
    assert titled["alarm_seq"] == alarm["seq"]
    assert titled["item_id"] == "T0001"


def test_local_api_refuses_a_user_not_allowed(
    make_gate: Callable[..., Harness], tmp_path: Path
) -> None:
    """The gate's API passes each connection to its peer check (the daemon's PeerGate)."""
    from engine.security.api_peers import PeerGate, allowed_uids
    from engine.security.reporter import SecurityReporter
    from tests.integration.test_security_api_peers import ask

    gate = make_gate()
    me = os.geteuid()
    peers = PeerGate(allowed_uids([], own=me + 1), SecurityReporter(gate.controller.bus))
    server = GateApiServer(tmp_path / "gate.sock", gate.controller, admits=peers.admits)
    server.serve_in_thread()
    try:
        answer = ask(tmp_path / "gate.sock")
        assert answer is None or answer["error"]["code"] == "not_allowed"
        refused = [e for e in gate.controller.bus.history() if e["event"] == "security"]
        assert [e["threat"] for e in refused] == ["api_peer_refused"]
    finally:
        server.close()


def test_local_api(make_gate: Callable[..., Harness], tmp_path: Path) -> None:
    gate = make_gate()
    server = GateApiServer(tmp_path / "gate.sock", gate.controller)
    server.serve_in_thread()
    client = ApiClient(tmp_path / "gate.sock", timeout=DEADLINE)
    try:
        status = client.result("status")
        assert status["gate"] == "gate-test"
        assert list(status["readers"]) == [gate.controller.readers[0].url]
        client.result(
            "kiosk_event",
            kind="checkout",
            outcome="security_failed",
            item_id="A0001",
        )
        client.subscribe()
        gate.field.place(item_tag("A0001"))
        deadline = time.monotonic() + DEADLINE
        while True:
            event = client.next_event(deadline - time.monotonic())
            assert event is not None, "no alarm through the API"
            if event["event"] == "alarm":
                break
        assert event["reason"] == "kiosk_write_failed"
        assert client.call("nonsense")["error"]["code"] == "unknown_command"
    finally:
        client.close()
        server.close()


GATE_TOML = """
[device]
id = "gate-cli"
site = "VN-HN0001"
role = "gate"
data_dir = "{data}"
api_socket = "{socket}"

[ils]
url = "sip2+sim://"

[devices]
outputs = "gpio://?red=17&buzzer=22&mock=1"

[gate]
readers = ["sim://gate-cli?timing=0&tags=C0001"]
beams = "gpio+in://?beam_a=5&beam_b=6&mock=1"
"""


def test_muontra_gate_runs_under_systemd_notify(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys

    config = tmp_path / "gate.toml"
    api_socket = tmp_path / "run" / "gate.sock"
    config.write_text(GATE_TOML.format(data=tmp_path / "data", socket=api_socket))
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "gate", "--config", str(config), "--no-ils"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert notify.recv(256) == b"READY=1"
        client = ApiClient(api_socket, timeout=DEADLINE)
        try:
            deadline = time.monotonic() + DEADLINE
            while client.result("status")["alarms_since_start"] < 1:
                assert time.monotonic() < deadline, "the tag placed by the URL never alarmed"
                time.sleep(0.02)
            history = client.result("history")["events"]
            alarm = next(e for e in history if e["event"] == "alarm")
            assert alarm["item_id"] == "C0001"
        finally:
            client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        notify.close()


def test_muontra_gate_refuses_a_kiosk_config(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "kiosk.toml"
    config.write_text(
        '[device]\nid = "kiosk-01"\nsite = "VN-HN0001"\n\n[ils]\nurl = "sip2+sim://"\n\n'
        '[devices]\npad = "sim://pad"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "muontra", "gate", "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not a gate" in done.stderr


# --- one bad tag never hides the others (issue 12, item 3) ----------------------------------

# ISO 28560-2: item 1, then a type of usage "zz" in octet string. Before, decoding it
# raised a plain ValueError: every round failed ("inventory round failed"), the secured
# book beside it never alarmed, and healthy() stayed true.
HOSTILE_MEMORY = bytes.fromhex("11 01 05  65 02 7A 7A  00")


def published(gate: Harness, name: str, uid: bytes) -> dict[str, Any]:
    """The event ``name`` about ``uid``, whenever it was published (waiting up to DEADLINE)."""

    def found() -> list[dict[str, Any]]:
        wanted = uid.hex().upper()
        return [e for e in gate.bus.history() if e["event"] == name and e.get("uid") == wanted]

    wait_until(lambda: bool(found()), f"{name} for {uid.hex().upper()}")
    return found()[0]


def test_a_hostile_tag_does_not_silence_the_gate(make_gate: Callable[..., Harness]) -> None:
    gate = make_gate(owners=("VN-HN0001",))
    # Secured: since issue 17 the alarm rounds hear secured tags only, and a lent one
    # is never read at the gate (it costs no air time), so it could report nothing.
    hostile = gate.field.place(SimTag.with_data(uid_for("hostile"), HOSTILE_MEMORY, afi=0x07))
    gate.field.place(item_tag("H0001", "VN-HN0001"))
    assert gate.alarm_for("H0001")["reason"] == "secured"
    unreadable = published(gate, "tag_unreadable", hostile.uid)
    assert "type of usage" in unreadable["detail"]
    assert gate.controller.healthy()


def test_an_unreadable_secured_tag_still_alarms_beside_a_book(
    make_gate: Callable[..., Harness],
) -> None:
    gate = make_gate(owners=("VN-HN0001",))
    hostile = gate.field.place(SimTag.with_data(uid_for("hostile-2"), HOSTILE_MEMORY))
    gate.field.place(item_tag("H0002", "VN-HN0001"))
    gate.alarm_for("H0002")
    # the tag that cannot be read is not known to be another library's: AFI says secured
    assert published(gate, "alarm", hostile.uid)["item_id"] is None


class BrokenForOneTag(SimReader):
    """A reader whose answer for one tag makes it fail in a way no driver should."""

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes:
        if uid == uid_for("broken"):
            raise IndexError("reader driver bug")
        return super().read_blocks(uid, first, count)


class FailingInventory(SimReader):
    """Inventory answers that cannot be understood, until ``healed`` is set."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.healed = threading.Event()

    def inventory(self, afi: int | None = None) -> list[TagSeen]:
        if not self.healed.is_set():
            raise DeviceError("garbled inventory answer")
        return super().inventory(afi)


class StorageOnlyReader(SimReader):
    """Behaves as drivers/pcsc_reader.py does on a reader with the storage-card commands
    only (tested there behind pcscd): data reads work, AFI and EAS are refused with
    "not supported", and ``security_writable`` turns False once a tag has been met."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.security_writable: bool | None = None

    filters_afi = False  # storage-card commands only: no AFI flag on the air either

    def inventory(self) -> list[TagSeen]:
        return [TagSeen(tag.uid) for tag in super().inventory()]  # UIDs only, no AFI

    def _cannot(self) -> TagError:
        self.security_writable = False
        return TagError("this reader cannot read AFI or EAS", code=0x01)

    def eas_alarm(self, uid: bytes | None = None) -> bool:
        raise self._cannot()

    def system_info(self, uid: bytes) -> Any:
        raise self._cannot()


@pytest.fixture
def gate_with() -> Iterator[Callable[[TagReader], Harness]]:
    started: list[tuple[GateController, str]] = []

    def make(reader: TagReader) -> Harness:
        name = reader.url.split("//", 1)[1].split("?", 1)[0]
        bus = EventBus()
        controller = GateController(
            gate_config([reader.url], owners=("VN-HN0001",)), bus, readers=[reader]
        )
        harness = Harness(controller, bus, [TagField.named(name)])
        controller.start()
        started.append((controller, name))
        return harness

    yield make
    for controller, name in started:
        controller.stop()
        TagField.forget(name)


def test_an_unexpected_failure_stays_with_its_tag(
    gate_with: Callable[[TagReader], Harness],
) -> None:
    name = f"gate-{uuid.uuid4().hex[:8]}"
    gate = gate_with(BrokenForOneTag(f"sim://{name}?timing=0"))
    gate.field.place(SimTag.with_data(uid_for("broken"), b"", afi=0x07))  # heard (issue 17)
    gate.field.place(item_tag("H0003", "VN-HN0001"))
    gate.alarm_for("H0003")
    event = published(gate, "tag_unreadable", uid_for("broken"))
    assert "IndexError" in event["detail"]
    assert gate.controller.healthy()


def test_rounds_failing_again_and_again_make_the_gate_unhealthy(
    gate_with: Callable[[TagReader], Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(controller_module, "RETRY_WAIT", 0.01)
    reader = FailingInventory(f"sim://gate-{uuid.uuid4().hex[:8]}?timing=0")
    gate = gate_with(reader)
    failing = gate.wait_event("device", lambda e: e["device"] == reader.url)
    assert failing["state"] == "unavailable"
    assert (
        f"{controller_module.FAILED_ROUNDS} inventory rounds in a row failed" in failing["detail"]
    )
    assert not gate.controller.healthy()  # the watchdog is no longer fed
    reader.healed.set()
    gate.wait_event("device", lambda e: e["device"] == reader.url and e["state"] == "ready")
    assert gate.controller.healthy()
    gate.field.place(item_tag("H0004", "VN-HN0001"))
    gate.alarm_for("H0004")


def test_a_reader_that_cannot_read_security_is_unfit_for_a_gate_not_silent(
    gate_with: Callable[[TagReader], Harness],
) -> None:
    """A secured book passes a gate whose PC/SC reader cannot read AFI or EAS. Before,
    each tag was skipped at debug level and the gate stayed healthy: the watchdog fed,
    nobody told. Now the reader is reported unavailable, with why, and stays so."""
    reader = StorageOnlyReader(f"sim://gate-{uuid.uuid4().hex[:8]}?timing=0")
    gate = gate_with(reader)
    gate.wait_event("device", lambda e: e["device"] == reader.url and e["state"] == "ready")
    gate.field.place(item_tag("H0005", "VN-HN0001"))
    unfit = gate.wait_event(
        "device", lambda e: e["device"] == reader.url and e["state"] == "unavailable"
    )
    assert "cannot read the tags' security" in unfit["detail"]
    assert not gate.controller.healthy()
    gate.field.clear()  # an empty field answers fine, and still guards nothing
    wait_until(lambda: reader.inventory() == [], "the field empty")
    assert not gate.controller.healthy()


def test_own_library_without_its_hyphen_alarms(make_gate: Callable[..., Harness]) -> None:
    """ISO 28560-3 / Danish tags store VNHN0001 for VN-HN0001 (issue 12, item 5)."""
    gate = make_gate(owners=("VN-HN0001",))
    gate.field.place(item_tag("O0003", "VNHN0001"))
    gate.field.place(item_tag("O0004", "vn-hn0001"))
    gate.field.place(item_tag("O0005", "VN-HCM0002"))
    gate.alarm_for("O0003")
    gate.alarm_for("O0004")
    assert gate.alarms("O0005") == []


def test_an_item_id_from_outside_cannot_forge_log_lines(
    make_gate: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    """Item ids come from tags and kiosk events: logged quoted, a newline in one stays
    inside its own line instead of starting a forged one."""
    gate = make_gate()
    with caplog.at_level("INFO", logger="gates.controller"):
        gate.controller.kiosk_event(
            {"item_id": "B0001\nERROR gate alarm cleared", "outcome": "checked_out"}
        )
    lines = [r.getMessage() for r in caplog.records if "kiosk reported" in r.getMessage()]
    assert lines and all("\n" not in line for line in lines)
