"""`muontra kiosk --config FILE`: run the kiosk engine (self-checkout, return station, both).

Starts the devices, finishes what a crash left open (see the journal), serves
the local API on the configured Unix socket and tells systemd it is ready. The
watchdog is fed only while the engine's loops are healthy, so a hung pad loop
gets the service restarted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from kiosk import sdnotify
from kiosk.config import ConfigError, load_config

TELEMETRY_EVERY = 60.0
"""Seconds between health reports to central monitoring."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    parser.add_argument("--config", required=True, type=Path, help="the device's TOML file")
    parser.add_argument("--socket", type=Path, help="override device.api_socket")
    parser.add_argument("--data-dir", type=Path, help="override device.data_dir")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, secrets=True)
    except ConfigError as error:
        print(f"muontra kiosk: {args.config} has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.data_dir:
        config.device.data_dir = args.data_dir
    if args.socket:
        config.device.api_socket = args.socket
    if config.device.role == "gate":
        print("muontra kiosk: this config is a gate; run `muontra gate`", file=sys.stderr)
        return 2

    from kiosk.engine.api import ApiServer
    from kiosk.engine.core import Engine

    # Several I/O threads (ILS worker, tag worker, pad) hand the GIL to each other
    # all the time; a shorter switch interval keeps an answer that has arrived
    # from waiting behind another thread's slice (the default is 5 ms).
    sys.setswitchinterval(0.0005)
    engine = Engine(config)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine.start()
    from kiosk.mqtt.service import kiosk_commands, start_mqtt

    restart = threading.Event()

    def reload() -> str | None:
        """Check the file again; when valid, stop and start again on it (execv below)."""
        try:
            load_config(args.config, secrets=True)
        except ConfigError as error:
            return "; ".join(str(problem) for problem in error.problems)[:500]
        restart.set()
        stop.set()
        return None

    mqtt = start_mqtt(config, engine.bus, kiosk_commands(engine, reload))
    api = ApiServer(config.device.api_socket, engine)
    api.serve_in_thread()
    print(
        f"muontra kiosk: {config.device.id} ready ({config.device.role}); "
        f"API on {config.device.api_socket}",
        file=sys.stderr,
        flush=True,
    )
    sdnotify.notify("READY=1")
    interval = sdnotify.watchdog_interval() or 5.0
    last_report = 0.0
    try:
        while not stop.wait(interval):
            if engine.healthy():
                sdnotify.notify("WATCHDOG=1")
            else:
                sdnotify.notify("STATUS=a loop is not running; not feeding the watchdog")
            if mqtt is not None and time.monotonic() - last_report >= TELEMETRY_EVERY:
                last_report = time.monotonic()
                status = engine.status()
                mqtt.link.publish_telemetry(
                    status["uptime"],
                    readers={"pad": status["reader"]},
                    queues={
                        "offline": status["offline_queue"],
                        "pending": status["pending"],
                        "attention": len(status["attention"]),
                    },
                )
    finally:
        sdnotify.notify("STOPPING=1")
        api.close()
        if mqtt is not None:
            mqtt.stop()
        engine.stop()
    if restart.is_set():
        # The same process id, so systemd's watchdog and notify socket carry over.
        os.execv(sys.executable, [sys.executable, "-m", "muontra", *sys.argv[1:]])
    return 0
