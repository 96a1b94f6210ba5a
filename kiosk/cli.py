"""`muontra kiosk --config FILE`: run the kiosk engine (self-checkout, return station, both).

Starts the devices, finishes what a crash left open (see the journal), serves
the local API on the configured Unix socket and tells systemd it is ready. The
watchdog is fed only while the engine's loops are healthy, so a hung pad loop
gets the service restarted (see :mod:`engine.cli_daemon`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config.model import DeviceConfig
    from engine.journal.integrity import JournalDamaged

from engine.cli_daemon import Service, add_arguments, load_device
from engine.config.model import Role


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    add_arguments(parser, "device")


def run(args: argparse.Namespace) -> int:
    config = load_device("kiosk", args)
    if config is None:
        return 2
    if config.device.role is Role.GATE:
        print("muontra kiosk: this config is a gate; run `muontra gate`", file=sys.stderr)
        return 2
    if config.device.role is Role.SORTER:
        print(
            "muontra kiosk: this config is a return machine; run `muontra sorter`", file=sys.stderr
        )
        return 2

    from engine.mqtt.service import start_mqtt
    from kiosk.api import ApiServer
    from kiosk.core import Engine
    from kiosk.mqtt_commands import kiosk_commands

    # Several I/O threads (ILS worker, tag worker, pad) hand the GIL to each other
    # all the time; a shorter switch interval keeps an answer that has arrived
    # from waiting behind another thread's slice (the default is 5 ms).
    sys.setswitchinterval(0.0005)
    from engine.config.model import SecretError
    from engine.journal.integrity import JournalDamaged
    from engine.journal.pin_verifier import PinKeyError
    from engine.journal.store import JournalUnavailable

    try:
        engine = Engine(config)
    except JournalDamaged as damaged:
        return serve_damaged(config, args, damaged)
    except (JournalUnavailable, PinKeyError, SecretError) as error:
        print(f"muontra kiosk: {error}", file=sys.stderr)
        return 3
    from engine.tamper.guard import guard_for

    service = Service("kiosk", args.config)
    # Device tampering (docs/security.md): the pad lost in opening hours, the
    # case opened, the config edited without a reload, the clock moved.
    guard = guard_for(config, engine.bus, engine.security, args.config)

    def reload() -> str | None:
        problems = service.reload()
        if problems is None:
            guard.reloading()  # the reload's own re-read is no tampering
        return problems

    # MQTT before the engine starts: what the start meets (the ILS refusing our login, its
    # certificate not verifying) is a security event that must reach the outbox.
    mqtt = start_mqtt(config, engine.bus, kiosk_commands(engine, reload))
    engine.start()
    guard.start()

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
        guard.stop()
        if mqtt is not None:
            mqtt.stop()
        engine.stop()
    return service.finish()


def serve_damaged(config: DeviceConfig, args: argparse.Namespace, damaged: JournalDamaged) -> int:
    """Stay up, out of service, saying why, until staff decide (see damaged_journal)."""
    from engine.damaged_journal import DamagedKiosk, api_server, watch_for_decision
    from engine.mqtt.service import start_mqtt

    print(f"muontra kiosk: out of service: {damaged}", file=sys.stderr, flush=True)
    kiosk = DamagedKiosk(config, damaged)
    service = Service("kiosk", args.config)
    mqtt = start_mqtt(config, kiosk.bus, None)
    api = api_server(config.device.api_socket, kiosk)
    api.serve_in_thread()
    kiosk.announce()

    def restart() -> None:
        service.restart.set()
        service.stop.set()

    watch_for_decision(kiosk, service.stop, restart)
    try:
        service.serve(
            f"{config.device.id} OUT OF SERVICE (journal damaged); API on "
            f"{config.device.api_socket}",
            lambda: True,
        )
    finally:
        api.close()
        if mqtt is not None:
            mqtt.stop()
    return service.finish()
