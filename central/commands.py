"""Commands from staff to a device, over MQTT, with their results, all in the audit log.

:class:`CommandBook` is the sans-IO part: it checks the staff member's role and the
command's arguments, writes the audit row (who, what, which device, when) *before*
the command leaves, builds the topic and payload, and matches a result to its row.
:class:`CommandLink` is the thin shell on a paho client logged in as central's own
broker account (``muontra_central`` in config/mosquitto/muontra.acl: the only login
that may write ``…/commands/+``; a device takes commands from nowhere else).

A result is believed only when it arrives on the topic of the device the command was
sent to (``{site}/{device}/results/{command id}``): the ACL binds that topic to the
device's own login, so a device cannot answer for another. Its payload must agree
with the topic and with the command (same id, same name); the first answer wins.
The match is by the database row, so with several central processes any of them
may record the result.

A site with a command key (``[central.signing]``, central/command_signing.py) gets
its commands signed, with an expiry; the audit row is written for the signed
command, and a key that cannot be read refuses the command rather than send it
unsigned.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.accounts import Staff, may
from central.command_signing import SigningKeyError, SiteKeys
from central.staff_models import AuditEntry
from protocols.mqtt import payloads, topics
from protocols.mqtt.payloads import Command, Envelope, PayloadError, Result
from protocols.mqtt.signing import sign
from protocols.mqtt.topics import COMMAND_NAMES, Channel, TopicError

__all__ = ["CommandBook", "CommandError", "CommandLink", "CommandView", "results_filter"]

log = logging.getLogger(__name__)
MAX_MESSAGE = 500


class CommandError(ValueError):
    """A command refused before it was sent (role, name, arguments, device); says why (en)."""


@dataclass(frozen=True, slots=True)
class CommandView:
    """A command's audit row, as the API shows it."""

    id: int
    time: float
    actor: str
    command: str
    site: str | None
    device: str | None
    command_id: str | None
    args: dict[str, Any]
    outcome: str | None
    detail: str | None
    answered: float | None

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _view(row: AuditEntry) -> CommandView:
    return CommandView(
        row.id,
        row.time,
        row.actor,
        row.action,
        row.site,
        row.device,
        row.command_id,
        json.loads(row.args),
        row.outcome,
        row.detail,
        row.answered,
    )


def results_filter(prefix: str) -> str:
    """What central subscribes to for every device's answers."""
    topics.check_prefix(prefix)
    return f"{prefix}/{topics.SCHEMA}/+/+/{Channel.RESULTS}/+"


