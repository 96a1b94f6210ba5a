"""The staff side of one ``muontra central`` process: alerts, commands, the API, Home Assistant.

core's service owns the MQTT client and the ingest; it hands this object what it
stores (:meth:`StaffSide.observe`), calls :meth:`StaffSide.on_connect` from its
on_connect (to subscribe to results and Home Assistant's status), and
:meth:`StaffSide.start` / :meth:`StaffSide.stop` with the rest.

Several central processes share the fleet's stream, so one process may raise an
alert and another hear its cause go away: every ``sync_every`` seconds the tick
reloads the open alerts from the database, which is the one truth, and passes the
ones other processes raised to this process's live streams.

Security (issue 15, docs/central-security.md): every stored ``security`` event goes to
the live stream as it is (kind ``security``; its fields are a closed list with no
patron data); a warning or critical one raises an alert (central/security_rules.py),
and the stored batch is joined with the site's other events (central/security_joins.py).
Staff are told at once (the ``on_alert`` hook) of critical security alerts, as of every
other rule; a warning waits in the list. An open security alert seen again grows its
count, and the stream says so (kind ``alert_update``, the alert as stored); one nothing
repeated for ``security_quiet_s`` is cleared by the tick. Home Assistant gets each
device's open security alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.orm import Session

from central.accounts import Staff
from central.alert_values import Cleared, Counted, Raised
from central.alerts import AlertEvaluator, AlertKey, AlertStore, AlertView, Change
from central.api import ApiServer, FleetReader
from central.broker_log import DEVICE, LOG_TOPIC, RULE, RefusedLogins, is_refusal
from central.command_signing import SiteKeys
from central.commands import CommandBook, CommandLink
from central.homeassistant import HomeAssistantLink
from central.security_joins import SITE_WIDE, SecurityJoins
from central.security_rules import SECURITY_RULES
from central.settings_ops import AlertsSection, ApiSection, HomeAssistantSection
from protocols.allocator import release_free_memory
from protocols.mqtt import payloads
from protocols.mqtt.security_schema import SECURITY_EVENT, Threat

__all__ = ["AlertHook", "StaffSide", "role_of"]

log = logging.getLogger(__name__)
AlertHook = Callable[[AlertView, list[Staff]], None]
COMMAND_TIMEOUT_S = 120.0
"""An unanswered command is marked timed out after this (devices refuse it after 300 s)."""


def role_of(message: payloads.Event) -> str | None:
    """What kind of device sent ``message``, when its event says so (for Home Assistant)."""
    data = message.data
    if message.kind in ("alarm", "people"):
        return "gate"
    if isinstance(data.get("destination"), str):
        return "sorter"
    if message.kind in ("checkout", "renew"):
        return "kiosk"
    return None


TRIM_EVERY = 10.0
"""Seconds between giving the C heap's free pages back (:func:`release_free_memory`)."""


