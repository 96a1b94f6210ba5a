"""`muontra gate --config FILE`: run the security gate (inventory loops, alarms, people counter).

Opens the gate's readers, outputs and beams, serves the local API on the
configured Unix socket and tells systemd it is ready. The watchdog is fed only
while every loop keeps going round, so a reader loop stuck in a driver gets
the service restarted rather than a gate that silently stopped alarming.
"""

from __future__ import annotations

import argparse
import sys
import time

from engine.cli_daemon import Service, add_arguments, load_device
from engine.config.model import Role


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    add_arguments(parser, "gate")
    parser.add_argument(
        "--no-ils", action="store_true", help="do not ask the ILS for titles of alarming items"
    )


_DAEMON = {Role.SORTER: "sorter"}
"""The daemon of a role other than the gate's, where it is not ``muontra kiosk``."""


def run(args: argparse.Namespace) -> int:
    config = load_device("gate", args)
    if config is None:
        return 2
    if config.device.role is not Role.GATE:
        print(
            f"muontra gate: {args.config} is a {str(config.device.role)!r} device, not a gate;"
            f" run `muontra {_DAEMON.get(config.device.role, 'kiosk')}`"
            ' (or set device.role = "gate")',
            file=sys.stderr,
        )
        return 2

    from engine.events import EventBus
    from engine.ils.client import IlsClient
    from engine.ils.embedded import EmbeddedIls
    from engine.mqtt.service import start_mqtt
    from engine.security.api_peers import PeerGate, allowed_uids
    from engine.security.reporter import SecurityReporter
    from engine.tamper.guard import guard_for
    from gates.api import GateApiServer
    from gates.controller import GateController, ItemLookup
    from gates.mqtt_commands import gate_commands, kiosk_event_for_gate
    from gates.store import GateStore
    from gates.tag_security import TagSecurityWatch

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
    reporter = SecurityReporter(bus)
    tamper = config.tamper
    tag_security = TagSecurityWatch(
        config.security.to_policy(),
        reporter,
        ils=lookup,
        loan_memory=tamper.loan_memory_hours * 3600.0,
        ils_per_minute=tamper.ils_checks_per_minute,
    )
    gate = GateController(config, bus, ils=lookup, store=store, tag_security=tag_security)
    service = Service("gate", args.config)
    guard = guard_for(config, bus, reporter, args.config)

    def reload() -> str | None:
        problems = service.reload()
        if problems is None:
            guard.reloading()  # the reload's own re-read is no tampering
        return problems

    gate.start()
    guard.start()
    started = time.monotonic()
    mqtt = start_mqtt(
        config,
        bus,
        gate_commands(bus, reload),
        on_site_event=lambda kind, event: gate.kiosk_event(kiosk_event_for_gate(kind, event)),
        site_event_kinds=("checkout", "checkin", "error"),
    )

    def report() -> None:
        readers = {str(k): str(v) for k, v in (gate.status().get("readers") or {}).items()}
        assert mqtt is not None
        mqtt.link.publish_telemetry(time.monotonic() - started, readers=readers)

    # Only the daemon's own user and detection.api_users may use the socket (issue 15).
    peers = PeerGate(allowed_uids(config.detection.api_users), reporter)
    api = GateApiServer(config.device.api_socket, gate, admits=peers.admits)
    api.serve_in_thread()
    try:
        service.serve(
            f"{config.device.id} ready with {len(gate.readers)} reader(s); "
            f"API on {config.device.api_socket}",
            gate.healthy,
            report if mqtt is not None else None,
        )
    finally:
        api.close()
        guard.stop()
        if mqtt is not None:
            mqtt.stop()
        gate.stop()
        if ils is not None:
            ils.close()
        if embedded is not None:
            embedded.stop()
        store.close()
    return service.finish()
