"""The kiosk demo: the ILS simulator and the engine on simulated devices, a session for a person.

Everything runs on this machine: the ILS simulator over loopback TCP, the
engine with a sim:// pad, a simulated NFC card reader and a receipt printer,
its local API on a Unix socket. The script plays what a patron and a returning
reader do and prints each event as the touchscreen would show it, in
Vietnamese and English.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from ilssim.running import running_simulator
from ilssim.server import SimServerThread
from kiosk.api import ApiClient, ApiServer
from kiosk.core import Engine
from scenario.runner import device_config


class Show:
    def __init__(self, out: TextIO, client: ApiClient, pause: float) -> None:
        self.out = out
        self.client = client
        self.pause = pause
        self.step = 0
        self.backlog: list[dict[str, Any]] = []

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def title(self, text: str) -> None:
        self.step += 1
        self.say(f"\n── {self.step}. {text}")
        if self.pause:
            time.sleep(self.pause)

    def event(self, event: dict[str, Any]) -> None:
        name = event["event"]
        message = event.get("message")
        if name == "item" and isinstance(message, dict):
            item = event.get("item_id") or event.get("uid", "")
            extra = ""
            if event.get("due_date"):
                extra = f" — hạn trả / due {str(event['due_date'])[:8]}"
            if event.get("ils_message") and not event.get("success"):
                extra += f" — ILS: {event['ils_message']}"
            if isinstance(event.get("alert"), dict):
                extra += f" — {event['alert']['vi']} / {event['alert']['en']}"
            self.say(f"   [{item}] {message['vi']} / {message['en']}{extra}")
        elif name in ("session_started", "account"):
            self.say(
                f"   Xin chào / Hello {event.get('name')!s}"
                f"{' (ngoại tuyến / offline)' if event.get('offline') else ''}; "
                f"ILS: {' '.join(event.get('screen_messages', []))}"
            )
        elif name == "replayed":
            self.say(
                f"   [{event['item_id']}] đồng bộ với ILS / replayed to the ILS: {event['state']}"
            )
        elif name in ("session_ended", "pin_wrong", "idle_warning", "summary"):
            details = {
                k: v
                for k, v in event.items()
                if k in ("reason", "attempts_left", "seconds", "checked_out", "failed")
            }
            self.say(f"   {name} {details}")

    def until(self, name: str, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        """Print events as they come until ``name`` (or find it among those already shown)."""

        def wanted(event: dict[str, Any]) -> bool:
            return event["event"] == name and all(event.get(k) == v for k, v in match.items())

        for event in self.client.events:  # arrived while a command was answered
            self.event(event)
            self.backlog.append(event)
        self.client.events.clear()
        for event in self.backlog:
            if wanted(event):
                self.backlog.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            arrived = self.client.next_event(deadline - time.monotonic())
            self.client.events.clear()
            if arrived is None:
                continue
            self.event(arrived)
            if wanted(arrived):
                return arrived
            self.backlog.append(arrived)
        raise TimeoutError(f"no {name} event {match}")


@contextmanager
def demo_engine() -> Iterator[tuple[Path, SimServerThread]]:
    """The ILS simulator and the engine (role both) on simulated devices, in this process."""
    directory = Path(tempfile.mkdtemp(prefix="muontra-demo-"))
    with running_simulator(directory / "ils.sqlite") as (sim, _store):
        config_path, socket = device_config(directory, sim.port, {"role": "both"})
        from engine.config import load_config

        engine = Engine(load_config(config_path))
        engine.ils_simulator = sim  # the simulator panel's "take the ILS down"
        engine.start()
        api = ApiServer(socket, engine)
        api.serve_in_thread()
        try:
            yield socket, sim
        finally:
            api.close()
            engine.stop()


def play_kiosk(out: TextIO, pause: float = 0.0) -> int:
    with demo_engine() as (socket, sim):
        client = ApiClient(socket)
        client.subscribe()
        show = Show(out, client, pause)
        show.say(f"ILS simulator on 127.0.0.1:{sim.port}; kiosk engine API on {socket}")
        try:
            _script(show, client, sim)
        finally:
            client.close()
    show.say(
        "\nXong / Done. Next: `muontra scenario run tests/scenarios/*.toml`, "
        "`muontra kiosk --help`, `muontra reader scan sim://pad?tags=B0001`."
    )
    return 0


def show_touchscreen(out: TextIO) -> int:
    """The touchscreen and its simulator panel against the demo engine, until closed."""
    with demo_engine() as (socket, sim):
        print(
            f"ILS simulator on 127.0.0.1:{sim.port}; kiosk engine API on {socket}.\n"
            "Patron P0001, PIN 1234; items B0001-B0020 in the simulator panel. "
            "Close the window to stop.",
            file=out,
            flush=True,
        )
        # A child process: the engine layer never imports the UI (DESIGN.md).
        command = [
            sys.executable,
            "-m",
            "muontra",
            "ui",
            "--windowed",
            "--sim-panel",
            "--socket",
            str(socket),
            "--size",
            "900x1400",
        ]
        return subprocess.run(command, check=False).returncode


def _script(show: Show, client: ApiClient, sim: SimServerThread) -> None:
    show.title("Bạn đọc quét thẻ và nhập PIN sai / A patron scans her card, mistypes the PIN")
    client.result("identify", method="barcode", value="P0001")
    show.say("   PIN 0000 → " + client.call("pin", pin="0000")["error"]["vi"])
    show.title("PIN đúng / The right PIN")
    client.result("pin", pin="1234")
    show.until("session_started")

    show.title("Đặt một chồng sách lên bàn đọc / A stack on the pad (one part of a set missing)")
    for item in ("B0001", "B0003", "B0005"):
        client.result("sim_place", item_id=item)
    client.result("sim_place", item_id="B0006", set_size=2, set_index=1)
    for item in ("B0001", "B0003"):
        show.until("item", outcome="checked_out", item_id=item)
    show.until("item", outcome="ils_refused", item_id="B0005")
    show.until("item", outcome="missing_part", item_id="B0006")
    show.title("Đặt phần còn lại của bộ / The missing part is added")
    client.result("sim_place", item_id="B0006", set_size=2, set_index=2)
    show.until("item", outcome="checked_out", item_id="B0006")

    show.title("Mất kết nối ILS giữa chừng / The ILS goes away mid-stack")
    sim.faults.down = True
    sim.drop_all_connections()
    client.result("sim_place", item_id="B0002")
    show.until("item", outcome="offline_checked_out", item_id="B0002")

    show.title("Xong, chọn biên lai QR / Done, receipt as a QR code")
    summary = client.result("done")
    show.say(f"   {summary['checked_out']} mượn / out, {summary['failed']} không / not")
    receipt = client.result("receipt", method="qr")
    for line in receipt["payload"].splitlines():
        show.say(f"   QR │ {line}")

    show.title("ILS trở lại: đồng bộ giao dịch ngoại tuyến / The ILS is back: offline replay")
    sim.faults.down = False
    show.until("replayed", timeout=30, item_id="B0002")

    show.title("Trả sách / Returns (one is held for another patron)")
    client.result("sim_clear")
    client.result("return_mode")
    client.result("sim_place", item_id="B0009", afi=0xC2)
    client.result("sim_place", item_id="B0010", afi=0xC2)
    show.until("item", outcome="returned", item_id="B0009")
    show.until("item", outcome="returned", item_id="B0010")

    show.title("Thống kê / Statistics by hour")
    for row in client.result("statistics")["hours"]:
        show.say(f"   {row['hour'][:13]}h  {row['kind']:<16} {row['count']}")
