"""The fleet's stream into the store: a paho MQTT v5 client and a writer thread.

Several central processes share the stream: each subscribes to the fleet's
events and telemetry through the shared subscription ``$share/GROUP/...``, so the
broker hands every message to one of them. A message is acknowledged (PUBACK)
only after the transaction that stores it has committed, so a process killed
with messages in hand loses none: the broker still holds them in that process's
session and hands them over again (to it when it comes back with the same
client id, which systemd does). Since the same message may so arrive twice,
every insert is idempotent on the message id (central/store.py).

The session is persistent: ``clean_start`` is False on every connection,
including the first, and the session outlives a disconnection by
``session_expiry_s``, so what was published while central or the broker was
restarting waits for it.

Retained births and wills are not delivered through a shared subscription
(MQTT v5, 4.8.2), so states come through a plain subscription in every process;
storing a state is idempotent anyway (an older one never overwrites a newer).

Hostile input never stops ingest: a message that does not fit the schema is
counted, logged without its payload, acknowledged and dropped.

A gate alarm does not queue behind the fleet's telemetry: it goes through its own
lane, a second writer that stores it at once in its own transaction (staff must hear
of an item walking out while it is still at the door), however many telemetry rows
the main writer has in hand or is committing. Acknowledgements may then leave in
another order than the messages came; brokers match them by packet id.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from central.db import sessions
from central.settings import MqttSection
from central.store import Incoming, Rejected, StoreResult, parse_message, store_batch
from protocols.mqtt.topics import SCHEMA, Channel

__all__ = ["Ingest", "IngestCounters", "filters"]

log = logging.getLogger(__name__)

BATCH = 500
"""Most messages stored in one transaction."""
BATCH_WAIT = 0.02
"""Seconds the writer waits for more messages before it stores a short batch."""
RETRY_WAIT = (0.2, 5.0)
"""First and longest wait before storing a batch again after a database error."""
URGENT_KINDS = frozenset({"alarm"})
"""Event kinds stored through the urgent lane (their topics end in ``/events/<kind>``)."""
_LOG_EVERY = 1000


def filters(settings: MqttSection) -> tuple[list[str], list[str]]:
    """(shared, plain) subscription filters: events and telemetry shared (unless the config
    says otherwise), states always plain."""
    base = f"{settings.prefix}/{SCHEMA}/+/+"
    stream = [f"{base}/{Channel.EVENTS}/#", f"{base}/{Channel.TELEMETRY}"]
    state = f"{base}/{Channel.STATE}"
    if not settings.shared:
        return [], [*stream, state]
    return [f"$share/{settings.group}/{f}" for f in stream], [state]


@dataclass
class IngestCounters:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    db_errors: int = 0
    connects: int = 0


@dataclass(frozen=True, slots=True)
class _Received:
    topic: str
    payload: bytes
    mid: int
    qos: int


def _now() -> datetime:
    return datetime.now(UTC)


class Ingest:
    """One central process's MQTT client and store writer. :meth:`start`, then :meth:`stop`."""

    def __init__(
        self,
        settings: MqttSection,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = _now,
        listeners: Sequence[Callable[[StoreResult], None]] = (),
    ) -> None:
        self.settings = settings
        self.counters = IngestCounters()
        self._sessions = sessions(engine)
        self._clock = clock
        self._listeners = list(listeners)
        self._queue: queue.Queue[_Received] = queue.Queue()
        self._urgent: queue.Queue[_Received] = queue.Queue()
        self._urgent_suffixes = tuple(f"/{Channel.EVENTS}/{kind}" for kind in URGENT_KINDS)
        self._counting = threading.Lock()  # two writers add to the counters
        self._stop = threading.Event()
        self._subscribed = threading.Condition()
        self._subscriptions = 0
        lanes = (("central-writer", self._queue, BATCH_WAIT), ("central-urgent", self._urgent, 0.0))
        self._writers = [
            threading.Thread(target=self._write_loop, args=(lane, wait), name=name, daemon=True)
            for name, lane, wait in lanes
        ]
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if settings.tls:
            context = ssl.create_default_context(
                cafile=str(settings.ca_file) if settings.ca_file else None
            )
            client.tls_set_context(context)
        if settings.username:
            client.username_pw_set(settings.username, settings.secret())
        client.reconnect_delay_set(1, 10)
        # Without a cap the broker's default applies; ours bounds what is in hand
        # (and so what a killed process hands back) to a few batches.
        client.max_inflight_messages_set(BATCH * 2)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        self.client = client

    # --- life --------------------------------------------------------------------------------

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.settings.session_expiry_s
        properties.ReceiveMaximum = min(65535, BATCH * 2)
        for writer in self._writers:
            writer.start()
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()

    def wait_subscribed(self, timeout: float, connections: int = 1) -> bool:
        """True once the subscriptions of that many connections are acknowledged."""
        with self._subscribed:
            return self._subscribed.wait_for(lambda: self._subscriptions >= connections, timeout)

    def stop(self) -> None:
        """Disconnect, keeping the session: what arrives meanwhile waits at the broker."""
        self._stop.set()
        for writer in self._writers:
            if writer.is_alive():
                writer.join(10)
        self.client.disconnect()
        # paho 2.1's loop_stop can raise AttributeError when its thread ends between its
        # check and its join (engine.mqtt.paho_loop tells the story; central may not
        # import the engine). The thread has ended then, which is what we wait for.
        with contextlib.suppress(AttributeError):
            self.client.loop_stop()

    # --- MQTT callbacks (paho's network thread) ----------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            log.warning("central: broker refused the connection: %s", reason)
            return
        self.counters.connects += 1
        log.info(
            "central: connected to %s:%s (session present: %s)",
            self.settings.host,
            self.settings.port,
            flags.session_present,
        )
        # Subscribing again on a resumed session is harmless and mends a session
        # the broker lost (restarted without persistence, or expired).
        shared, plain = filters(self.settings)
        client.subscribe([(f, 1) for f in shared + plain])

    def _on_subscribe(self, *_: Any) -> None:
        log.info("central: subscribed to the fleet's topics as %s", self.settings.client_id)
        with self._subscribed:
            self._subscriptions += 1
            self._subscribed.notify_all()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if not self._stop.is_set():
            log.warning("central: lost the broker (%s); reconnecting", reason)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.counters.received += 1  # paho's one network thread: no lock needed
        lane = self._urgent if message.topic.endswith(self._urgent_suffixes) else self._queue
        lane.put(_Received(message.topic, bytes(message.payload), message.mid, message.qos))

    def listen(self, listener: Callable[[StoreResult], None]) -> None:
        """Also call ``listener`` after each commit (before :meth:`start`)."""
        self._listeners.append(listener)

    def pending(self) -> int:
        """Messages received and not yet handed to the store (both lanes)."""
        return self._queue.qsize() + self._urgent.qsize()

    # --- the writer thread -------------------------------------------------------------------

    @staticmethod
    def _take_batch(lane: queue.Queue[_Received], wait: float) -> list[_Received]:
        """The next batch from ``lane``: what comes within ``wait`` s of the first message."""
        try:
            first = lane.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + wait
        while len(batch) < BATCH:
            left = deadline - time.monotonic()
            try:
                batch.append(lane.get(timeout=left) if left > 0 else lane.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write_loop(self, lane: queue.Queue[_Received], wait: float) -> None:
        while not self._stop.is_set():
            batch = self._take_batch(lane, wait)
            if batch:
                self._handle(batch)

    def _reject(self, item: _Received, why: str) -> None:
        with self._counting:
            self.counters.rejected += 1
        if self.counters.rejected <= 10 or self.counters.rejected % _LOG_EVERY == 0:
            # The topic names only a site and a device; the payload may hold anything.
            log.warning(
                "central: dropped a message on %r (%s); %d dropped so far",
                item.topic[:200],
                why[:200],
                self.counters.rejected,
            )

    def _handle(self, batch: list[_Received]) -> None:
        good: list[tuple[_Received, Incoming]] = []
        for item in batch:
            try:
                good.append((item, parse_message(item.topic, item.payload, self.settings.prefix)))
            except Rejected as error:
                self._reject(item, str(error))
        wait = RETRY_WAIT[0]
        while good:
            try:
                self._store([m for _, m in good])
                break
            except OperationalError as error:
                # The database is away or we lost a deadlock: the same batch again, later.
                # Nothing is acknowledged meanwhile, so nothing is lost if we die here.
                with self._counting:
                    self.counters.db_errors += 1
                log.warning("central: database error, retrying in %.1f s: %s", wait, error.orig)
                if self._stop.wait(wait):
                    return
                wait = min(wait * 2, RETRY_WAIT[1])
            except (DBAPIError, SQLAlchemyError) as error:
                # Not transient: find the message the database refuses, store the rest.
                with self._counting:
                    self.counters.db_errors += 1
                log.warning("central: batch refused (%s); storing one by one", type(error).__name__)
                good = self._one_by_one(good)
        for item in batch:
            if item.qos > 0:
                self.client.ack(item.mid, item.qos)

    def _one_by_one(
        self, good: list[tuple[_Received, Incoming]]
    ) -> list[tuple[_Received, Incoming]]:
        """Store each message alone, dropping those the database refuses; what is left
        when the database itself fails (stored again by the caller)."""
        for n, (item, message) in enumerate(good):
            try:
                self._store([message])
            except OperationalError:
                return good[n:]
            except (DBAPIError, SQLAlchemyError) as error:
                self._reject(item, f"the database refused it: {type(error).__name__}")
        return []

    def _store(self, messages: list[Incoming]) -> None:
        with self._sessions() as session, session.begin():
            result = store_batch(session, messages, self._clock)
        with self._counting:
            self.counters.stored += len(result.events_new)
            self.counters.duplicates += result.duplicates
        for listener in self._listeners:
            try:
                listener(result)
            except Exception:  # a listener's bug must not stop the store
                log.exception("central: a listener failed")
