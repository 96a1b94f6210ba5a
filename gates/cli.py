"""`muontra gate --config FILE`: run the security gate (inventory loops, alarms, people counter).

Opens the gate's readers, outputs and beams, serves the local API on the
configured Unix socket and tells systemd it is ready. The watchdog is fed only
while every loop keeps going round, so a reader loop stuck in a driver gets
the service restarted rather than a gate that silently stopped alarming.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from kiosk import sdnotify
from kiosk.config import ConfigError, load_config

log = logging.getLogger(__name__)


TELEMETRY_EVERY = 60.0
"""Seconds between health reports to central monitoring."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    parser.add_argument("--config", required=True, type=Path, help="the gate's TOML file")
    parser.add_argument("--socket", type=Path, help="override device.api_socket")
    parser.add_argument("--data-dir", type=Path, help="override device.data_dir")
    parser.add_argument(
        "--no-ils", action="store_true", help="do not ask the ILS for titles of alarming items"
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, secrets=True)
    except ConfigError as error:
        print(f"muontra gate: {args.config} has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if config.device.role != "gate":
        print(
            f"muontra gate: {args.config} is a {config.device.role!r} device, not a gate;"
            ' run `muontra kiosk` (or set device.role = "gate")',
            file=sys.stderr,
        )
        return 2
    if args.data_dir:
        config.device.data_dir = args.data_dir
    if args.socket:
        config.device.api_socket = args.socket

    from gates.api import GateApiServer
    from gates.controller import GateController, ItemLookup
    from gates.store import GateStore
    from kiosk.engine.embedded_ils import EmbeddedIls
    from kiosk.engine.events import EventBus
    from kiosk.ils.client import IlsClient

    # Reader loops, the beam loop and the follow-up worker share the GIL; a short
    # switch interval keeps an inventory answer from waiting behind another slice.
    sys.setswitchinterval(0.0005)
    data_dir = config.device.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    store = GateStore.open(data_dir / "gate.sqlite")
    embedded: EmbeddedIls | None = None
    ils: IlsClient | None = None
    if not args.no_ils:
        settings = config.ils.settings()
        if settings.simulated:
            embedded = EmbeddedIls(data_dir)
            settings = embedded.settings(settings)
        ils = IlsClient(settings)
    bus = EventBus()
    lookup: ItemLookup | None = ils
    gate = GateController(config, bus, ils=lookup, store=store)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gate.start()
    from kiosk.mqtt.service import gate_commands, kiosk_event_for_gate, start_mqtt

    mqtt = start_mqtt(
        config,
        bus,
        gate_commands(bus),
        on_site_event=lambda kind, event: gate.kiosk_event(kiosk_event_for_gate(kind, event)),
        site_event_kinds=("checkout", "checkin", "error"),
    )
    api = GateApiServer(config.device.api_socket, gate)
    api.serve_in_thread()
    print(
        f"muontra gate: {config.device.id} ready with {len(gate.readers)} reader(s); "
        f"API on {config.device.api_socket}",
        file=sys.stderr,
        flush=True,
    )
    sdnotify.notify("READY=1")
    interval = min(sdnotify.watchdog_interval() or 5.0, 5.0)
    started = last_report = time.monotonic()
    try:
        while not stop.wait(interval):
            if mqtt is not None and time.monotonic() - last_report >= TELEMETRY_EVERY:
                last_report = time.monotonic()
                status = gate.status()
                readers = {str(k): str(v) for k, v in (status.get("readers") or {}).items()}
                mqtt.link.publish_telemetry(time.monotonic() - started, readers=readers)
            if gate.healthy():
                sdnotify.notify("WATCHDOG=1")
            else:
                log.error("a gate loop is not running; not feeding the watchdog")
                sdnotify.notify("STATUS=a gate loop is not running; not feeding the watchdog")
    finally:
        sdnotify.notify("STOPPING=1")
        api.close()
        if mqtt is not None:
            mqtt.stop()
        gate.stop()
        if ils is not None:
            ils.close()
        if embedded is not None:
            embedded.stop()
        store.close()
    return 0
