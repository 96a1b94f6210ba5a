"""Events per second through the durable outbox to mosquitto, beside raw paho.

What the outbox costs: every event is an SQLite insert (WAL, on a file, as on
the device) before it is sent, and an SQLite delete after its PUBACK; the
link keeps at most 20 messages in flight. Two cases: events added one by one
while the link sends (the engine's case: the figure is mostly the insert, a
committed transaction per event), and a backlog drained after an outage. The
peer publishes the same payloads with paho directly, QoS 1, the same in-flight
window, nothing stored. The clocks run from the first event handed over (the
link's start, for the backlog) until the last PUBACK, on a local mosquitto
(plain TCP on loopback, so that the broker is not the limit).

A kiosk produces a few events a minute and a busy gate a few a second; the
goal is that the outbox stays far above that (> 500 events/s added while
sending) and that a backlog drains within a few times the raw client's time.
BENCH_MQTT_EVENTS sets N.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from engine.events import EventBus
from engine.mqtt.link import LinkSettings, LinkState, MqttLink, bridge
from engine.mqtt.outbox import Outbox
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Envelope, Event

N = int(os.environ.get("BENCH_MQTT_EVENTS", "2000"))
RUNS = 3
WINDOW = 20
SITE, DEVICE = "VN-HN0001", "bench-01"
TOPIC = f"muontra/v1/{SITE}/{DEVICE}/events/checkout"


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    conf = folder / "mosquitto.conf"
    user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"{user}persistence false\nlistener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return broker, port
        except OSError:
            if time.monotonic() > deadline or broker.poll() is not None:
                broker.kill()
                raise RuntimeError("mosquitto did not start") from None
            time.sleep(0.02)


def make_payloads() -> list[bytes]:
    now = payloads.iso_time(time.time())
    return [
        payloads.encode(
            Event(
                Envelope(payloads.new_id(), now, DEVICE, SITE),
                "checkout",
                {"item_id": f"3{n:07}", "outcome": "checked_out", "title": "Truyện Kiều"},
            )
        )
        for n in range(N)
    ]


def through_outbox(port: int, folder: Path, data: list[bytes], backlog: bool) -> float:
    """Seconds until every event is acknowledged and deleted.

    ``backlog``: the events wait in the outbox before the link starts (the catch-up after
    an outage); otherwise they are added one by one while the link sends (the engine's case).
    """
    outbox = Outbox.open(folder / f"outbox-{time.monotonic_ns()}.db")
    settings = LinkSettings(
        host="127.0.0.1", port=port, tls=False, site=SITE, device=DEVICE, max_inflight=WINDOW
    )
    link = MqttLink(settings, outbox)
    if backlog:
        for payload in data:
            outbox.add(TOPIC, payload)
    start = time.perf_counter()
    link.start()
    if not link.wait_state(LinkState.ONLINE, timeout=10):
        raise RuntimeError("the link did not connect")
    if not backlog:
        start = time.perf_counter()
        for payload in data:
            outbox.add(TOPIC, payload)
    if not link.wait_drained(120):
        raise RuntimeError("the outbox did not drain")
    elapsed = time.perf_counter() - start
    link.stop()
    outbox.close()
    return elapsed


def raw_paho(port: int, data: list[bytes]) -> float:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.max_inflight_messages_set(WINDOW)
    done = threading.Event()
    acked = 0

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        if acked == len(data):
            done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.perf_counter()
    for payload in data:
        client.publish(TOPIC, payload, qos=1)
    if not done.wait(120):
        raise RuntimeError("raw paho did not get every PUBACK")
    elapsed = time.perf_counter() - start
    client.disconnect()
    stop_loop(client)
    return elapsed


def alarm_to_staff(port: int, folder: Path, count: int = 200) -> list[float]:
    """Seconds from an alarm on a device's event bus to a staff subscriber receiving it.

    The whole path a gate alarm takes: bus -> bridge -> outbox (SQLite commit) ->
    link -> broker -> subscriber, one alarm at a time (the goal: staff see it
    within one second).
    """
    outbox = Outbox.open(folder / f"alarms-{time.monotonic_ns()}.db")
    link = MqttLink(
        LinkSettings(
            host="127.0.0.1", port=port, tls=False, site=SITE, device="gate-01", max_inflight=WINDOW
        ),
        outbox,
    )
    bus = EventBus()
    copier = bridge(bus, outbox, "gate-01", SITE)
    arrived: dict[str, float] = {}
    got = threading.Condition()
    staff = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-staff")

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        with got:
            arrived[json.loads(message.payload)["item_id"]] = time.perf_counter()
            got.notify_all()

    subscribed = threading.Event()
    staff.on_message = on_message
    staff.on_subscribe = lambda *_: subscribed.set()
    staff.on_connect = lambda c, *_: c.subscribe(f"muontra/v1/{SITE}/+/events/alarm", qos=1)
    staff.connect("127.0.0.1", port)
    staff.loop_start()
    link.start()
    if not (subscribed.wait(10) and link.wait_state(LinkState.ONLINE, timeout=10)):
        raise RuntimeError("the staff subscriber or the link did not connect")
    latencies = []
    for n in range(count):
        item = f"A{n:05}"
        start = time.perf_counter()
        bus.publish("alarm", gate="gate-01", item_id=item, reason="secured")
        with got:
            if not got.wait_for(lambda item=item: item in arrived, 10):
                raise RuntimeError("an alarm did not arrive")
        latencies.append(arrived[item] - start)
    copier.stop()
    link.stop()
    stop_loop(staff)
    outbox.close()
    return latencies


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, port = start_broker(folder)
        try:
            data = make_payloads()
            live = min(through_outbox(port, folder, data, backlog=False) for _ in range(RUNS))
            drain = min(through_outbox(port, folder, data, backlog=True) for _ in range(RUNS))
            peer = min(raw_paho(port, data) for _ in range(RUNS))
            alarms = sorted(alarm_to_staff(port, folder))
        finally:
            broker.terminate()
            broker.wait(10)
    peer_rate = N / peer
    print(f"MQTT outbox, {N} events at QoS 1, window {WINDOW}, best of {RUNS}, until every PUBACK:")
    for name, seconds in (
        ("outbox, added while sending", live),
        ("outbox, backlog drained", drain),
        ("raw paho publish (peer)", peer),
    ):
        rate = N / seconds
        print(
            f"  {name:29} {rate:8.0f} events/s  ({seconds * 1000:5.0f} ms)"
            f"  ratio to raw {rate / peer_rate:5.2f}"
        )
    p50 = alarms[len(alarms) // 2] * 1000
    p99 = alarms[int(len(alarms) * 0.99) - 1] * 1000
    print(
        f"alarm from the gate's bus to staff over MQTT: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"(goal: within one second)"
    )


if __name__ == "__main__":
    main()
