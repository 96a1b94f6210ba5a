"""The device's MQTT link (paho-mqtt 2.x): birth and will, the outbox sender, commands.

Why it is built this way:

- **Nothing is published straight from the engine.** Events go to the durable
  :class:`~engine.mqtt.outbox.Outbox`; one sender thread publishes its rows in
  id order at QoS 1 and deletes a row only on the broker's PUBACK. A broker
  outage, a lost network or a restart loses nothing.
- **A bounded in-flight window** (20 by default): the sender hands paho at most
  that many unacknowledged messages, so a long outbox never becomes a long
  queue in memory, and the broker's own in-flight limit is respected.
- **Re-sending.** Within one process paho keeps the unacknowledged messages and
  sends them again (DUP) after a reconnect, under the same message id, so the
  PUBACK still finds its outbox row. After a process restart the outbox sends
  every row again. Either way a consumer may see a message twice and drops the
  repeated payload id.
- **Presence.** The last will is a retained ``offline`` state; every connect
  publishes a retained ``online`` state (the birth). A clean stop publishes
  ``offline`` itself, since a clean DISCONNECT suppresses the will.
- **Reconnects** are paho's own loop with its exponential backoff
  (``reconnect_delay_set``); a refused login is kept as the ``auth_failed``
  state so that monitoring (and the staff console) can say so plainly.
- **Commands run once, fresh, ever.** Command ids are kept on disk
  (:class:`~engine.mqtt.command_log.CommandLog`), so a repeat after a restart is
  answered as a duplicate and not run; a command dated more than
  ``command_max_age`` seconds ago (or ``command_max_ahead`` seconds in the
  future) by the link's clock is refused, so a captured command cannot be
  replayed later. Who may publish a command at all is the broker's ACL
  (docs/mqtt.md); where the broker itself cannot be trusted, the device can
  require commands signed with the site's command key
  (:mod:`engine.mqtt.signed`), checked before the id is claimed.
- **Site events name their sender in the topic.** The broker's ACL lets a
  device publish only under its own topics, so a site event is passed on only
  when the payload's device and site are the topic's: a payload cannot claim
  another sender than the login that published it.
- **Privacy.** Only payloads built by :mod:`protocols.mqtt` go out, and nothing
  here logs a payload: log lines name topics, ids and counts.
"""

from __future__ import annotations

import collections
import logging
import queue
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from engine.events import EventBus
from engine.mqtt.command_log import CommandLog
from engine.mqtt.outbox import Outbox, OutboxEntry
from engine.mqtt.paho_loop import stop_loop
from engine.mqtt.signed import CommandGuard, refusal_detail
from engine.security.tls import tls_detail
from protocols.mqtt import payloads, topics
from protocols.mqtt.payloads import (
    Command,
    Envelope,
    Event,
    PayloadError,
    Result,
    State,
    Telemetry,
)
from protocols.mqtt.signing import CLOCK_SKEW, Refusal
from protocols.mqtt.topics import Channel, TopicError

if TYPE_CHECKING:
    from engine.config.model import DeviceSection, MqttSection

__all__ = [
    "Bridge",
    "CommandOutcome",
    "LinkSettings",
    "LinkState",
    "MqttLink",
    "bridge",
]

log = logging.getLogger(__name__)

# CONNACK reason codes that mean "your login is wrong", in MQTT 5 numbering (paho maps
# the MQTT 3.1.1 return codes 4 and 5 onto 134 and 135).
_AUTH_REFUSED = frozenset({134, 135})
_SEEN_EVENTS = 1000
_MIN_COMMAND_MEMORY = 24 * 3600.0  # seconds a command id is kept at the least
_READ_AHEAD = 200  # outbox rows read per query


def _software_version() -> str:
    try:
        return metadata.version("muontra")
    except metadata.PackageNotFoundError:
        return "unknown"


