"""Resident memory of each daemon and the touchscreen: idle, and after 1,000 transactions.

Each runs as a real child process, as in production, on simulators over loopback:

- ``muontra kiosk`` (role both) against the ILS simulator over TCP: a cycle of two
  transactions is a patron's login, one checkout on the pad, a printed receipt
  (escpos+file), then the same item's return (checkin) at the return screen;
- ``muontra gate`` with a FEIG reader on a pseudo-terminal whose firmware (and tag
  field) this bench simulates: a transaction is one secured item carried through,
  its alarm awaited;
- the return machine as the scenarios run it (``scenario.sorter_child``: the sorter
  ``muontra sorter`` builds, plus the simulated belt in the same process): a
  transaction is one item dropped, checked in and sorted; the plain
  ``muontra sorter`` on the example config is measured idle beside it;
- ``muontra central`` on SQLite and a mosquitto on loopback: a transaction is one
  device event stored;
- ``muontra ui`` (QT_QPA_PLATFORM=offscreen) on the kiosk's socket while the
  kiosk's transactions run: every screen they cause is drawn.

RSS is VmRSS from /proc, read once a daemon has sat idle for SETTLE seconds: longer than
the 5 s between the device daemons' own ``malloc_trim`` (central's: 10 s, so it gets two),
so every reading is of what stays resident rather than of free pages a trim is about to
give back (a reading 1 s after the last transaction varied by about 1.5 MB with that).
"idle" is after start. The warm-up is WARMUP transactions, and for the gate until its
event history (HISTORY events, engine.events) is full: first-use imports and caches, and
the bounded fills, which are not growth. The kiosk publishes about 6.5 events per
transaction, so its history is full after about 310 of WARMUP; with the warm-up at 50,
that fill was most of the kiosk's "+2.7 MB per 1,000". The growth is then measured over N
more, and given per 1,000 over all N and over each half: a bounded fill shows in the
first half only, a leak in both. Goals (issue 15): no daemon above 80 MB, growth under
1 MB per 1,000. Measured on this machine (x86-64); a Raspberry Pi's figures differ a
little (64-bit ARM, the same Python) and are not measured here.

    .venv/bin/python bench/footprint.py [--transactions N] [--only kiosk,gate,…]
        [--daemon-python /path/to/lean/venv/bin/python]

The last line reads exactly
``footprint: max rss M MB (daemon D), max growth G MB per 1000``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from sqlalchemy import select  # noqa: E402

from drivers.sim.devices import FeigFirmware  # noqa: E402
from drivers.sim.field import TagField  # noqa: E402
from drivers.sim.reader import item_tag  # noqa: E402
from drivers.sim.serial_peer import SerialPeer  # noqa: E402
from drivers.sim.timing import AirTiming, SerialLine  # noqa: E402
from engine.mqtt.paho_loop import stop_loop  # noqa: E402
from ilssim.models import Item as IlsItem  # noqa: E402
from ilssim.running import running_simulator  # noqa: E402
from kiosk.api import ApiClient  # noqa: E402
from protocols.mqtt import payloads  # noqa: E402
from protocols.mqtt.topics import Channel, build_topic  # noqa: E402
from protocols.readers.feig import FeigParser  # noqa: E402
from scenario.runner import device_config  # noqa: E402
from scenario.sorter_run import sorter_config  # noqa: E402

WARMUP = 400
CENTRAL_WARMUP = 4000
"""Central's warm-up, in device events: its SQLite connections fill their page caches
(SQLite's default, 2 MiB each) over its first few thousand events, a bounded fill that
took most of its first 1,000 (first half +1.48 MB per 1,000, second +0.55). A fleet of
1,000 devices sends 4,000 events in 4 s."""
"""Transactions before the growth is measured (see the docstring): enough to fill the
kiosk's 2,000-event history (about 310 transactions)."""
HISTORY = 2000
"""engine.events.EventBus's history: the warm-up fills it before measuring the growth."""
SETTLE = 6.0
"""Seconds idle before a reading: one malloc_trim of the device daemons (every 5 s)."""
GOAL_MB = 80.0
GOAL_GROWTH = 1.0
SITE = "VN-HN0001"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS in /proc: this bench reads memory on Linux")


@dataclass
class Figures:
    name: str
    daemon: bool
    idle: float
    warm: float | None = None
    mid: float | None = None
    """After the first half of the measured transactions."""
    after: float | None = None
    transactions: int = 0
    note: str = ""

    @property
    def growth(self) -> float | None:
        if self.warm is None or self.after is None or not self.transactions:
            return None
        return (self.after - self.warm) / self.transactions * 1000

    @property
    def halves(self) -> tuple[float, float] | None:
        """Growth per 1,000 over the first and over the second half of the transactions."""
        if self.warm is None or self.mid is None or self.after is None or self.transactions < 2:
            return None
        half = self.transactions / 2
        return (self.mid - self.warm) / half * 1000, (self.after - self.mid) / half * 1000

    @property
    def peak(self) -> float:
        return max(v for v in (self.idle, self.warm, self.mid, self.after) if v is not None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def child(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
    """A child process logging to ``log``, terminated (then killed) at the end."""
    out = open(log, "ab")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=out, stderr=out, env={**os.environ, **(env or {})}
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        out.close()


def api(process: Any, path: Path, log: Path, limit: float = 60) -> ApiClient:
    """The daemon's local API once its socket answers."""
    deadline = time.monotonic() + limit
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[2:4]} exited at start; see {log}")
        try:
            return ApiClient(path, timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"no API on {path} in {limit:.0f} s; see {log}") from None
            time.sleep(0.05)


def wait_for(client: ApiClient, what: Callable[[dict[str, Any]], bool], label: str) -> None:
    """Take events up to the first that ``what`` accepts; SystemExit after 30 s without it.

    Looks in ``client.events`` before waiting: an event that arrives before the answer
    to a command is moved there by ``ApiClient.call``, and ``next_event`` does not hand
    it out again. On a loaded machine a checkout can be told before ``sim_place`` is
    answered; waiting on ``next_event`` alone then hung for 30 s with the kiosk done.
    """
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while True:
        for index, event in enumerate(client.events):
            if what(event):
                del client.events[: index + 1]
                return
        seen = [*seen, *client.events][-10:]
        client.events.clear()
        left = deadline - time.monotonic()
        if left <= 0:
            break
        client.next_event(left)  # kept in client.events, looked at above
    shown = [{k: e.get(k) for k in ("event", "outcome", "item_id", "mode")} for e in seen]
    try:
        status = client.result("status")
    except Exception as error:
        status = {"error": repr(error)}
    raise SystemExit(f"timed out waiting for {label}; last events: {shown}; status: {status}")


def settle(seconds: float = SETTLE) -> None:
    """Let the daemon come to rest and trim its heap before reading RSS (a figure, not a test)."""
    time.sleep(seconds)


def measure(
    figures: Figures, pid: int, count: int, one: Callable[[int], None], per: int = 1
) -> None:
    """``one(n)`` for n in range(count), ``per`` transactions each; RSS after each half."""
    half = count // 2
    for n in range(half):
        one(n)
    settle()
    figures.mid = rss_mb(pid)
    for n in range(half, count):
        one(n)
    settle()
    figures.after = rss_mb(pid)
    figures.transactions = count * per


DAEMON = {"python": sys.executable}
"""The interpreter of the daemons (--daemon-python): a device's lean venv measures as on
the device; this bench's own venv also holds the test tools (pygments, which mako then
loads, and the like). The touchscreen always runs on this one, which has Qt."""


def muontra(*args: str, python: str | None = None) -> list[str]:
    return [python or DAEMON["python"], "-m", "muontra", *args]


# --- kiosk (and the touchscreen on it) -------------------------------------------------------


def _kiosk_cycle(client: ApiClient, item: str) -> None:
    """One patron: log in, borrow ``item`` on the pad, print the receipt; then return it."""

    def outcome(wanted: str) -> Callable[[dict[str, Any]], bool]:
        return lambda e: (
            e.get("event") == "item" and e.get("item_id") == item and e.get("outcome") == wanted
        )

    def removed(uid: str) -> Callable[[dict[str, Any]], bool]:
        # This tag's removal, seen by the pad: placed again before that, it would be the
        # same tag never gone, and no new arrival (so no return) would follow.
        return lambda e: e.get("event") == "tag_removed" and e.get("uid") == uid

    client.result("identify", method="typed", value="P0001")
    client.result("pin", pin="1234")
    uid = client.result("sim_place", item_id=item)["uid"]
    wait_for(client, outcome("checked_out"), f"the checkout of {item}")
    client.result("done")
    client.result("receipt", method="print")
    client.result("sim_remove", item_id=item)
    wait_for(client, removed(uid), f"{item} taken off the pad")
    client.result("return_mode")
    client.result("sim_place", item_id=item)
    wait_for(client, outcome("returned"), f"the return of {item}")
    client.result("sim_remove", item_id=item)
    wait_for(client, removed(uid), f"{item} taken off the pad")
    client.result("cancel")


def kiosk_and_ui(directory: Path, transactions: int, with_ui: bool) -> list[Figures]:
    results: list[Figures] = []
    with running_simulator(directory / "ils.sqlite", 20, 7) as (sim, _store):
        config, path = device_config(directory, sim.port, {"role": "both", "idle_timeout": 600})
        log = directory / "kiosk.log"
        with child(muontra("kiosk", "--config", str(config)), log) as kiosk:
            client = api(kiosk, path, log)
            client.result("subscribe")
            settle()
            figures = Figures("kiosk", True, rss_mb(kiosk.pid))
            ui_figures: Figures | None = None
            ui_log = directory / "ui.log"
            ui_command = muontra(
                "ui",
                "--socket",
                str(path),
                "--windowed",
                "--device",
                "kiosk",
                python=sys.executable,
            )
            with child(ui_command, ui_log, {"QT_QPA_PLATFORM": "offscreen"}) as ui:
                if with_ui:
                    _wait_ui(ui, ui_log)
                    ui_figures = Figures("ui", False, rss_mb(ui.pid))
                else:
                    ui.terminate()
                items = ["B0001", "B0002", "B0003"]
                # Each cycle is two transactions at the ILS: a checkout and a checkin.
                for n in range(WARMUP // 2):
                    _kiosk_cycle(client, items[n % len(items)])
                settle()
                figures.warm = rss_mb(kiosk.pid)
                if ui_figures is not None:
                    ui_figures.warm = rss_mb(ui.pid)
                cycle = lambda n: _kiosk_cycle(client, items[n % len(items)])  # noqa: E731
                measure(figures, kiosk.pid, transactions // 2, cycle, per=2)
                figures.note = "checkout + receipt + return"
                if ui_figures is not None:
                    ui_figures.after = rss_mb(ui.pid)
                    ui_figures.transactions = transactions
                    ui_figures.note = "offscreen, drawing the kiosk's screens"
            client.close()
        results.append(figures)
        if ui_figures is not None:
            results.append(ui_figures)
    return results


def _wait_ui(ui: Any, log: Path) -> None:
    """The touchscreen is up once it has connected and drawn: its RSS stops climbing."""
    deadline = time.monotonic() + 60
    last = 0.0
    while time.monotonic() < deadline:
        if ui.poll() is not None:
            raise SystemExit(f"muontra ui exited (status {ui.returncode}); see {log}")
        now = rss_mb(ui.pid)
        if now > 40 and abs(now - last) < 0.5:
            return
        last = now
        time.sleep(0.5)
    raise SystemExit(f"muontra ui did not settle in 60 s; see {log}")


# --- gate ----------------------------------------------------------------------------------

GATE_CONFIG = """
[device]
id = "gate-01"
site = "{site}"
role = "gate"
data_dir = "{data}"
api_socket = "{socket}"

[ils]
url = "sip2://127.0.0.1:{port}?institution=MUONTRA"

[devices]
outputs = "gpio://?red=17&buzzer=22&mock=1"

[security]
policy = "afi"

[gate]
readers = ["feig+serial://{link}?baud=38400"]
alarm_outputs = ["red", "buzzer"]
alarm_seconds = 0.1
beams = "gpio+in://?beam_a=5&beam_b=6&mock=1"
"""


def gate(directory: Path, transactions: int) -> list[Figures]:
    field = TagField()
    line = SerialLine(38400, parity=True)
    peer = SerialPeer(
        directory / "gate-reader", field, FeigParser, FeigFirmware(field, AirTiming()), line=line
    ).start()
    with running_simulator(directory / "ils.sqlite", 20, 7) as (sim, _store):
        config = directory / "gate.toml"
        path = directory / "gate.sock"
        config.write_text(
            GATE_CONFIG.format(
                site=SITE, data=directory / "gate-data", socket=path, port=sim.port, link=peer.link
            ),
            encoding="utf-8",
        )
        log = directory / "gate.log"
        try:
            with child(muontra("gate", "--config", str(config)), log) as process:
                client = api(process, path, log)
                client.result("subscribe")
                settle()
                figures = Figures("gate", True, rss_mb(process.pid))

                sequence = [0]

                def alarm_of(item: str) -> Callable[[dict[str, Any]], bool]:
                    def seen(e: dict[str, Any]) -> bool:
                        sequence[0] = max(sequence[0], int(e.get("seq", 0)))
                        return e.get("event") == "alarm" and e.get("item_id") == item

                    return seen

                def carry(n: int) -> None:
                    item = f"G{n:06d}"
                    tag = field.place(item_tag(item))
                    wait_for(client, alarm_of(item), f"the alarm of {item}")
                    field.remove(tag.uid)

                warm = 0
                while warm < WARMUP or sequence[0] < HISTORY:
                    carry(warm)
                    warm += 1
                settle()
                figures.warm = rss_mb(process.pid)
                measure(figures, process.pid, transactions, lambda n: carry(warm + n))
                figures.note = f"secured items carried out, alarm each (warm-up {warm})"
                client.close()
        finally:
            peer.stop()
    return [figures]


# --- sorter --------------------------------------------------------------------------------


def _drop(client: ApiClient, barcodes: list[str]) -> None:
    client.result("sim_feed", items=barcodes)
    deadline = time.monotonic() + 30 + len(barcodes)
    # Only the items on their way: the whole list, five times a second, is the harness's work.
    while (belt := client.result("sim_belt", moving_only=True))["moving"]:
        if time.monotonic() > deadline:
            stuck = [i for i in belt["items"] if i.get("left_at") is None][:5]
            raise SystemExit(f"the sorter's belt did not empty: {belt['moving']} moving; {stuck}")
        time.sleep(0.2)


def sorter(directory: Path, transactions: int, rate: float = 10.0) -> list[Figures]:
    results: list[Figures] = []
    example = (ROOT / "config" / "sorter.example.toml").read_text(encoding="utf-8")
    plain = directory / "sorter-plain.toml"
    plain.write_text(
        example.replace("/var/lib/muontra-sorter", str(directory / "plain-data")).replace(
            "/run/muontra-sorter/sorter.sock", str(directory / "plain.sock")
        ),
        encoding="utf-8",
    )
    log = directory / "sorter-plain.log"
    with child(muontra("sorter", "--config", str(plain)), log) as process:
        api(process, directory / "plain.sock", log).close()
        settle()
        results.append(
            Figures("sorter", True, rss_mb(process.pid), note="muontra sorter, example config")
        )
    needed = WARMUP + transactions
    with running_simulator(directory / "sorter-ils.sqlite", needed + 100, 1) as (sim, store):
        with store.read() as session:
            barcodes = list(
                session.scalars(
                    select(IlsItem.barcode)
                    .where(IlsItem.set_parts == 1, IlsItem.barcode.like("3%"))
                    .order_by(IlsItem.barcode)
                    .limit(needed)
                )
            )
        if len(barcodes) < needed:
            raise SystemExit(f"the simulator has only {len(barcodes)} single-part items")
        big = needed * 2
        capacities = ("capacity_1", "capacity_2", "capacity_hold", "capacity_transit", "capacity_x")
        config, path = sorter_config(
            directory, sim.port, {"rate": rate, "ils_timeout": 5, **dict.fromkeys(capacities, big)}
        )
        log = directory / "sorter.log"
        # The harness lists the last 50 items gone (not all it fed): the sorter's own growth.
        harness = ["-m", "scenario.sorter_child", "--keep", "50", "--config", str(config)]
        command = [DAEMON["python"], *harness]
        with child(command, log) as process:
            client = api(process, path, log)
            settle()
            figures = Figures("sorter+belt", True, rss_mb(process.pid))
            _drop(client, barcodes[:WARMUP])
            settle()
            figures.warm = rss_mb(process.pid)
            for start in range(WARMUP, needed, 100):
                _drop(client, barcodes[start : min(start + 100, needed)])
            settle()
            figures.after = rss_mb(process.pid)
            figures.transactions = transactions
            figures.note = f"items sorted (belt at {rate:g}x, simulated belt in-process)"
            client.close()
        results.append(figures)
    return results


# --- central -------------------------------------------------------------------------------


def _broker(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    user = "user root\n" if os.geteuid() == 0 else ""
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"{user}persistence false\nallow_anonymous true\nlistener {port} 127.0.0.1\n",
        encoding="utf-8",
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


def _stored(database: Path) -> int:
    try:
        with sqlite3.connect(database) as db:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.Error:
        return 0


def central(directory: Path, transactions: int) -> list[Figures]:
    broker, port = _broker(directory)
    database = directory / "central.db"
    config = directory / "central.toml"
    config.write_text(
        f"""
[central]
timezone = "Asia/Ho_Chi_Minh"
[central.database]
url = "sqlite:///{database}"
[central.mqtt]
host = "127.0.0.1"
port = {port}
tls = false
client_id = "central-bench"
""",
        encoding="utf-8",
    )
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-devices")
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    sent = 0

    def event(device: str) -> tuple[str, bytes]:
        envelope = payloads.Envelope(
            payloads.new_id(), payloads.iso_time(time.time()), device, SITE
        )
        message = payloads.Event(envelope, "checkout", {"success": True, "item_id": "B0001"})
        topic = build_topic("muontra", SITE, device, Channel.EVENTS, "checkout")
        return topic, payloads.encode(message)

    def publish(count: int) -> None:
        nonlocal sent
        # In batches the broker queues whole (mosquitto keeps 1000 messages per client
        # by default and drops the rest when central falls behind a publisher this fast).
        for n in range(count):
            sent += 1
            publisher.publish(*event(f"kiosk-{sent % 50:02d}"), qos=1).wait_for_publish(10)
            if n % 500 == 499 or n == count - 1:
                deadline = time.monotonic() + 60
                while _stored(database) < sent:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"central stored {_stored(database)} of {sent} in 60 s")
                    time.sleep(0.1)

    log = directory / "central.log"
    try:
        with child(muontra("central", "--config", str(config), "run"), log) as process:
            deadline = time.monotonic() + 60
            # Ready once its subscription is in: a probe event published until one is stored.
            while _stored(database) == 0:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"muontra central did not start storing; see {log}")
                publisher.publish(*event("kiosk-probe"), qos=1)
                time.sleep(0.3)
            sent = _stored(database)
            settle()
            figures = Figures("central", True, rss_mb(process.pid))
            publish(CENTRAL_WARMUP)
            settle(2 * SETTLE)  # central trims every 10 s
            figures.warm = rss_mb(process.pid)
            publish(transactions // 2)
            settle(2 * SETTLE)
            figures.mid = rss_mb(process.pid)
            publish(transactions - transactions // 2)
            settle(2 * SETTLE)
            figures.after = rss_mb(process.pid)
            figures.transactions = transactions
            figures.note = "device events stored (SQLite)"
    finally:
        publisher.disconnect()
        stop_loop(publisher)
        broker.terminate()
        broker.wait(10)
    return [figures]


# --- the report ----------------------------------------------------------------------------

PARTS: dict[str, Callable[[Path, int], list[Figures]]] = {
    "kiosk": lambda d, n: kiosk_and_ui(d, n, with_ui=False),
    "ui": lambda d, n: kiosk_and_ui(d, n, with_ui=True),
    "gate": gate,
    "sorter": sorter,
    "central": central,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument(
        "--only", default="kiosk,ui,gate,sorter,central", help="a comma-separated subset"
    )
    parser.add_argument(
        "--daemon-python",
        default=sys.executable,
        help="the interpreter of the daemons, e.g. a venv with only the device extras",
    )
    args = parser.parse_args()
    DAEMON["python"] = args.daemon_python
    os.chdir(ROOT)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown parts: {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}")
    if "ui" in chosen and "kiosk" in chosen:
        chosen.remove("kiosk")  # the ui run measures the kiosk under it too
    results: list[Figures] = []
    print(f"daemons on {DAEMON['python']}, the touchscreen on {sys.executable}")
    print(
        f"warm-up: {WARMUP} transactions (the gate: until its {HISTORY}-event history is "
        f"full; central: {CENTRAL_WARMUP} events)"
    )
    print(
        f"{'process':<12} {'idle':>7} {'warm':>7} {'after':>7} {'growth/1000':>12} "
        f"{'1st half':>9} {'2nd half':>9}  what"
    )
    for name in chosen:
        directory = Path(tempfile.mkdtemp(prefix=f"muontra-footprint-{name}-"))
        started = time.monotonic()
        found = PARTS[name](directory, args.transactions)
        for f in found:  # printed as each part ends: a long run that fails keeps the rest
            warm = f"{f.warm:7.1f}" if f.warm is not None else f"{'-':>7}"
            after = f"{f.after:7.1f}" if f.after is not None else f"{'-':>7}"
            growth = f"{f.growth:+12.2f}" if f.growth is not None else f"{'-':>12}"
            halves = (
                f"{f.halves[0]:+9.2f} {f.halves[1]:+9.2f}" if f.halves else f"{'-':>9} {'-':>9}"
            )
            print(
                f"{f.name:<12} {f.idle:7.1f} {warm} {after} {growth} {halves}  {f.note}",
                flush=True,
            )
        results += found
        print(f"  ({name}: {time.monotonic() - started:.0f} s, logs in {directory})", flush=True)
    daemons = [f for f in results if f.daemon] or results
    top = max(daemons, key=lambda f: f.peak)
    growths = [f.growth for f in results if f.growth is not None]
    over = [f.name for f in daemons if f.peak > GOAL_MB]
    if over:
        print(f"above the {GOAL_MB:.0f} MB goal: {', '.join(over)}")
    print(
        f"footprint: max rss {top.peak:.0f} MB (daemon {top.name}), "
        f"max growth {max(growths, default=0.0):.2f} MB per 1000"
    )


if __name__ == "__main__":
    main()
