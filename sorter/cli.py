"""`muontra sorter --config FILE`: run the return machine (belt, tunnel reader, bins).

Opens the conveyor and the tunnel reader, settles what the journal left open
and what was on the belt at the last stop, serves the local API on the
configured Unix socket and tells systemd it is ready. The watchdog is fed only
while the belt loop and the maintenance loop keep going round, so a loop stuck
in a driver gets the service restarted rather than a machine that silently
stopped sorting (the PLC's own watchdog stops the belt meanwhile).
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack

from engine.cli_daemon import Service, add_arguments, load_device
from engine.config.model import Role


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    add_arguments(parser, "return machine")


def run(args: argparse.Namespace) -> int:
    config = load_device("sorter", args)
    if config is None:
        return 2
    if config.device.role is not Role.SORTER:
        print(
            f"muontra sorter: {args.config} is a {str(config.device.role)!r} device, not a "
            'return machine with bins; set device.role = "sorter"',
            file=sys.stderr,
        )
        return 2

    from engine.events import EventBus
    from engine.mqtt.service import start_mqtt
    from engine.security.api_peers import PeerGate, allowed_uids
    from engine.security.reporter import SecurityReporter
    from engine.tamper.guard import guard_for
    from sorter.api import SorterApiServer
    from sorter.flight import HISTORY
    from sorter.service import build_sorter, sorter_commands

    service = Service("sorter", args.config)
    bus = EventBus(history=HISTORY)
    reporter = SecurityReporter(bus)
    guard = guard_for(config, bus, reporter, args.config)

    def reload() -> str | None:
        problems = service.reload()
        if problems is None:
            guard.reloading()  # the reload's own re-read is no tampering
        return problems

    with ExitStack() as stack:
        sorter = build_sorter(config, stack, bus=bus, reporter=reporter)
        sorter.start()
        stack.callback(sorter.stop)
        # The PLC lost in opening hours, the case, the config file, the clock (issue 15).
        guard.start()
        stack.callback(guard.stop)
        started = time.monotonic()
        # h-sorter-ops: the sorter's MQTT events (item sorted, exception, bin full, bin
        # emptied, belt stopped, PLC lost) go out through this bridge once protocols/mqtt
        # knows them; the command handler is the sorter's own.
        mqtt = start_mqtt(config, sorter.bus, sorter_commands(sorter, reload))
        if mqtt is not None:
            stack.callback(mqtt.stop)

        def report() -> None:
            assert mqtt is not None
            status = sorter.status()
            mqtt.link.publish_telemetry(
                time.monotonic() - started, readers={"conveyor": status["link"]}
            )

        # Only the daemon's own user and detection.api_users may use the socket (issue 15).
        peers = PeerGate(allowed_uids(config.detection.api_users), reporter)
        api = SorterApiServer(config.device.api_socket, sorter, admits=peers.admits)
        api.serve_in_thread()
        stack.callback(api.close)
        service.serve(
            f"{config.device.id} ready with {len(sorter.settings.bins)} bin(s); "
            f"API on {config.device.api_socket}",
            sorter.healthy,
            report if mqtt is not None else None,
        )
    return service.finish()
