"""The kiosk out of service because its journal is damaged, until staff decide.

Exiting would have systemd start the engine again and again, and starting on a
new journal would forget loans that exist only in the damaged one. So the
daemon stays up doing nothing but say why: the local API answers ``status``
(``out_of_service`` with ``journal_damaged``) and refuses everything else with
a message for the screen; the log, systemd's status line and MQTT (a ``device``
event, part ``journal``, state ``damaged``) say the same. When staff have run
``muontra journal recover`` or ``muontra journal accept-new``, the state file
says so and the daemon starts again in place as a working kiosk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import sdnotify
from engine.config.model import DeviceConfig
from engine.events import EventBus
from engine.journal.integrity import Health, JournalDamaged, read_state
from engine.jsonlines import Command, JsonLinesServer, Refusal
from engine.security.api_peers import PeerGate, allowed_uids
from engine.security.reporter import SecurityReporter

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often the state file is read to see whether staff have decided."""

MESSAGE = {
    "code": "journal_damaged",
    "vi": "Máy tạm ngừng phục vụ: nhật ký giao dịch bị hỏng — hãy báo thủ thư",
    "en": "Out of service: the transaction journal is damaged — please tell staff",
}


class JournalRefusal(Refusal):
    def __init__(self) -> None:
        super().__init__("journal_damaged")
        self.message = dict(MESSAGE)


class DamagedKiosk:
    """What the local API talks to instead of an engine while the journal is damaged."""

    def __init__(self, config: DeviceConfig, damaged: JournalDamaged) -> None:
        self.config = config
        self.damaged = damaged
        self.bus = EventBus()

    def status(self) -> dict[str, Any]:
        state = self.damaged.state
        return {
            "device": self.config.device.id,
            "role": self.config.device.role,
            "mode": "out_of_service",
            "out_of_service": True,
            "journal_damaged": {
                "reason": state.reason,
                "since": state.since,
                "set_aside": list(state.set_aside),
                "decide_with": ["muontra journal recover", "muontra journal accept-new"],
            },
            "message": dict(MESSAGE),
            "ils_online": False,
            "session": None,
            "pending": 0,
            "offline_queue": None,
            "attention": [],
        }

    def announce(self) -> None:
        state = self.damaged.state
        log.error("out of service: %s", self.damaged)
        sdnotify.notify(f"STATUS=out of service: journal damaged ({state.reason})"[:200])
        self.bus.publish(
            "device", device="journal", state="damaged", detail=state.reason, message=MESSAGE
        )

    def decided(self) -> bool:
        state = read_state(self.damaged.path)
        return state is not None and state.health in (Health.OK, Health.NEW)


def _refuse(_name: str) -> Command:
    def refuse(_target: Any, _args: dict[str, Any]) -> Any:
        raise JournalRefusal()

    return refuse


COMMANDS: dict[str, Command] = {
    "ping": lambda k, a: {"pong": True},
    "status": lambda k, a: k.status(),
    "history": lambda k, a: {"events": k.bus.history()},
}


def api_server(path: Path, kiosk: DamagedKiosk) -> JsonLinesServer:
    # Out of service or not, the API answers only the users it always does.
    detection = kiosk.config.detection
    gate = PeerGate(
        allowed_uids(detection.api_users),
        SecurityReporter(kiosk.bus, window=detection.report_window),
    )
    return JsonLinesServer(path, kiosk, kiosk.bus, COMMANDS, fallback=_refuse, admits=gate.admits)


def watch_for_decision(
    kiosk: DamagedKiosk, stop: threading.Event, decided: Callable[[], None]
) -> threading.Thread:
    """Call ``decided`` once staff have recovered the journal or accepted a new one."""

    def watch() -> None:
        while not stop.wait(POLL_SECONDS):
            if kiosk.decided():
                log.info("journal decision recorded; starting again")
                decided()
                return

    thread = threading.Thread(target=watch, name="journal-decision", daemon=True)
    thread.start()
    return thread