def check_args(name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments ``name`` takes, checked here so a device never gets a malformed one."""
    if not isinstance(args, Mapping):
        raise CommandError("args must be an object")
    if name == "message":
        text = args.get("text")
        if set(args) != {"text"} or not isinstance(text, str) or not text.strip():
            raise CommandError("message takes args.text, some text")
        if len(text) > MAX_MESSAGE:
            raise CommandError(f"message text is at most {MAX_MESSAGE} characters")
        return {"text": text}
    if name == "empty_bin":
        number = args.get("bin")
        if set(args) != {"bin"} or isinstance(number, bool) or not isinstance(number, int):
            raise CommandError("empty_bin takes args.bin, a bin number from 1")
        if not 1 <= number <= 999:
            raise CommandError("empty_bin takes args.bin, a bin number from 1")
        return {"bin": number}
    if args:
        raise CommandError(f"{name} takes no arguments")
    return {}


class CommandBook:
    """Audit rows for commands: open one before sending, close it with its result."""

    def __init__(
        self, sessions: Callable[[], Session], prefix: str, *, keys: SiteKeys | None = None
    ) -> None:
        self.sessions = sessions
        self.prefix = topics.check_prefix(prefix)
        self.keys = keys
        """The sites' command keys: commands to a site with one are signed."""

    def prepare(
        self,
        staff: Staff,
        site: str,
        device: str,
        name: str,
        args: Mapping[str, Any],
        *,
        now: float,
    ) -> tuple[str, bytes, CommandView]:
        """Check, audit, and build ``(topic, payload, row)``; CommandError (audited) if refused."""
        if name not in COMMAND_NAMES:
            raise CommandError(f"unknown command {str(name)[:40]!r}")
        try:
            topic = topics.build_topic(self.prefix, site, device, Channel.COMMANDS, name)
        except TopicError as error:
            raise CommandError(str(error)) from None
        if not may(staff.role, name):
            self._refused(staff, site, device, name, now=now, why=f"role {staff.role.label}")
            raise CommandError(f"role {staff.role.label} may not send {name}")
        clean = check_args(name, args)
        command = Command(
            Envelope(payloads.new_id(), payloads.iso_time(now), device, site), name, clean
        )
        if self.keys is not None:
            try:
                key = self.keys.key_for(site)
            except SigningKeyError as error:
                self._refused(staff, site, device, name, now=now, why="command key unreadable")
                raise CommandError(str(error)) from None
            if key is not None:
                command = sign(command, key, now + self.keys.ttl)
        payload = payloads.encode(command)
        with self.sessions() as session:
            row = AuditEntry(
                time=now,
                actor=staff.login,
                action=name,
                site=site,
                device=device,
                command_id=command.envelope.id,
                args=json.dumps(clean, ensure_ascii=False, sort_keys=True),
            )
            session.add(row)
            session.commit()
            view = _view(row)
        return topic, payload, view

    def _refused(
        self, staff: Staff, site: str, device: str, name: str, *, now: float, why: str
    ) -> None:
        with self.sessions() as session:
            session.add(
                AuditEntry(
                    time=now,
                    actor=staff.login,
                    action=name,
                    site=site,
                    device=device,
                    outcome="refused",
                    detail=why,
                )
            )
            session.commit()

    def accept(self, topic: str, payload: bytes, now: float) -> CommandView | None:
        """Record the result on ``topic``; None (and a log line) if it answers nothing of ours."""
        try:
            where = topics.parse_topic(topic, self.prefix)
            if where.channel is not Channel.RESULTS:
                return None
            result = payloads.decode_result(payload)
        except (TopicError, PayloadError) as error:
            log.warning("dropped a malformed result: %s", error)
            return None
        sender = result.envelope
        if (sender.site, sender.device) != (where.site, where.device) or (
            result.command_id != where.name
        ):
            log.warning(
                "dropped a result under %s/%s whose payload names %s/%s or another command",
                where.site,
                where.device,
                sender.site,
                sender.device,
            )
            return None
        return self._close(where.site, where.device, result, now)

    def _close(self, site: str, device: str, result: Result, now: float) -> CommandView | None:
        with self.sessions() as session:
            row = session.scalar(
                select(AuditEntry).where(AuditEntry.command_id == result.command_id)
            )
            if row is None or (row.site, row.device, row.action) != (site, device, result.command):
                # Not ours, or an answer from a device the command was never sent to.
                log.warning("dropped a result from %s/%s for no command of its", site, device)
                return None
            done = session.execute(
                update(AuditEntry)
                .where(AuditEntry.id == row.id, AuditEntry.outcome.is_(None))
                .values(
                    outcome="ok" if result.ok else "failed",
                    detail=(result.detail or "")[:500],
                    answered=now,
                )
            )
            session.commit()
            if done.rowcount == 0:  # type: ignore[attr-defined]
                return None  # answered already (a duplicate, or it timed out first)
            session.refresh(row)
            return _view(row)

    def expire(self, older_than: float, now: float) -> int:
        """Mark commands sent before ``older_than`` and still unanswered as timed out."""
        with self.sessions() as session:
            done = session.execute(
                update(AuditEntry)
                .where(
                    AuditEntry.command_id.is_not(None),
                    AuditEntry.outcome.is_(None),
                    AuditEntry.time < older_than,
                )
                .values(outcome="timeout", detail="no answer", answered=now)
            )
            session.commit()
            return int(done.rowcount)  # type: ignore[attr-defined]

    def get(self, command_id: str) -> CommandView | None:
        with self.sessions() as session:
            row = session.scalar(select(AuditEntry).where(AuditEntry.command_id == command_id))
            return _view(row) if row is not None else None

    def list_audit(self, *, device: str | None = None, limit: int = 500) -> list[CommandView]:
        with self.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            if device is not None:
                query = query.where(AuditEntry.device == device)
            return [_view(row) for row in session.scalars(query)]


class CommandLink:
    """Send commands and hear results on a paho client logged in as central.

    The client may be shared with the rest of central: results come through paho's
    per-filter callback, and :meth:`subscribe` is called from the owner's on_connect.
    """

    def __init__(self, client: mqtt.Client, book: CommandBook, clock: Callable[[], float]) -> None:
        self.client = client
        self.book = book
        self.clock = clock
        self._answered = threading.Condition()
        self._filter = results_filter(book.prefix)
        client.message_callback_add(self._filter, self._on_result)

    def subscribe(self) -> None:
        self.client.subscribe(self._filter, qos=1)

    def _on_result(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            view = self.book.accept(message.topic, bytes(message.payload), self.clock())
        except Exception:  # the database failed: paho's thread must carry on
            log.exception("result not recorded")
            return
        if view is not None:
            log.info("command %s to %s: %s", view.command, view.device, view.outcome)
            with self._answered:
                self._answered.notify_all()

    def send(
        self, staff: Staff, site: str, device: str, name: str, args: Mapping[str, Any]
    ) -> CommandView:
        """Audit and publish (QoS 1, not retained: a stale command must not wait for a device)."""
        topic, payload, view = self.book.prepare(staff, site, device, name, args, now=self.clock())
        self.client.publish(topic, payload, qos=1, retain=False)
        log.info("command %s to %s/%s by %s", name, site, device, staff.login)
        return view

    def wait(self, command_id: str, timeout: float) -> CommandView | None:
        """The command's row once answered, or None when ``timeout`` seconds pass first."""

        def answered() -> CommandView | None:
            view = self.book.get(command_id)
            return view if view is not None and view.outcome is not None else None

        with self._answered:
            return self._answered.wait_for(answered, timeout)
