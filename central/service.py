"""One ``muontra central`` process in one piece: the ingest and the staff side on one MQTT client.

The ingest (central/ingest.py) owns the paho client and stores the fleet's stream;
the staff side (central/ops.py) raises alerts, sends commands, serves the API and
speaks to Home Assistant on the same client, so central is one broker login (the
only one the ACL lets command). This module joins them:

- what the fleet says reaches the staff side after the transaction that stored
  it: the new events only, so a redelivered alarm raises nothing twice, and the
  newest birth, will or telemetry of each device in the batch;
- the client acknowledges by hand (the ingest acknowledges after commit), so the
  staff side's own subscriptions (command results, Home Assistant's status) are
  acknowledged here once handled, or the broker would hold them in flight forever;
- every ``sync_every`` seconds the store's ``devices.last_seen`` tells the offline
  rule when any central process last heard each device, and Home Assistant gets
  today's counters of the devices that stored events since.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine, select

from central.command_signing import SiteKeys
from central.db import sessions
from central.fleet_reader import StoreFleet
from central.ingest import Ingest
from central.models import Device
from central.ops import AlertHook, StaffSide
from central.settings import CentralSettings
from central.store import StoreResult

__all__ = ["CentralService"]

log = logging.getLogger(__name__)


class CentralService:
    """The ingest and the staff side of one process. :meth:`start`, then :meth:`stop`."""

    def __init__(
        self,
        settings: CentralSettings,
        engine: Engine,
        *,
        on_alert: AlertHook | None = None,
        clock: Callable[[], float] = time.time,
        sync_every: float = 5.0,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sessions = sessions(engine)
        self.fleet = StoreFleet(self.sessions, settings.zone)
        self._dirty: set[tuple[str, str]] = set()
        self._dirty_lock = threading.Lock()
        self._stop = threading.Event()
        self._sync_every = sync_every
        self._thread: threading.Thread | None = None
        self.ingest = Ingest(settings.mqtt, engine, listeners=[self._stored])
        client = self.ingest.client
        # The client acknowledges by hand; every per-topic callback the staff side
        # registers (command results, Home Assistant's status) acknowledges once handled.
        register = client.message_callback_add
        setattr(  # noqa: B010  (an instance attribute over the method, for the constructor only)
            client, "message_callback_add", lambda sub, callback: register(sub, _acking(callback))
        )
        try:
            self.staff = StaffSide(
                self.sessions,
                client,
                settings.mqtt.prefix,
                alerts=settings.alerts,
                api=settings.api,
                homeassistant=settings.homeassistant,
                fleet=self.fleet,
                on_alert=on_alert,
                clock=clock,
                sync_every=sync_every,
                keys=SiteKeys(settings.signing),
            )
        finally:
            delattr(client, "message_callback_add")
        self._wire(client)

    # --- joining the two sides on one client --------------------------------------------------

    def _wire(self, client: mqtt.Client) -> None:
        ingest_connect: Any = client.on_connect

        def on_connect(c: mqtt.Client, u: Any, flags: Any, reason: Any, p: Any = None) -> None:
            ingest_connect(c, u, flags, reason, p)
            if not reason.is_failure:
                self.staff.on_connect()

        client.on_connect = on_connect

    def _stored(self, result: StoreResult) -> None:
        """After a batch's commit (the ingest's writer thread): the new events only, and the
        newest birth, will or telemetry of each device, to the alert rules."""
        try:
            self.staff.observe_all([*result.heard, *result.events_new])
        except Exception:  # the store has it; an alert bug must not stop the stream
            log.exception("central: the staff side failed on a batch")
        if self.staff.homeassistant is not None:
            with self._dirty_lock:
                self._dirty.update((e.envelope.site, e.envelope.device) for e in result.events_new)

    # --- the periodic part ------------------------------------------------------------------

    def sync(self) -> None:
        """Silence from the store's last_seen; today's counters to Home Assistant."""
        with self.sessions() as session:
            rows = session.execute(
                select(Device.site, Device.device, Device.last_seen).where(
                    Device.last_seen.is_not(None)
                )
            ).all()
        self.staff.heard(
            [
                (site, device, seen.replace(tzinfo=UTC).timestamp())
                for site, device, seen in rows
                if seen is not None
            ]
        )
        link = self.staff.homeassistant
        if link is None:
            return
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        now = datetime.fromtimestamp(self.clock(), UTC)
        for site, device in sorted(dirty):
            link.counters(site, device, self.fleet.today(site, device, now))

    def _loop(self) -> None:
        while not self._stop.wait(self._sync_every):
            try:
                self.sync()
            except Exception:  # the database may be away for a while; the next round tries
                log.exception("central: sync failed")

    def start(self) -> None:
        self.ingest.start()
        try:
            self.sync()
        except Exception:
            log.exception("central: first sync failed")
        self.staff.start()
        self._thread = threading.Thread(target=self._loop, name="central-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.staff.stop()
        self.ingest.stop()


def _acking(
    handler: Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None],
) -> Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]:
    def handle(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            handler(client, userdata, message)
        finally:
            if message.qos > 0:
                client.ack(message.mid, message.qos)

    return handle