class LinkState(StrEnum):
    STARTING = "starting"
    ONLINE = "online"
    OFFLINE = "offline"
    """Not connected; paho is retrying with backoff."""
    AUTH_FAILED = "auth_failed"
    """The broker refused the user name or password; still retrying, slowly."""
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Where the broker is and who this device is (see :meth:`from_config`)."""

    host: str
    site: str
    device: str
    port: int = 8883
    tls: bool = True
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    prefix: str = "muontra"
    version: str = field(default_factory=_software_version)
    keepalive: int = 30
    max_inflight: int = 20
    reconnect_min: int = 1
    reconnect_max: int = 30
    telemetry_every: float = 0.0
    """Seconds between health reports while online; 0: only when :meth:`publish_telemetry`."""
    command_max_age: float = 300.0
    """A command dated longer ago than this (seconds) is refused as stale."""
    command_max_ahead: float = 60.0
    """A command dated further in the future than this (seconds) is refused."""
    command_key: bytes | None = field(default=None, repr=False)
    """The site's command key: signed commands are checked under it."""
    require_signed: bool = False
    """Refuse unsigned, badly signed, expired and replayed commands (needs command_key)."""

    @property
    def command_memory(self) -> float:
        """Seconds a command id is kept: longer than any command could still be fresh."""
        return max(_MIN_COMMAND_MEMORY, 2 * (self.command_max_age + self.command_max_ahead))

    def command_guard(self) -> CommandGuard:
        """The signature check: a signed command may not outlive the memory of its id."""
        return CommandGuard(
            self.command_key, self.require_signed, self.command_memory - 2 * CLOCK_SKEW
        )

    @classmethod
    def from_config(cls, mqtt_section: MqttSection, device: DeviceSection) -> LinkSettings:
        return cls(
            host=mqtt_section.host,
            port=mqtt_section.port,
            tls=mqtt_section.tls,
            ca_file=mqtt_section.ca_file,
            username=mqtt_section.username,
            password=mqtt_section.password(),
            client_id=mqtt_section.client_id,
            prefix=mqtt_section.topic_prefix,
            command_max_age=mqtt_section.command_max_age,
            command_max_ahead=mqtt_section.command_max_ahead,
            command_key=mqtt_section.command_key(),
            require_signed=mqtt_section.require_signed_commands,
            site=device.site,
            device=device.id,
        )


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What a command handler answers; published as the command's result."""

    ok: bool
    detail: str | None = None
    reason: str | None = None
    """A code saying why a command was refused (the result's ``reason``)."""


OnCommand = Callable[[Command], CommandOutcome]
"""The link's command callback: a role's :class:`~engine.mqtt.commands.CommandRouter`."""