class StaffSide:
    def __init__(
        self,
        sessions: Callable[[], Session],
        client: mqtt.Client,
        prefix: str,
        *,
        alerts: AlertsSection,
        api: ApiSection,
        homeassistant: HomeAssistantSection,
        fleet: FleetReader | None = None,
        on_alert: AlertHook | None = None,
        clock: Callable[[], float] = time.time,
        tick_every: float = 1.0,
        sync_every: float = 5.0,
        keys: SiteKeys | None = None,
    ) -> None:
        self.clock = clock
        self.rules = alerts
        self.evaluator = AlertEvaluator(alerts)
        self.alerts = AlertStore(sessions)
        self.joins = SecurityJoins(sessions, alerts)
        self.book = CommandBook(sessions, prefix, keys=keys)
        self.commands = CommandLink(client, self.book, clock)
        self.homeassistant = (
            HomeAssistantLink(client, homeassistant, prefix) if homeassistant.enabled else None
        )
        self.api = (
            ApiServer(
                api,
                sessions,
                alerts=self.alerts,
                book=self.book,
                send=self.commands.send,
                evaluator=self.evaluator,
                fleet=fleet,
                clock=clock,
            )
            if api.enabled
            else None
        )
        self.client = client
        self.refusals: RefusedLogins | None = None
        if alerts.enabled and alerts.security and alerts.broker_refusals > 0:
            self.refusals = RefusedLogins(alerts.broker_refusals, alerts.broker_window_s)
            client.message_callback_add(LOG_TOPIC, self._on_broker_log)
        self.on_alert = on_alert
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tick_every = tick_every
        self._sync_every = sync_every
        self._synced = float("-inf")
        self._streamed: set[int] = set()
        self._primed = False  # the first sync finds alerts older than this process: no news
        self._thread: threading.Thread | None = None

    def on_connect(self) -> None:
        self.commands.subscribe()
        if self.homeassistant is not None:
            self.homeassistant.subscribe()
        if self.refusals is not None:
            self.client.subscribe(LOG_TOPIC, qos=0)

    def _on_broker_log(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        """A line of the broker's log (paho's thread): a refused login counts (broker_log.py)."""
        if self.refusals is None or not is_refusal(bytes(message.payload)):
            return
        now = self.clock()
        key = AlertKey(RULE, self.rules.broker_site, DEVICE)
        with self._lock:
            many = self.refusals.refused(now)
            if key in self.evaluator.open:
                changes: list[Change] = [Counted(key, now, add=1)]
            elif many:
                evidence = {"count": many, "window_s": self.rules.broker_window_s}
                changes = self.evaluator.security.central(key, now, "warning", many, evidence)
            else:
                return
        self._apply(changes)

    def observe(self, message: Any) -> None:
        """A birth, will, telemetry or event central received (duplicates are harmless)."""
        self.observe_all([message])

    def observe_all(self, messages: list[Any]) -> None:
        """A stored batch's births, wills, telemetry and new events, in order; then the
        site-wide joins of its events. A batch's counts of one alert are stored as one."""
        now = self.clock()
        changes: list[Change] = []
        events: list[payloads.Event] = []
        for message in messages:
            env = message.envelope
            try:
                with self._lock:
                    if isinstance(message, payloads.State):
                        changes += self.evaluator.on_state(env.site, env.device, message.state, now)
                    elif isinstance(message, payloads.Telemetry):
                        changes += self.evaluator.on_telemetry(
                            env.site, env.device, message.readers, message.queues, now
                        )
                    elif isinstance(message, payloads.Event):
                        events.append(message)
                        changes += self.evaluator.on_event(
                            env.site, env.device, message.kind, message.data, now
                        )
                    else:
                        continue
            except Exception:  # one message's bug must not cost the batch's other alerts
                log.exception("central: the alert rules failed on a %s", type(message).__name__)
                continue
            if self.homeassistant is not None:
                role = role_of(message) if isinstance(message, payloads.Event) else None
                if self.homeassistant.seen(env.site, env.device, role):
                    self._tell_home_assistant({(env.site, env.device)})
            if (
                self.api is not None
                and isinstance(message, payloads.Event)
                and message.kind == SECURITY_EVENT
            ):
                self.api.broadcast("security", env.site, _security_body(message))
        changes += self._joined(events, now)
        self._apply(_merged(changes))

    def _joined(self, events: list[payloads.Event], now: float) -> list[Change]:
        """Alerts central finds by joining the site's devices' events (cards, clones)."""
        if not events:
            return []
        findings = self.joins.find(events)
        changes: list[Change] = []
        with self._lock:
            for found in findings:
                key = found.key
                if key.rule == Threat.CLONED_TAG and any(
                    k.rule == key.rule and k.site == key.site and k.subject == key.subject
                    for k in self.evaluator.open
                    if k.device != SITE_WIDE
                ):
                    continue  # a device already said so; its alert is the one staff see
                changes += self.evaluator.security.central(
                    key, now, found.severity, found.total, found.evidence
                )
        return changes

    def _apply(self, changes: list[Change]) -> None:
        if not changes:
            return
        raised = self.alerts.apply(changes)
        with self._lock:
            # Whoever marks an alert streamed first streams it: this, or tick()'s sync
            # when it read the alert from the store between its commit and here.
            fresh = [alert for alert in raised if alert.id not in self._streamed]
            self._streamed.update(alert.id for alert in fresh)
        # The consoles first (staff at the desk see it now), then the log and the hook.
        if self.api is not None:
            for alert in fresh:
                self.api.broadcast("alert", alert.site, alert.as_json())
        for alert in raised:
            # Rule, site and device only: an alert's subject is an item id or a card's
            # patron_ref (a keyed hash), never a patron's id or name.
            log.warning("alert %s at %s/%s", alert.rule, alert.site, alert.device)
        self._hook([alert for alert in raised if alert.severity in (None, "critical")])
        if self.api is not None:
            for change in changes:
                if isinstance(change, Counted):
                    view = self.alerts.counted(change.key)
                    if view is not None:
                        self.api.broadcast("alert_update", view.site, view.as_json())
        self._tell_home_assistant(
            {
                (c.key.site, c.key.device)
                for c in changes
                if c.key.rule in SECURITY_RULES
                and c.key.device != SITE_WIDE
                and isinstance(c, Raised | Cleared)
            }
        )

    def _hook(self, told: list[AlertView]) -> None:
        """The alert hook for each alert, with the staff to tell (one query for a burst)."""
        if self.on_alert is None or not told:
            return
        try:
            recipients = self.alerts.recipients_of(told)
        except Exception:
            log.exception("alert hook: the staff to tell could not be read")
            return
        for alert in told:
            try:
                self.on_alert(alert, recipients[alert.id])
            except Exception:
                log.exception("alert hook failed")

    def _tell_home_assistant(self, devices: set[tuple[str, str]]) -> None:
        if self.homeassistant is None:
            return
        for site, device in sorted(devices):
            self.homeassistant.security(site, device, self.alerts.security_open(site, device))

    def _quiet(self, now: float) -> None:
        """Close the security alerts nothing repeated for the quiet time (in the store, which
        every central process shares), and say so on the stream."""
        closed = self.alerts.clear_quiet(now - self.rules.security_quiet_s, now)
        if not closed:
            return
        with self._lock:
            self.evaluator.closed([AlertKey(v.rule, v.site, v.device, v.subject) for v in closed])
        for view in closed:
            if self.api is not None:
                self.api.broadcast("alert_update", view.site, view.as_json())
        self._tell_home_assistant({(v.site, v.device) for v in closed if v.device != SITE_WIDE})

    def heard(self, seen: list[tuple[str, str, float]]) -> None:
        """(site, device, when) the store last heard each device, from any central process:
        with the stream shared, this process alone hears only some of a device's telemetry."""
        with self._lock:
            for site, device, when in seen:
                self.evaluator.heard_at(site, device, when)

    def tick(self) -> None:
        """Silence checks, the cross-process sync of open alerts, command timeouts."""
        now = self.clock()
        if now - self._synced >= self._sync_every:
            with self._lock:
                before = set(self._streamed)
            views = self.alerts.list_alerts(open_only=True, limit=1_000_000)
            keys = [AlertKey(v.rule, v.site, v.device, v.subject) for v in views]
            with self._lock:
                self.evaluator.sync(keys, now)
                # Alerts another process raised reach this process's streams too (once).
                fresh = [v for v in views if v.id not in self._streamed]
                # The open ones, and those this process raised while the list was read.
                self._streamed = {v.id for v in views} | (self._streamed - before)
            if self._primed and self.api is not None:
                for view in fresh:
                    self.api.broadcast("alert", view.site, view.as_json())
            self._primed = True
            self.book.expire(now - COMMAND_TIMEOUT_S, now)
            self._quiet(now)
            self._synced = now
        with self._lock:
            changes = self.evaluator.tick(now)
        self._apply(changes)

    def _loop(self) -> None:
        trimmed = time.monotonic()
        while not self._stop.wait(self._tick_every):
            try:
                self.tick()
            except Exception:
                log.exception("staff side tick")
            if time.monotonic() - trimmed >= TRIM_EVERY:
                trimmed = time.monotonic()
                release_free_memory()

    def start(self) -> None:
        self.tick()
        if self.api is not None:
            self.api.start()
        self._thread = threading.Thread(target=self._loop, name="central-staff", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.api is not None:
            self.api.stop()
        if self._thread is not None:
            self._thread.join(10)


def _security_body(event: payloads.Event) -> dict[str, Any]:
    """A security event as the live stream shows it: its envelope and its closed fields."""
    env = event.envelope
    return {
        "event_id": env.id,
        "time": env.time,
        "site": env.site,
        "device": env.device,
        **event.data,
    }


def _merged(changes: list[Change]) -> list[Change]:
    """``changes`` with the counts of one open alert folded into one (a flood of re-sent
    events is one update); a raise or clear of the key between keeps them apart."""
    out: list[Change] = []
    pending: dict[AlertKey, int] = {}
    for change in changes:
        if not isinstance(change, Counted):
            pending.pop(change.key, None)
            out.append(change)
            continue
        at = pending.get(change.key)
        if at is None:
            pending[change.key] = len(out)
            out.append(change)
            continue
        held = out[at]
        assert isinstance(held, Counted)
        out[at] = Counted(
            change.key,
            change.time,
            add=held.add + change.add,
            total=change.total if change.total is not None else held.total,
            evidence=change.evidence if change.evidence is not None else held.evidence,
        )
    return out
