"""The fleet against central: how many devices one `muontra central` keeps up with.

Starts a mosquitto (loopback, random port) and a database (PostgreSQL from Debian's
package by default, or SQLite), then in one run:

1. a bare paho subscriber's rate: a burst of the fleet's messages, received and counted;
2. central's rate on the same burst (one process, then two sharing ``$share``), with
   the ratio to the bare subscriber's;
3. N simulated devices (kiosks, gates, sorters) at 1 Hz for D seconds: birth,
   telemetry every second and a realistic event mix, with central storing them; lost
   events are counted after a drain. Central runs whole here (ingest, alert rules, the
   HTTP API), and each gate alarm is timed twice: from its publish to its row being
   committed, and from its publish to its alert reaching a staff console, read by the
   console's own live-stream client (ui/console/client.LiveStream, which hands it to the
   window's model). The second gives the p99 of the last line.

The devices publish from their own process so that they do not share central's GIL, and
through one MQTT connection publishing on every device's topics: a thousand devices cost
one socket, not a thousand (the broker routes by topic; central cannot tell). The broker
is a bench mosquitto (no persistence, no queue or in-flight caps) on loopback.
Default run is short (200 devices, 5 s); the reference set-up is
``--devices 1000 --seconds 30`` on PostgreSQL with one central process.

The machine may be shared: every figure is printed with the 1-minute load average at the
time it was taken, and the bare subscriber runs in the same run, on the same broker and
burst, just before central, so the ratio compares like with like.

Where the time went (SQLite, 4,000 messages stored in batches of 500, cProfile): 179
messages/s before, 5,700 after. Nearly all of it was SQLAlchemy compiling statements:
``insert().values(rows)`` is a new statement for every batch size, and the hourly
counters were one upsert statement each. Both are now one statement executed with the
rows as parameters (executemany, compiled once): central/store.py and central/stats.py.

    .venv/bin/python bench/fleet.py [--devices N] [--seconds D] [--db postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from central.api import issue_token
from central.db import make_engine, migrate, sessions
from central.ingest import Ingest
from central.models import Device, Event, HourlyStat
from central.service import CentralService
from central.settings import CentralSettings, MqttSection
from central.staff_models import AlertRow
from central.store import StoreResult
from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads
from protocols.mqtt.payloads import Envelope
from protocols.mqtt.topics import Channel, build_topic
from tests.central.conftest import fresh_pg, start_pg
from ui.console.client import Central, LiveStream

PREFIX, SITE = "muontra", "VN-HN0001"


def load() -> str:
    """The 1-minute load average and the cores, to print beside a figure."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    user = "user root\n" if os.geteuid() == 0 else ""
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"{user}persistence false\nallow_anonymous true\nmax_queued_messages 0\n"
        f"max_inflight_messages 0\nlistener {port} 127.0.0.1\n"
    )
    process = subprocess.Popen(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- the devices (their own process) ----------------------------------------------------------


def device_names(n: int) -> list[str]:
    kinds = ("kiosk", "gate", "sorter")
    return [f"{kinds[i % 3]}-{i:04d}" for i in range(n)]


def envelope(device: str) -> Envelope:
    return Envelope(payloads.new_id(), payloads.iso_time(time.time()), device, SITE)


def messages_of(device: str, second: int) -> list[tuple[str, bytes]]:
    """What one device publishes in one second: telemetry, and now and then an event."""
    out = [
        (
            build_topic(PREFIX, SITE, device, Channel.TELEMETRY),
            payloads.encode(
                payloads.Telemetry(envelope(device), float(second), {"pad": "ok"}, {"outbox": 0})
            ),
        )
    ]
    kind = device.split("-", maxsplit=1)[0]
    event: tuple[str, dict[str, object]] | None = None
    if kind == "kiosk" and second % 5 == 0:
        event = ("checkout", {"success": True, "item_id": "3000000001"})
    elif kind == "sorter" and second % 6 == 0:
        event = ("checkin", {"success": True, "destination": "A"})
    elif kind == "gate" and second % 4 == 0:
        event = ("people", {"direction": "in" if second % 8 else "out"})
    elif kind == "gate" and second % 10 == 3:
        # Each alarm names its own item, so that each raises its own alert (one per item
        # until acknowledged); the id carries the send time in µs, so the console's side
        # can time the alert it receives with no table shared between the two processes.
        sent = time.time()
        event = ("alarm", {"item_id": f"A{int(sent * 1e6)}", "gate": device, "sent": sent})
    if event is not None:
        name, data = event
        message = payloads.Event(envelope(device), name, data)
        out.append(
            (build_topic(PREFIX, SITE, device, Channel.EVENTS, name), payloads.encode(message))
        )
    return out


def run_devices(port: int, n: int, seconds: int, burst: bool, done: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Publish for ``seconds`` at 1 Hz per device (or, with ``burst``, as fast as possible);
    put the count of events sent on ``done``."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    names = device_names(n)
    for name in names:
        state = payloads.State(envelope(name), "online", payloads.iso_time(time.time()), "1.0")
        client.publish(
            build_topic(PREFIX, SITE, name, Channel.STATE), payloads.encode(state), 1, retain=True
        )
    events = 0
    infos = []
    start = time.monotonic()
    slices = 20  # at 1 Hz each device has its own phase in the second, as real ones do
    for second in range(seconds):
        for index, name in enumerate(names):
            if not burst and index % max(1, len(names) // slices) == 0:
                wait = start + second + index / len(names) - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            for topic, body in messages_of(name, second):
                infos.append(client.publish(topic, body, qos=1))
                events += "/events/" in topic
        if not burst:
            wait = start + second + 1 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    stop_loop(client)
    done.put((events, len(infos)))


def devices(
    port: int, n: int, seconds: int, burst: bool
) -> tuple[multiprocessing.Process, multiprocessing.Queue]:  # type: ignore[type-arg]
    done: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    process = multiprocessing.Process(target=run_devices, args=(port, n, seconds, burst, done))
    process.start()
    return process, done


# --- measurements ----------------------------------------------------------------------------


def bare_rate(port: int, n: int, seconds: int) -> float:
    """Messages per second a bare paho subscriber receives of a burst."""
    received = 0
    first = last = 0.0
    lock = threading.Lock()

    def on_message(*_: object) -> None:
        nonlocal received, first, last
        with lock:
            now = time.monotonic()
            first = first or now
            last = now
            received += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe([(f"{PREFIX}/v1/+/+/events/#", 1), (f"{PREFIX}/v1/+/+/telemetry", 1)])
    client.loop_start()
    time.sleep(0.5)
    process, done = devices(port, n, seconds, burst=True)
    _events, total = done.get(timeout=300)
    process.join()
    deadline = time.monotonic() + 30
    while received < total and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    stop_loop(client)
    return received / max(last - first, 1e-6)


def clear(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        for table in (Event, HourlyStat, Device, AlertRow):
            session.execute(delete(table))
    engine.dispose()


def stored_events(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        count = int(session.scalar(select(func.count()).select_from(Event)) or 0)
    engine.dispose()
    return count


def central_rate(port: int, url: str, n: int, seconds: int, processes: int) -> float:
    """Messages per second central stores of a burst, with ``processes`` sharing it."""
    clear(url)
    ingests, counts, lock = [], [0, 0.0, 0.0], threading.Lock()

    def listener(result: StoreResult) -> None:
        with lock:
            now = time.monotonic()
            counts[1] = counts[1] or now
            counts[2] = now

    for k in range(processes):
        # Threads in one process stand in for processes here: the broker's sharing is what
        # is measured. (The tests run real processes: tests/central/test_ingest.py.)
        ingest = Ingest(settings(port, f"bench-{k}"), make_engine(url), listeners=[listener])
        ingest.start()
        ingest.wait_subscribed(10)
        ingests.append(ingest)
    process, done = devices(port, n, seconds, burst=True)
    _events, total = done.get(timeout=300)
    process.join()
    deadline = time.monotonic() + 120
    while sum(i.counters.received for i in ingests) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    while any(i.pending() for i in ingests) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    for ingest in ingests:
        ingest.stop()
    received = sum(i.counters.received for i in ingests)
    return received / max(counts[2] - counts[1], 1e-6)


def settings(port: int, client_id: str) -> MqttSection:
    return MqttSection(
        host="127.0.0.1", port=port, tls=False, client_id=client_id, session_expiry_s=0
    )


def fleet_run(
    port: int, url: str, n: int, seconds: int
) -> tuple[int, int, list[float], list[float], float]:
    """N devices at 1 Hz with one whole central (API on): (events sent, lost, alarm to
    stored ms, alarm to console ms, events/s)."""
    clear(url)
    stored_ms: list[float] = []
    console_ms: list[float] = []

    def listener(result: StoreResult) -> None:
        now = time.time()
        for event in result.events_new:
            sent = event.data.get("sent")
            if event.kind == "alarm" and isinstance(sent, float):
                stored_ms.append((now - sent) * 1000)

    seen: set[str] = set()

    def on_alert(kind: str, body: dict[str, object]) -> None:
        subject = body.get("subject")
        if kind == "alert" and isinstance(subject, str) and subject.startswith("A"):
            if subject in seen:
                # Streamed twice: counted once, and said, since a console should not be.
                print(f"the console was told of {subject} twice")
                return
            seen.add(subject)
            console_ms.append((time.time() - int(subject[1:]) / 1e6) * 1000)

    engine = make_engine(url)
    with sessions(engine)() as session:
        token = issue_token(session, "bench-console", now=time.time())
        session.commit()
    config = CentralSettings(
        mqtt=settings(port, "bench-fleet"),
        api={"enabled": True, "port": 0},  # type: ignore[arg-type]
    )
    service = CentralService(config, engine, on_alert=lambda _alert, _staff: None)
    service.ingest.listen(listener)
    service.start()
    service.ingest.wait_subscribed(10)
    assert service.staff.api is not None
    stream_up = threading.Event()
    console = Central(f"http://127.0.0.1:{service.staff.api.port}", token)
    stream = LiveStream(console, on_alert, lambda up: stream_up.set() if up else None)
    stream.start()
    if not stream_up.wait(10):
        raise SystemExit("the console's live stream did not open")
    start = time.monotonic()
    process, done = devices(port, n, seconds, burst=False)
    events, _total = done.get(timeout=seconds + 300)
    process.join()
    published = time.monotonic()
    deadline = published + 30
    while stored_events(url) < events and time.monotonic() < deadline:
        time.sleep(0.1)
    drained = time.monotonic()
    elapsed = drained - start
    stream.stop()
    service.stop()
    stored = stored_events(url)
    # Kept up: the backlog after the last publish is stored within a couple of seconds.
    print(f"stored the rest {drained - published:.1f} s after the last publish ({load()})")
    return events, events - stored, stored_ms, console_ms, stored / elapsed


def p50_p99(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return float("nan"), float("nan")
    return statistics.median(values), statistics.quantiles(values, n=100)[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--burst-seconds", type=int, default=3)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="muontra-fleet-"))
    broker, port = start_broker(folder)
    server = None
    try:
        if args.db == "postgresql":
            server = start_pg()
            if server is None:
                print("PostgreSQL is not installed; use --db sqlite", file=sys.stderr)
                return 2
            url = fresh_pg(server)
        else:
            url = f"sqlite:///{folder / 'central.db'}"
        migrate(make_engine(url))
        bare = bare_rate(port, args.devices, args.burst_seconds)
        print(f"bare paho subscriber: {bare:,.0f} messages/s ({load()})")
        one = central_rate(port, url, args.devices, args.burst_seconds, 1)
        print(f"central, one process: {one:,.0f} messages/s (ratio {one / bare:.2f}; {load()})")
        two = central_rate(port, url, args.devices, args.burst_seconds, 2)
        print(f"central, two sharing: {two:,.0f} messages/s (gain x{two / one:.2f}; {load()})")
        events, lost, stored_ms, console_ms, _rate = fleet_run(
            port, url, args.devices, args.seconds
        )
        print(
            f"{args.devices} devices at 1 Hz for {args.seconds} s ({args.db}): {events} events,"
            f" lost {lost}, {len(stored_ms)} alarms stored, {len(console_ms)} at the console"
        )
        for what, values in (("stored", stored_ms), ("console", console_ms)):
            if values:
                p50, p99 = p50_p99(values)
                print(
                    f"alarm publish to {what}: p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
                    f"max {max(values):.0f} ms ({load()})"
                )
        _p50, p99 = p50_p99(console_ms)
        print(
            f"fleet: {args.devices} devices at 1 Hz, lost {lost}, stored {one:.0f} events/s, "
            f"bare subscriber {bare:.0f} events/s, ratio {one / bare:.2f}, "
            f"alarm to console p99 {p99:.0f} ms"
        )
        return 0
    finally:
        broker.terminate()
        broker.wait(10)
        if server is not None:
            server.stop()
            shutil.rmtree(server.folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