class MqttLink:
    """One device's connection to the fleet broker. :meth:`start`, then :meth:`stop`."""

    def __init__(
        self,
        settings: LinkSettings,
        outbox: Outbox,
        on_command: OnCommand | None = None,
        on_site_event: Callable[[str, Event], None] | None = None,
        site_event_kinds: tuple[str, ...] = (),
        *,
        clock: Callable[[], float] = time.time,
        on_refused: Callable[[Refusal], None] | None = None,
        on_trouble: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_trouble = on_trouble
        """Told ``("login_refused", None)``, ``("tls_unverified", code)`` and
        ``("connected", None)`` on paho's thread (the security detectors)."""
        self.outbox = outbox
        self.clock = clock
        """Epoch seconds: the times this link writes, and what a command's age is measured by."""
        self.on_command = on_command
        self.answered = CommandLog(outbox, settings.command_memory)
        self.guard = settings.command_guard()
        # Told of every command refused for its signature, expiry or replay: the daemon
        # reports it as a security event (engine.mqtt.signed.refusal_reporter).
        self.on_refused = on_refused
        # The gate listens to its site's kiosks (checkouts, failed security writes).
        self.on_site_event = on_site_event
        self.site_event_kinds = site_event_kinds
        self._base = topics.device_base(settings.prefix, settings.site, settings.device)
        self._state = LinkState.STOPPED
        self._state_changed = threading.Condition()
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._inflight: dict[int, int] = {}  # paho message id -> outbox id
        self._unacked_subs: set[int] = set()  # SUBSCRIBEs not yet confirmed (network thread)
        self._early: set[int] = set()  # PUBACKs that beat the bookkeeping of their publish
        self._foreign: set[int] = set()  # message ids published around the outbox
        self._acked: list[int] = []  # outbox ids acknowledged, not yet deleted
        self._cursor = 0  # the highest outbox id handed to paho
        self._ahead: collections.deque[OutboxEntry] = collections.deque()  # read, not sent
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._commands: queue.Queue[Command | None] = queue.Queue()
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._connected_at = self._now_iso()
        self._client = self._make_client()

    # --- set-up ----------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id or s.device,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        paho_log = logging.getLogger(f"{__name__}.paho")
        paho_log.addFilter(self._quiet_when_stopping)
        client.enable_logger(paho_log)
        if s.tls:
            client.tls_set(
                ca_certs=str(s.ca_file) if s.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        # paho's own limit sits above our window: presence and telemetry come on top, and a
        # message paho holds back as "queued" can be stranded by its reconnect handling.
        client.max_inflight_messages_set(s.max_inflight + 10)
        client.reconnect_delay_set(s.reconnect_min, s.reconnect_max)
        client.on_pre_connect = self._on_pre_connect
        client.on_socket_open = self._on_socket_open
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _quiet_when_stopping(self, record: logging.LogRecord) -> bool:
        """paho 2.2's loop thread may log "not connected" once after a clean disconnect."""
        return not (self._stopping.is_set() and "not connected" in record.getMessage())

    def topic(self, channel: Channel | str, name: str | None = None) -> str:
        """This device's topic of ``channel`` (and ``name``)."""
        s = self.settings
        return topics.build_topic(s.prefix, s.site, s.device, channel, name)

    def _now_iso(self) -> str:
        return payloads.iso_time(self.clock())

    def _state_payload(self, state: str, since: str) -> bytes:
        s = self.settings
        envelope = Envelope(payloads.new_id(), self._now_iso(), s.device, s.site)
        return payloads.encode(State(envelope, state, since, s.version))

    # --- life -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and start sending."""
        self._stopping.clear()
        self._set_state(LinkState.STARTING)
        s = self.settings
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive)
        self._client.loop_start()
        workers = [("mqtt-sender", self._send_loop), ("mqtt-commands", self._run_commands)]
        if s.telemetry_every > 0:
            workers.append(("mqtt-telemetry", self._telemetry_loop))
        for name, target in workers:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("MQTT link to %s:%d as %s started", s.host, s.port, self._base)

    def stop(self, timeout: float = 5.0) -> None:
        """Say "offline" (retained), disconnect cleanly, stop the threads. Unsent rows stay."""
        if self.state is LinkState.ONLINE:
            info = self._direct(
                self.topic(Channel.STATE), self._state_payload("offline", self._now_iso()), 1, True
            )
            try:
                info.wait_for_publish(timeout=timeout / 2)
            except (RuntimeError, ValueError):
                log.info("could not publish the offline state before stopping")
        self._stopping.set()
        self.outbox.poke()
        self._commands.put(None)
        self._client.disconnect()
        stop_loop(self._client)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self._flush_acks(force=True)
        self._set_state(LinkState.STOPPED)
        log.info("MQTT link stopped, %d message(s) wait in the outbox", self.outbox.count())

    def __enter__(self) -> MqttLink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- state ------------------------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        with self._state_changed:
            return self._state

    def _set_state(self, state: LinkState, error: str | None = None) -> None:
        with self._state_changed:
            if error is not None:
                self.last_error = error
            if state is LinkState.ONLINE:
                self.last_error = None
            if state is not self._state:
                log.info("MQTT link %s%s", state.value, f": {error}" if error else "")
            self._state = state
            self._state_changed.notify_all()

    def wait_state(self, *states: LinkState, timeout: float = 10.0) -> bool:
        """Block until the link is in one of ``states``; False after ``timeout`` seconds."""
        with self._state_changed:
            return self._state_changed.wait_for(lambda: self._state in states, timeout)

    def inflight(self) -> int:
        """Messages handed to paho and not yet acknowledged."""
        with self._lock:
            return len(self._inflight)

    # --- paho callbacks (paho's network thread) ----------------------------------------------

    def _on_pre_connect(self, client: mqtt.Client, _userdata: Any) -> None:
        # The will is set afresh before each connect so that it says since when we were up.
        self._connected_at = self._now_iso()
        client.will_set(
            self.topic(Channel.STATE),
            self._state_payload("offline", self._connected_at),
            qos=1,
            retain=True,
        )

    def _on_socket_open(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        # Small packets, sent now: an alarm must not wait for Nagle's algorithm, and with
        # it on, a window of PUBLISHes crawls at one round of delayed ACKs (~40 ms) each.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            log.debug("TCP_NODELAY not set on the MQTT socket")

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _properties: Any,
    ) -> None:
        if reason.is_failure:
            if reason.value in _AUTH_REFUSED:
                self._trouble("login_refused")
                self._set_state(
                    LinkState.AUTH_FAILED,
                    f"the broker refused the login of user {self.settings.username!r}: {reason}",
                )
            else:
                self._set_state(LinkState.OFFLINE, f"the broker refused the connection: {reason}")
            return
        s = self.settings
        # Subscribe before the birth: the broker handles one client's packets in order, so
        # whoever sees this device online can command it at once and be heard.
        filters: list[str] = []
        if self.on_command is not None:
            filters.append(topics.commands_filter(s.prefix, s.site, s.device))
        if self.on_site_event is not None:
            filters += [
                f"{s.prefix}/{topics.SCHEMA}/{s.site}/+/events/{k}" for k in self.site_event_kinds
            ]
        # The SUBACKs come on this same network thread, after this callback returns: no
        # lock is needed around the set, and none is held while paho takes its own.
        self._unacked_subs.clear()
        for topic in filters:
            _result, mid = client.subscribe(topic, qos=1)
            if mid is not None:
                self._unacked_subs.add(mid)
        waiting = bool(self._unacked_subs)
        self._direct(
            self.topic(Channel.STATE), self._state_payload("online", self._connected_at), 1, True
        )
        # This link calls itself online once the broker has confirmed its subscriptions:
        # the SUBSCRIBE may still sit in paho's buffer when on_connect returns, and a
        # command another client publishes in that moment would find nobody subscribed.
        if not waiting:
            self._online()

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        _reasons: Any,
        _properties: Any,
    ) -> None:
        if mid not in self._unacked_subs:
            return
        self._unacked_subs.discard(mid)
        if not self._unacked_subs:
            self._online()

    def _online(self) -> None:
        self._set_state(LinkState.ONLINE)
        self._trouble("connected")
        self.outbox.poke()

    def _trouble(self, what: str, detail: str | None = None) -> None:
        if self.on_trouble is None:
            return
        try:
            self.on_trouble(what, detail)
        except Exception:  # a detector's bug must not stop paho's thread
            log.exception("the MQTT link's trouble callback failed")

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        # paho calls this inside its ``except OSError``: the exception is still current.
        failure = sys.exc_info()[1]
        if isinstance(failure, ssl.SSLCertVerificationError):
            self._trouble("tls_unverified", tls_detail(failure.verify_code))
        if self.state is not LinkState.AUTH_FAILED:
            self._set_state(LinkState.OFFLINE, "cannot reach the broker")

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _properties: Any,
    ) -> None:
        if self._stopping.is_set() or self.state is LinkState.AUTH_FAILED:
            return
        self._set_state(LinkState.OFFLINE, f"disconnected: {reason}")

    def _on_publish(
        self, _client: mqtt.Client, _userdata: Any, mid: int, _reason: Any, _properties: Any
    ) -> None:
        with self._lock:
            entry = self._inflight.pop(mid, None)
            if entry is not None:
                self._acked.append(entry)
            elif mid in self._foreign:
                self._foreign.discard(mid)
            else:
                self._early.add(mid)
        self.outbox.poke()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        s = self.settings
        try:
            where = topics.parse_topic(message.topic, s.prefix)
            if where.channel is Channel.EVENTS and self.on_site_event is not None:
                if where.device != s.device and where.name in self.site_event_kinds:
                    self._site_event(where, bytes(message.payload))
                return
            if where.channel is not Channel.COMMANDS or where.device != s.device:
                return
            command = payloads.decode_command(bytes(message.payload), where.name)
        except (TopicError, PayloadError, UnicodeDecodeError) as error:
            log.warning("dropped a malformed command: %s", error)
            return
        if command.envelope.device != s.device or command.envelope.site != s.site:
            log.warning("dropped command %s addressed to another device", command.envelope.id)
            return
        # Whether it is new, and fresh, is decided on the command thread: it takes the disk.
        self._commands.put(command)

    def _site_event(self, where: topics.Topic, payload: bytes) -> None:
        """Pass on another device's event of this site, if the payload names its topic's sender."""
        assert self.on_site_event is not None and where.name is not None
        event = payloads.decode_event(payload, where.name)
        sender = event.envelope
        if where.site != self.settings.site or (sender.device, sender.site) != (
            where.device,
            where.site,
        ):
            # With the ACL, the topic is the login that published; the payload is only a claim.
            log.warning(
                "dropped a %s event under %s/%s claiming to come from %s/%s",
                where.name,
                where.site,
                where.device,
                sender.site,
                sender.device,
            )
            return
        if sender.id in self._seen:
            return
        self._seen[sender.id] = None
        while len(self._seen) > _SEEN_EVENTS:
            self._seen.popitem(last=False)
        self.on_site_event(where.name, event)

    # --- sending ----------------------------------------------------------------------------

    def _direct(self, topic: str, payload: bytes, qos: int, retain: bool) -> mqtt.MQTTMessageInfo:
        """Publish around the outbox (presence, telemetry): not worth keeping through a restart."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
            else:
                self._foreign.add(info.mid)
        return info

    def _track(self, mid: int, entry_id: int) -> None:
        with self._lock:
            if mid in self._early:  # acknowledged before we got here
                self._early.discard(mid)
                self._acked.append(entry_id)
            else:
                self._inflight[mid] = entry_id

    def _flush_acks(self, force: bool = False) -> int:
        """Delete acknowledged rows: in batches of half a window, or when nothing is in flight."""
        with self._lock:
            batch = len(self._acked) >= max(1, self.settings.max_inflight // 2)
            if not (force or batch or not self._inflight):
                return 0
            done, self._acked = self._acked, []
        if done:
            self.outbox.mark_sent_many(done)
        return len(done)

    def _next_entries(self, room: int) -> list[OutboxEntry]:
        """Up to ``room`` rows to send, read ahead in batches (one query per many PUBACKs)."""
        if not self._ahead:
            self._ahead.extend(self.outbox.pending(_READ_AHEAD, after=self._cursor))
        return [self._ahead.popleft() for _ in range(min(room, len(self._ahead)))]

    def _fill_window(self) -> int:
        """Hand paho rows until the window is full; returns how many.

        It runs on every PUBACK rather than once half the window is free: a client that
        goes quiet while it waits lets the broker's PUBACKs stall on delayed TCP ACKs.
        """
        with self._lock:
            room = self.settings.max_inflight - len(self._inflight)
            if not self._inflight and not self._acked:
                # Nothing is owed an acknowledgement, so any row still in the outbox has to
                # be sent (again): start from the oldest.
                self._cursor = 0
                self._ahead.clear()
        if room <= 0:
            return 0
        entries = self._next_entries(room)
        for n, entry in enumerate(entries):
            info = None
            if self.state is LinkState.ONLINE and not self._stopping.is_set():
                info = self._client.publish(entry.topic, entry.payload, qos=1, retain=entry.retain)
            # NO_CONN: paho keeps a QoS 1 message and sends it once reconnected.
            if info is None or info.rc not in (
                MQTTErrorCode.MQTT_ERR_SUCCESS,
                MQTTErrorCode.MQTT_ERR_NO_CONN,
            ):
                if info is not None:
                    log.warning("publish of outbox row %d refused: %s", entry.id, info.rc)
                self._ahead.extendleft(reversed(entries[n:]))  # again on the next round
                return n
            self._track(info.mid, entry.id)
            self._cursor = entry.id
        return len(entries)

    def _send_loop(self) -> None:
        generation = self.outbox.generation
        while not self._stopping.is_set():
            acked = sent = 0
            try:
                acked = self._flush_acks()
                sent = self._fill_window() if self.state is LinkState.ONLINE else 0
            except Exception:
                log.exception("MQTT sender")
                self._stopping.wait(1.0)
            if not (acked or sent):
                generation = self.outbox.wait_change(generation, 1.0)

    def wait_drained(self, timeout: float = 10.0) -> bool:
        """Block until the outbox is empty (everything acknowledged); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.outbox.count() > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def publish_telemetry(
        self,
        uptime: float,
        readers: dict[str, str] | None = None,
        queues: dict[str, int] | None = None,
        versions: dict[str, str] | None = None,
    ) -> bool:
        """Publish a health report now (QoS 0, not kept: the next one supersedes it)."""
        if self.state is not LinkState.ONLINE:
            return False
        s = self.settings
        report = Telemetry(
            Envelope(payloads.new_id(), self._now_iso(), s.device, s.site),
            uptime,
            readers or {},
            {"outbox": self.outbox.count(), "inflight": self.inflight(), **(queues or {})},
            {"muontra": s.version, **(versions or {})},
        )
        self._direct(self.topic(Channel.TELEMETRY), payloads.encode(report), 0, False)
        return True

    def _telemetry_loop(self) -> None:
        started = time.monotonic()
        while not self._stopping.wait(self.settings.telemetry_every):
            try:
                self.publish_telemetry(time.monotonic() - started)
            except Exception:
                log.exception("MQTT telemetry")

    # --- commands ---------------------------------------------------------------------------

    def _run_commands(self) -> None:
        """Commands run here, off paho's thread, so a slow one never stalls the network loop."""
        while True:
            command = self._commands.get()
            if command is None or self._stopping.is_set():
                return
            handler = self.on_command
            if handler is None:
                continue
            try:
                self._take(command, handler)
            except Exception:
                # The database failed (disk full, read-only): the command is not run, since
                # it could not be recorded, and the link carries on.
                log.exception("command %s (%s) not taken", command.name, command.envelope.id)

    def _take(self, command: Command, handler: OnCommand) -> None:
        """Run ``command`` if it is new and fresh; answer it in every case."""
        now = self.clock()
        # The signature before the id: a forged command must not use up a real one's id.
        refusal = self.guard.check(command, now)
        if refusal is not None:
            self._refuse(command, refusal)
            return
        previous = self.answered.claim(command.envelope.id, command.name, now)
        if previous is not None and self.guard.checks_replays:
            first = previous.detail if previous.finished else "cut short by a restart"
            self._refuse(command, Refusal.REPLAYED, f"first answer: {first or ''}")
            return
        if previous is not None:
            log.info("command %s (%s) is a repeat: not run", command.name, command.envelope.id)
            if previous.finished:
                self.publish_result(
                    command,
                    CommandOutcome(
                        previous.ok,
                        f"duplicate: already answered, not run again ({previous.detail or ''})",
                    ),
                )
            else:
                self.publish_result(
                    command,
                    CommandOutcome(
                        False, "duplicate: cut short by a restart before its answer; not run again"
                    ),
                )
            return
        stale = self._staleness(command, now)
        if stale is not None:
            log.warning("command %s (%s) refused: %s", command.name, command.envelope.id, stale)
            outcome = CommandOutcome(False, f"refused: {stale}; not run")
        else:
            log.info("command %s (%s)", command.name, command.envelope.id)
            try:
                outcome = handler(command)
            except Exception as error:
                log.exception("command %s failed", command.name)
                outcome = CommandOutcome(False, f"failed: {type(error).__name__}")
        self.answered.finish(command.envelope.id, outcome.ok, outcome.detail)
        self.publish_result(command, outcome)

    def _refuse(self, command: Command, refusal: Refusal, more: str | None = None) -> None:
        """Answer a command refused for its signature, expiry or replay, and report it."""
        log.warning("command %s (%s) refused: %s", command.name, command.envelope.id, refusal.value)
        self.publish_result(
            command, CommandOutcome(False, refusal_detail(refusal, more), refusal.value)
        )
        if self.on_refused is not None:
            try:
                self.on_refused(refusal)
            except Exception:
                log.exception("could not report the refused command")

    def _staleness(self, command: Command, now: float) -> str | None:
        """Why ``command`` is too old or too far ahead to run, by this link's clock; None if not."""
        s = self.settings
        age = now - payloads.epoch_of(command.envelope.time)
        if age > s.command_max_age:
            return (
                f"sent {command.envelope.time}, {age:.0f} s ago: older than "
                f"command_max_age ({s.command_max_age:g} s)"
            )
        if -age > s.command_max_ahead:
            return (
                f"dated {command.envelope.time}, {-age:.0f} s ahead of this device's clock: "
                f"more than command_max_ahead ({s.command_max_ahead:g} s)"
            )
        return None

    def publish_result(self, command: Command, outcome: CommandOutcome) -> int:
        """Queue the result of ``command`` in the outbox (topic ``results/{command id}``)."""
        s = self.settings
        result = Result(
            Envelope(payloads.new_id(), self._now_iso(), s.device, s.site),
            command.envelope.id,
            command.name,
            outcome.ok,
            None if outcome.detail is None else outcome.detail[:512],
            outcome.reason,
        )
        return self.outbox.add(
            self.topic(Channel.RESULTS, command.envelope.id), payloads.encode(result)
        )


