"""`muontra kiosk --config FILE`: run the kiosk engine (self-checkout, return station, both).

Starts the devices, finishes what a crash left open (see the journal), serves
the local API on the configured Unix socket and tells systemd it is ready. The
watchdog is fed only while the engine's loops are healthy, so a hung pad loop
gets the service restarted (see :mod:`kiosk.cli_daemon`).
"""

from __future__ import annotations

import argparse
import sys

from kiosk.cli_daemon import Service, add_arguments, load_device


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    add_arguments(parser, "device")


def run(args: argparse.Namespace) -> int:
    config = load_device("kiosk", args)
    if config is None:
        return 2
    if config.device.role == "gate":
        print("muontra kiosk: this config is a gate; run `muontra gate`", file=sys.stderr)
        return 2

    from kiosk.engine.api import ApiServer
    from kiosk.engine.core import Engine
    from kiosk.mqtt.service import kiosk_commands, start_mqtt

    # Several I/O threads (ILS worker, tag worker, pad) hand the GIL to each other
    # all the time; a shorter switch interval keeps an answer that has arrived
    # from waiting behind another thread's slice (the default is 5 ms).
    sys.setswitchinterval(0.0005)
    engine = Engine(config)
    service = Service("kiosk", args.config)
    engine.start()
    mqtt = start_mqtt(config, engine.bus, kiosk_commands(engine, service.reload))

    def report() -> None:
        status = engine.status()
        assert mqtt is not None
        mqtt.link.publish_telemetry(
            status["uptime"],
            readers={"pad": status["reader"]},
            queues={
                "offline": status["offline_queue"],
                "pending": status["pending"],
                "attention": len(status["attention"]),
            },
        )

    api = ApiServer(config.device.api_socket, engine)
    api.serve_in_thread()
    try:
        service.serve(
            f"{config.device.id} ready ({config.device.role}); API on {config.device.api_socket}",
            engine.healthy,
            report if mqtt is not None else None,
        )
    finally:
        api.close()
        if mqtt is not None:
            mqtt.stop()
        engine.stop()
    return service.finish()
