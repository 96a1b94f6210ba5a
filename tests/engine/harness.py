"""An engine on simulators for tests: ILS simulator over TCP, sim:// pad, sim card and scanner.

``Kiosk`` runs the engine in-process (fast, for behaviour); ``KioskProcess``
runs `muontra kiosk` as a real subprocess so tests can kill -9 it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from engine.config import load_config
from ilssim.running import running_simulator
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.api import ApiClient, ApiServer
from kiosk.core import Engine

CONFIG = """
[device]
id = "kiosk-test"
site = "MUONTRA"
role = "{role}"
data_dir = "{data}"
api_socket = "{socket}"

[ils]
url = "sip2://127.0.0.1:{port}?institution=MUONTRA&timeout=6"

[devices]
pad = "sim://{pad}?timing=0&state={data}/pad.json"
card = "card+sim://{pad}-card"
barcode = "barcode+sim://{pad}-scanner"
printer = "escpos+dummy://"

[patron]
pin = "required"
idle_timeout = {idle}
idle_warning = {warning}

[offline]
max_items_per_patron = 2

[tags]
owner_libraries = []
"""


def ils_simulator(path: Path) -> AbstractContextManager[tuple[SimServerThread, Store]]:
    """The tests' ILS: 20 generated items beside the fixtures, always the same ones."""
    return running_simulator(path, 20, 7)


def write_config(
    tmp: Path,
    port: int,
    *,
    role: str = "self-checkout",
    idle: float = 60,
    warning: float = 15,
    extra: str = "",
) -> Path:
    data = tmp / "data"
    text = CONFIG.format(
        role=role,
        data=data,
        socket=tmp / "kiosk.sock",
        port=port,
        pad=f"pad-{tmp.name}",
        idle=idle,
        warning=warning,
    )
    path = tmp / "kiosk.toml"
    path.write_text(text + extra)
    return path


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll a condition the engine reaches on its own threads (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


class Kiosk:
    def __init__(self, config_path: Path) -> None:
        self.config = load_config(config_path)
        self.engine = Engine(self.config)
        self.engine.start()
        self.api = ApiServer(self.config.device.api_socket, self.engine)
        self.api.serve_in_thread()
        self.client = ApiClient(self.config.device.api_socket)
        self.client.subscribe()

    def call(self, cmd: str, **args: Any) -> Any:
        return self.client.result(cmd, **args)

    def event(self, name: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The first event ``name`` (already received or coming) whose fields match."""

        def matches(event: dict[str, Any]) -> bool:
            return event["event"] == name and all(event.get(k) == v for k, v in match.items())

        for event in self.client.events:
            if matches(event):
                self.client.events.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.client.next_event(deadline - time.monotonic())
            if event is not None and matches(event):
                self.client.events.remove(event)
                return event
        raise AssertionError(f"no {name} event matching {match}")

    def close(self) -> None:
        self.client.close()
        self.api.close()
        self.engine.stop()


class KioskProcess:
    """`muontra kiosk` as a real process, started and waited for through its socket."""

    def __init__(self, config_path: Path, socket: Path, env: dict[str, str] | None = None) -> None:
        self.socket = socket
        self.process = subprocess.Popen(
            [sys.executable, "-m", "muontra", "kiosk", "--config", str(config_path)],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for(self._ready, 30, "the engine's socket")
        self.client = ApiClient(socket)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"engine exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        if not self.socket.exists():
            return False
        try:
            ApiClient(self.socket, timeout=2).close()
            return True
        except OSError:
            return False

    def wait_killed(self, timeout: float = 30) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        if self.process.stderr:
            self.process.stderr.close()


def login(kiosk: Kiosk, patron: str = "P0001", pin: str = "1234") -> dict[str, Any]:
    """Identify by typed id and PIN, as the touchscreen does."""
    kiosk.call("identify", method="typed", value=patron)
    return kiosk.call("pin", pin=pin)  # type: ignore[no-any-return]


def afi_of(kiosk: Kiosk, label: str) -> int:
    """The AFI the simulated pad's tag of ``label`` ("B0001", "B0017#2") holds now."""
    from drivers.sim.field import uid_for

    tags = {t["uid"].lower(): t["afi"] for t in kiosk.call("sim_tags")["tags"]}
    return int(tags[uid_for(label).hex()])


def item_events(kiosk: Kiosk, item_id: str) -> list[dict[str, Any]]:
    """Every ``item`` event the engine published about ``item_id``, in order."""
    events = kiosk.engine.bus.history()
    return [e for e in events if e["event"] == "item" and e.get("item_id") == item_id]


def final_item(kiosk: Kiosk, item_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next ``item`` event about ``item_id`` that is an outcome, not "processing"."""
    deadline = time.monotonic() + timeout
    while True:
        event = kiosk.event("item", max(0.0, deadline - time.monotonic()), item_id=item_id)
        if event["outcome"] != "processing":
            return event


def ils_goes_down(kiosk: Kiosk, patron: str = "P0001", pin: str = "1234") -> None:
    """The patron logs in once online (so the kiosk knows her offline), then the ILS
    simulator goes down (``kiosk.engine.ils_simulator`` must be set)."""
    login(kiosk, patron, pin)
    ref = kiosk.engine.session.ref if kiosk.engine.session else ""
    wait_for(lambda: kiosk.engine.cache.lookup(ref), what="the offline patron cache")
    kiosk.call("cancel")
    kiosk.call("sim_ils", down=True)