class Bridge:
    """A thread that copies the engine's events, made safe, into the outbox."""

    def __init__(
        self, bus: EventBus, outbox: Outbox, device: str, site: str, prefix: str = "muontra"
    ) -> None:
        self.bus = bus
        self.outbox = outbox
        self.device = device
        self.site = site
        self._base = topics.device_base(prefix, site, device)
        self._events = bus.subscribe()
        self._stop = threading.Event()
        self.stored = 0
        self._thread = threading.Thread(target=self._run, name="mqtt-bridge", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                mapped = payloads.event_from_engine(event, self.device, self.site)
                if mapped is None:
                    continue
                suffix, message = mapped
                self.outbox.add(f"{self._base}/{suffix}", payloads.encode(message))
                self.stored += 1
            except Exception:
                # The event's content is not logged: it may hold what must stay on the device.
                log.exception("could not store engine event %r for MQTT", event.get("event"))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the events already taken from the bus are stored."""
        self._stop.set()
        self._thread.join(timeout)
        self.bus.unsubscribe(self._events)


def bridge(
    bus: EventBus, outbox: Outbox, device: str, site: str, prefix: str = "muontra"
) -> Bridge:
    """Start copying ``bus``'s events into ``outbox``.

    What is copied, and what is dropped, is :func:`protocols.mqtt.event_from_engine`'s call.
    """
    return Bridge(bus, outbox, device, site, prefix)
