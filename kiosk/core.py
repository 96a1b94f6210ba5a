"""The engine: one object owning the devices, the journal, the ILS link and the patron session.

Every way in — the touchscreen, scripts, the scenario runner, the card reader
and the pad — ends up calling the methods here, which return JSON-able
answers and publish events on :attr:`Engine.bus`. Circulation itself happens
in :mod:`engine.circulation.steps`; what a restart must finish, in
:mod:`engine.circulation.reconcile`; offline replays, in :mod:`engine.circulation.replay`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from drivers.interfaces import BarcodeScanner, DeviceError, DeviceState, PatronCardReader, TagReader
from drivers.registry import open_device
from engine.circulation.offline_limits import OfflineLimits
from engine.circulation.reconcile import reconcile
from engine.circulation.repeats import already_lent, already_returned, earlier_result
from engine.circulation.replay import replay_offline
from engine.circulation.settled import settled_result
from engine.circulation.steps import Borrower, Circulation, Item
from engine.clock import SiteClock, system_now
from engine.config.model import DeviceConfig, Role
from engine.events import EventBus
from engine.identifiers import IdentifierRules, InvalidIdentifier, check_pin
from engine.ils.client import IlsClient
from engine.ils.embedded import EmbeddedIls
from engine.ils.errors import IlsConnectionError, IlsError
from engine.ils.schemes import SimulatedIls
from engine.journal.pin_verifier import PinVerifier, load_key
from engine.journal.store import IN_WORK, Journal, PatronCache, PatronCacheEntry
from engine.jsonlines import Refusal
from engine.patron_ref import PatronRefs
from engine.security.links import LinkWatch
from engine.security.pins import PinWatch
from engine.security.reporter import SecurityReporter
from engine.security.tags import TagWatch
from engine.texts import both
from kiosk.modes import Mode
from kiosk.pad import PadTag, PadWatcher
from kiosk.patrons import PatronSession, PinLockout, mask_name, pin_lock_refs
from kiosk.sets import set_parts
from protocols.sip2.codes import PatronStatusFlag
from protocols.tags import isil_key, isil_keys

log = logging.getLogger(__name__)

PIN_LOCK = timedelta(minutes=15)
BLOCKING_FLAGS = {
    PatronStatusFlag.CHARGE_PRIVILEGES_DENIED,
}


def pin_verifier(config: DeviceConfig) -> PinVerifier:
    """The offline cache's PIN verifier, keyed as configured (see docs/privacy.md)."""
    return PinVerifier(load_key(config.journal.pin_key_file, config.device.data_dir))


class CommandError(Refusal):
    """A command the engine refuses, with a patron-readable message in both languages."""

    def __init__(self, code: str, *, ils_message: str = "", **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = both(code, **values)
        if ils_message:
            self.message["ils_message"] = ils_message


RETURN_REPEAT = 60.0
"""Seconds a return is taken for in flight at most: laid again meanwhile, it is not sent again."""


def _counts(items: list[dict[str, Any]]) -> dict[str, int]:
    checking = sum(1 for i in items if i.get("outcome") == "being_checked")
    done = sum(1 for i in items if i.get("success"))
    return {"checked_out": done, "failed": len(items) - done - checking, "being_checked": checking}


class Engine:
    """The kiosk's state and every way to change it.

    Ownership: ``lock`` guards all of the engine's own state (the session and its
    items, the mode, the recent returns, the flagged tags). Every entry point
    takes it, whatever thread it runs on: API commands, the card and barcode
    loops, the pad's callbacks and the circulation workers' results. It is
    never held while waiting for circulation (``done`` waits first, then
    locks), because the workers need it to report.
    """

    maintenance_every = 5.0
    """Seconds between retries of what an earlier run left open, and of offline replays."""

    def __init__(
        self,
        config: DeviceConfig,
        *,
        ils: IlsClient | None = None,
        clock: Callable[[], datetime] = system_now,
    ) -> None:
        self.config = config
        self.clock = SiteClock(config.device.timezone, clock)
        """The engine's one clock; SIP2 dates and the journal take the site's local time."""
        self.bus = EventBus()
        data_dir = config.device.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.patron_ref = PatronRefs.for_device(config)
        self.journal = Journal.open(data_dir / "journal.sqlite")
        self.cache = PatronCache(self.journal, pin_verifier(config))
        self.identifiers = IdentifierRules.from_patterns(
            config.patron.id_pattern, config.tags.item_id_pattern
        )
        self.pin_lockout = PinLockout(self.cache, config.patron.pin_attempts, PIN_LOCK)
        settings = config.ils.settings()
        self.embedded: EmbeddedIls | None = None
        self.ils_simulator: SimulatedIls | None = None
        """An ILS simulator the sim_ils command may take down (the embedded one, a demo's)."""
        if ils is None and settings.simulated:
            self.embedded = EmbeddedIls(data_dir)
            settings = self.embedded.settings(settings)
            self.ils_simulator = self.embedded.thread
        self.ils = ils or IlsClient(settings, clock=self.clock.local)
        # Attack detection (docs/security.md): every detector reports through one reporter.
        detection = config.detection
        self.security = SecurityReporter(self.bus, window=detection.report_window)
        self.pin_watch = PinWatch(
            self.security,
            cards=detection.pin_guessing_cards,
            window=detection.pin_guessing_window,
        )
        self.tag_watch = TagWatch(
            self.security,
            remembered=detection.items_remembered,
            repeats=detection.unknown_item_repeats,
            window=detection.unknown_item_window,
        )
        self.link_watch = LinkWatch(self.security, mqtt_failures=detection.mqtt_login_failures)
        self.ils.watch(self.link_watch.ils_refused)
        self.policy = config.security.to_policy()
        pad_url = config.devices.pad
        if pad_url is None:
            raise ValueError("the kiosk engine needs devices.pad")
        self.reader: TagReader = open_device(pad_url)
        self.card: PatronCardReader | None = (
            open_device(config.devices.card) if config.devices.card else None
        )
        self.barcode: BarcodeScanner | None = (
            open_device(config.devices.barcode) if config.devices.barcode else None
        )
        self.reader_lock = threading.RLock()
        self.lock = threading.RLock()
        self.circulation = Circulation(
            self.journal,
            self.ils,
            self.reader,
            self.reader_lock,
            self.policy,
            on_result=self._on_result,
            attempts=config.tags.security_attempts,
            offline_enabled=config.offline.enabled,
            offline_limits=OfflineLimits(
                config.offline.max_items_per_patron, config.offline.max_items_total
            ),
            clock=self.clock.local,
            security_retries=config.tags.security_retries,
        )
        self.pad = PadWatcher(
            self.reader,
            self.reader_lock,
            self._on_tag_added,
            self._on_tag_removed,
            self._on_reader_state,
            wait_idle=self.circulation.wait_idle,
            wait_writer_idle=self.circulation.wait_tags_idle,
        )
        self.session: PatronSession | None = None
        self.mode = Mode.RETURN if config.device.role is Role.RETURN else Mode.IDLE
        self.language = config.device.languages[0]
        self.last_activity = time.monotonic()
        self.warned = False
        self.out_of_service = False
        self.returned: dict[bytes, float] = {}
        """UIDs of returns still in flight here, at most RETURN_REPEAT seconds old (pruned as
        it is added to). A return at rest, or a loan made since, takes its UIDs out: from
        then on the journal and the ILS decide (issue 17: a minute's memory ignored a
        second return after a loan and left the book unsecured)."""
        self.last_summary: dict[str, Any] | None = None
        # UIDs of flagged transactions, so a tag arriving costs no database read.
        self.flagged_uids: set[bytes] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = time.time()
        self.run_began = self.journal.now()
        self._settling = threading.Lock()
        """One reconcile at a time (the maintenance loop, and ``done`` for a late item)."""
        self._pruned_at: datetime | None = None
        self.retention_clock = self.journal.now
        """The clock retention counts days on (UTC, as the journal's); tests inject one."""

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.circulation.ils_online = self.ils.connect_all() > 0
        # Everything open before this moment is an earlier run's; what opens after, ours.
        self.run_began = self.journal.now()
        report = reconcile(self.journal, self.ils, self.reader, self.reader_lock, self.circulation)
        for line in report:
            self.bus.publish("reconciled", **line)
        for txn in self.journal.in_states({"flagged"}):
            self.flagged_uids.update(txn.tag_uids)
        self.circulation.start()
        self.pad.start()
        for name, target in (
            ("session-timer", self._timer_loop),
            ("maintenance", self._maintenance_loop),
        ):
            self._spawn(name, target)
        if self.card is not None:
            self._spawn("card", self._card_loop)
        if self.barcode is not None:
            self._spawn("barcode", self._barcode_loop)
        self.bus.publish("ready", role=self.config.device.role, device=self.config.device.id)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.pad.stop()
        self.circulation.stop()
        for thread in self._threads:
            thread.join(timeout=3)
        for device in (self.reader, self.card, self.barcode):
            if device is not None:
                device.close()
        self.ils.close()
        if self.embedded is not None:
            self.embedded.stop()
        self.journal.close()

    def healthy(self) -> bool:
        """What the systemd watchdog is fed on: every loop ran recently."""
        return self.pad.healthy(10.0) and all(t.is_alive() for t in self._threads)

    # --- status ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        attention = self.journal.in_states({"flagged", "conflict"})
        return {
            "device": self.config.device.id,
            "role": self.config.device.role,
            "mode": self.mode,
            "language": self.language,
            "out_of_service": self.out_of_service,
            "ils_online": self.circulation.ils_online,
            "reader": self.pad._state.value,
            "session": self.session.public() if self.session else None,
            "pending": self.circulation.pending,
            "offline_queue": len(self.journal.in_states({"offline_done"})),
            "attention": [
                {
                    "txn": t.id,
                    "kind": t.kind,
                    "item_id": t.item_id,
                    "state": t.state,
                    "detail": t.detail,
                }
                for t in attention
            ],
            "uptime": round(time.time() - self.started, 1),
        }

    def statistics(self) -> dict[str, Any]:
        return {
            "hours": [
                {"hour": hour.isoformat(), "kind": kind, "count": count}
                for hour, kind, count in self.journal.hourly()
            ]
        }

    # --- patrons --------------------------------------------------------------------------

    def _touch(self) -> None:
        self.last_activity = time.monotonic()
        self.warned = False

    def identify(self, method: str, value: str, card_uid: bytes | None = None) -> dict[str, Any]:
        with self.lock:
            self._touch()
            if self.out_of_service:
                raise CommandError("ils_unavailable")
            if method not in self.config.patron.identify_by:
                raise CommandError("patron_unknown")
            try:
                patron_id = self.identifiers.patron_id(value)
            except InvalidIdentifier as refused:
                # Never acted on, never sent to the ILS; the text itself is not logged.
                log.warning("identifier refused (%s): %s", method, refused)
                raise CommandError("patron_id_invalid") from None
            if self.session is not None:
                self.end_session("new_patron")
            if self.pin_lockout.locked(pin_lock_refs(self.patron_ref, patron_id)):
                raise CommandError("pin_locked")
            self.session = PatronSession(
                id=uuid.uuid4().hex,
                patron_id=patron_id,
                language=self.language,
                method=method,
                started=self.clock.local(),
                refs=self.patron_ref,
                card_uid=card_uid,
            )
            self.mode = Mode.SESSION
            self.bus.publish("patron_identified", patron_ref=self.session.ref, method=method)
            if self.config.patron.pin == "required":
                self.bus.publish("pin_needed", patron_ref=self.session.ref)
                return {"need_pin": True, "patron_ref": self.session.ref}
            return self._login(None)

    def pin(self, pin: str) -> dict[str, Any]:
        with self.lock:
            self._touch()
            if self.session is None:
                raise CommandError("patron_unknown")
            try:
                pin = check_pin(pin)
            except InvalidIdentifier:
                raise CommandError("pin_invalid") from None
            return self._login(pin)

    def _login(self, pin: str | None) -> dict[str, Any]:
        session = self.session
        assert session is not None
        ref = session.ref
        try:
            answer = self.ils.patron_information(session.patron_id, pin, summary="hold")
        except IlsConnectionError:
            return self._offline_login(session, pin)
        except IlsError as error:
            log.warning("patron information failed: %s", error)
            return self._offline_login(session, pin)
        if not answer.valid_patron:
            self._end_quietly()
            raise CommandError("patron_unknown")
        self._note_ils_patron_id(session, answer.patron_id)
        if self.pin_lockout.locked(session.lock_refs):
            self._end_quietly()
            raise CommandError("pin_locked")
        if pin is not None and answer.valid_patron_password is False:
            return self._wrong_pin(session)
        blocked = bool(BLOCKING_FLAGS & set(answer.patron_status))
        session.verified = True
        session.pin = pin
        session.display_name = mask_name(
            answer.personal_name or "", self.config.patron.name_display
        )
        session.email = answer.email or None
        session.holds = list(answer.hold_items)
        session.fines = str(answer.fee_amount or "")
        session.screen_messages = list(answer.screen_messages)
        session.patron_type = answer.get("PC") or None
        # The PIN hash (deliberately slow) and the loan list are not on the patron's path:
        # the stack on the pad starts moving while they are worked out.
        self._spawn_once("patron-cache", self._remember_patron, session, pin, blocked)
        self.circulation.ils_online = True
        if blocked:
            self.bus.publish(
                "patron_blocked", patron_ref=ref, screen_messages=session.screen_messages
            )
            self._end_quietly()
            # The ILS says why (fines, a lost card…) and what to do: the patron reads that.
            raise CommandError("patron_blocked", ils_message=" ".join(session.screen_messages))
        self.bus.publish("session_started", **session.public())
        self._pick_up_waiting_items()
        return session.public()

    def _note_ils_patron_id(self, session: PatronSession, answered: str | None) -> None:
        """Keep the id the ILS answered (AA), so wrong PINs count against its patron."""
        try:
            session.ils_patron_id = self.identifiers.patron_id(answered or "")
        except InvalidIdentifier:
            session.ils_patron_id = None  # none, or none usable: the id as read counts

    def _pick_up_waiting_items(self) -> None:
        """Books laid on the pad before the patron identified are checked out now."""
        for tag in list(self.pad.present.values()):
            self._on_tag_added(tag)

    def _spawn_once(self, name: str, target: Any, *args: Any) -> None:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()

    def _remember_patron(self, session: PatronSession, pin: str | None, blocked: bool) -> None:
        # The hash is deliberately slow CPU work: let the stack on the pad go first.
        self.circulation.wait_idle(60)
        ref = session.ref
        try:
            self.pin_lockout.succeeded(session.lock_refs)
            self.cache.remember(
                PatronCacheEntry(
                    ref,
                    True,
                    blocked,
                    session.patron_type,
                    self.cache.verifier_for(pin),
                    session.display_name,
                    self.clock.local(),
                )
            )
        except SQLAlchemyError as error:  # a full or read-only disk: the session goes on
            log.warning("offline cache not updated: %s", error.__class__.__name__)

    def _wrong_pin(self, session: PatronSession) -> dict[str, Any]:
        left = self.pin_lockout.failed(session.lock_refs)
        self.pin_watch.wrong_pin(session.ref)
        self.bus.publish("pin_wrong", patron_ref=session.ref, attempts_left=left)
        if left == 0:
            self._end_quietly()
            raise CommandError("pin_locked")
        raise CommandError("wrong_pin")

    def _offline_login(self, session: PatronSession, pin: str | None) -> dict[str, Any]:
        self.circulation.ils_online = False
        offline = self.config.offline
        entry = self.cache.lookup(session.ref)
        allowed = offline.enabled and (entry is not None or not offline.require_known_patron)
        if entry is not None:
            age = self.clock.local() - entry.updated_at
            allowed = allowed and entry.valid and not entry.blocked
            allowed = allowed and age <= timedelta(hours=offline.cache_max_age_hours)
            if offline.patron_types and entry.patron_type not in offline.patron_types:
                allowed = False
            if (
                pin is not None
                and entry.pin_hash
                and not self.cache.pin_matches(pin, entry.pin_hash)
            ):
                return self._wrong_pin(session)
        if not allowed:
            self._end_quietly()
            raise CommandError("not_allowed_offline")
        session.verified = True
        session.offline = True
        session.display_name = entry.display_name or "" if entry else ""
        self.bus.publish("session_started", **session.public())
        self._pick_up_waiting_items()
        return session.public()

    def _end_quietly(self) -> None:
        self.session = None
        self.mode = Mode.RETURN if self.config.device.role is Role.RETURN else Mode.IDLE

    def set_language(self, language: str) -> dict[str, Any]:
        if language not in self.config.device.languages:
            raise CommandError("unknown_language")
        with self.lock:
            self.language = language
            if self.session is not None:
                self.session.language = language
            self._touch()
        self.bus.publish("language", language=language)
        return {"language": language}

    def extend(self) -> dict[str, Any]:
        with self.lock:
            self._touch()
        self.bus.publish("session_extended")
        return {"idle_timeout": self.config.patron.idle_timeout}

    def account(self) -> dict[str, Any]:
        """The patron's account screen: loans are asked for here, not at login, so the
        first checkout of a stack never waits behind them."""
        with self.lock:
            session = self.session
            if session is None:
                raise CommandError("patron_unknown")
            self._touch()
            self._load_loans(session)
            return session.public()

    def _load_loans(self, session: PatronSession) -> None:
        if session.offline:
            return
        try:
            answer = self.ils.patron_information(session.patron_id, session.pin, summary="charged")
        except IlsError as error:
            log.warning("loan list unavailable: %s", error)
            return
        # Loan ids go back to the ILS (item information, renew): held to the same rules.
        session.loans = [item for item in answer.charged_items if self._item_id_ok(item)]
        details: list[dict[str, object]] = []
        for item in session.loans[:50]:  # one ILS call each: enough for any real account
            try:
                info = self.ils.item_information(item)
            except IlsError:
                details.append({"item_id": item})
                continue
            details.append(
                {
                    "item_id": item,
                    "title": info.title or None,
                    "due_date": (info.due_date or "").strip() or None,
                }
            )
        session.loan_details = details

    def renew(self, item_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            return self._renew(item_id)

    def _renew(self, item_id: str | None) -> dict[str, Any]:
        session = self.session
        if session is None or not session.verified:
            raise CommandError("patron_unknown")
        self._touch()
        if item_id and not self._item_id_ok(item_id):
            raise CommandError("item_id_invalid")
        if not item_id:
            self._load_loans(session)
        items = [item_id] if item_id else list(session.loans)
        results: list[dict[str, Any]] = []
        for item in items:
            txn = self.journal.begin(
                "renew",
                item,
                (),
                patron_id=session.patron_id,
                patron_ref=session.ref,
                session_id=session.id,
                transaction_date=self.clock.local(),
                security_target=None,
            )
            try:
                answer = self.ils.renew(session.patron_id, item, session.pin)
            except IlsError:
                self.journal.step(txn.id, "cancelled", outcome="ils_unavailable")
                results.append(
                    {
                        "item_id": item,
                        "outcome": "ils_unavailable",
                        "message": both("ils_unavailable"),
                    }
                )
                continue
            message = " ".join(answer.screen_messages) or None
            if answer.ok:
                self.journal.step(
                    txn.id,
                    "done",
                    outcome="renewed",
                    due_date=answer.due_date,
                    title=answer.title or None,
                    ils_message=message,
                )
                self.journal.count("renew")
                outcome = "renewed"
            else:
                self.journal.step(txn.id, "refused", outcome="renew_refused", ils_message=message)
                self.journal.count("renew_failed")
                outcome = "renew_refused"
            result = {
                "item_id": item,
                "outcome": outcome,
                "message": both(outcome),
                "due_date": (answer.due_date or "").strip() or None,
                "title": answer.title,
                "ils_message": message,
            }
            results.append(result)
            self.bus.publish("renewed", **result)
        return {"results": results}

    # --- the session's end and the receipt --------------------------------------------------

    def done(self) -> dict[str, Any]:
        """The patron is finished: wait for the items in flight, then offer a receipt."""
        current = self.session
        if current is None:
            raise CommandError("patron_unknown")
        # Not under the lock: the workers (and a settle's reconcile) take it to report
        # the items being waited for.
        self.circulation.wait_idle(30)
        self._settle_before_summary(current)
        with self.lock:
            session = self.session
            if session is None:
                raise CommandError("patron_unknown")
            self._touch()
            summary = self._summary(session)
            self.last_summary = summary
            session.closing = True
        self.bus.publish("summary", **summary)
        return summary

    def _summary(self, session: PatronSession) -> dict[str, Any]:
        items = list(session.items.values())
        return {
            "session": session.id,
            "name": session.display_name,
            "language": session.language,
            "items": items,
            **_counts(items),
            **self._receipt_ways(session),
        }

    def _receipt_ways(self, session: PatronSession | None) -> dict[str, bool]:
        """The receipts this kiosk offers now: the site's [receipts] switches, and what each
        needs (a printer; a mail server and the patron's address)."""
        receipts = self.config.receipts
        return {
            "print_available": receipts.print and bool(self.config.devices.printer),
            "email_available": receipts.email
            and receipts.smtp is not None
            and session is not None
            and session.email is not None,
            "qr_available": receipts.qr,
        }

    def _settle_before_summary(self, session: PatronSession) -> None:
        """Items "being checked" get one more try before the patron reads the summary;
        what still cannot be settled stays "being checked" there and on the receipt."""
        if not any(i.get("outcome") == "being_checked" for i in session.items.values()):
            return
        try:
            self._reconcile_now()
        except IlsConnectionError:
            self.circulation.ils_online = False
        except Exception as error:  # the disk still full or read-only: say so, go on
            log.warning("items still being checked: %s", error)

    def receipt(self, method: str) -> dict[str, Any]:
        from kiosk.receipts import deliver

        with self.lock:
            summary = self.last_summary
            session = self.session
        if summary is None:
            raise CommandError("patron_unknown")
        if method != "none" and not self._receipt_ways(session).get(f"{method}_available", False):
            # A way the site switched off (or cannot do here) is refused before anything is
            # printed or sent; the session stays open for the patron to choose another.
            raise CommandError("receipt_not_offered")
        # Printing or mailing may take seconds: not under the lock the pad reports through.
        result: dict[str, Any] = deliver(self, summary, session, method)
        self.end_session("done")
        return result

    def end_session(self, reason: str) -> dict[str, Any]:
        with self.lock:
            session = self.session
            if session is None:
                return {"ended": False}
            if reason != "done":
                self.last_summary = self._summary(session)
            try:
                if session.verified and not session.offline:
                    self.ils.end_session(session.patron_id, session.pin)
            except IlsError:
                pass
            self._end_quietly()
            self.bus.publish("session_ended", reason=reason, session=session.id)
            return {"ended": True, "reason": reason}

    def cancel(self) -> dict[str, Any]:
        return self.end_session("cancelled")

    def return_mode(self) -> dict[str, Any]:
        if self.config.device.role is Role.SELF_CHECKOUT:
            raise CommandError("return_not_here")
        with self.lock:
            if self.session is not None:
                self.end_session("return_mode")
            self.mode = Mode.RETURN
            self._touch()
        # Only items placed from now on are returns: what lies on the pad may be the
        # books the last patron just borrowed, and returning those would undo her loans.
        self.bus.publish("mode", mode=Mode.RETURN)
        return {"mode": Mode.RETURN}

    def staff(self, action: str) -> dict[str, Any]:
        with self.lock:
            if action == "out_of_service":
                self.out_of_service = True
                self.end_session("out_of_service")
            elif action == "in_service":
                self.out_of_service = False
            elif action == "reset":
                self.end_session("reset")
                self.returned.clear()
            else:
                raise CommandError("unknown_action")
        self.bus.publish("staff", action=action)
        return self.status()

    # --- the pad ----------------------------------------------------------------------------

    def _on_reader_state(self, state: DeviceState, detail: str) -> None:
        self.bus.publish("device", device="pad", state=state.value, detail=detail)

    def _item_event(self, outcome: str, uid: bytes, **values: Any) -> None:
        self.bus.publish(
            "item",
            outcome=outcome,
            uid=uid.hex().upper(),
            message=both(outcome, **values),
            **values,
        )

    def _on_tag_added(self, tag: PadTag) -> None:
        with self.lock:
            self._tag_added(tag)

    def _tag_added(self, tag: PadTag) -> None:
        self._touch()
        flagged = []
        if tag.uid in self.flagged_uids:
            flagged = [t for t in self.journal.in_states({"flagged"}) if tag.uid in t.tag_uids]
            if not flagged:
                self.flagged_uids.discard(tag.uid)  # finished meanwhile (reconciled, staff)
        if flagged and tag.read is not None:
            for txn in flagged:
                self.circulation.finish(txn)
            return
        if tag.read is None:
            self._item_event("reposition", tag.uid)
            return
        data = tag.read.tag
        if data is None:
            self.tag_watch.undecodable(tag.uid, tag.read.error)
            self._item_event("unknown_model", tag.uid, detail=tag.read.error)
            return
        if data.model not in self.config.tags.accept_models:
            self.tag_watch.mismatch(tag.uid, "model_not_accepted")
            self._item_event("unknown_model", tag.uid, detail=data.model)
            return
        if data.crc_valid is False:
            self.tag_watch.mismatch(tag.uid, "crc_mismatch")
            self._item_event("tag_unreadable", tag.uid, item_id=data.item_id)
            return
        if not self._item_id_ok(data.item_id):
            self._item_event("item_id_invalid", tag.uid)
            return
        owners = isil_keys(self.config.tags.owner_libraries)  # DK718500 is DK-718500
        if owners and data.owner_library and isil_key(data.owner_library) not in owners:
            self._item_event("foreign_item", tag.uid, item_id=data.item_id)
            return
        self.tag_watch.seen(data.item_id, data.set_index, tag.uid, isil_key(data.owner_library))
        session = self.session
        if self.mode is Mode.SESSION and session is not None:
            known = session.items.get(data.item_id)
            if known is not None and known.get("state") not in ("refused", "cancelled"):
                # A part of a set lent (or on its way) in this session, lifted and laid
                # again: nothing to do, and its line keeps saying what happened to it.
                return
        uids = set_parts(self.pad.present.values(), data.item_id, data.set_size, tag.uid)
        if isinstance(uids, list):
            self.bus.publish(
                "item",
                outcome="missing_part",
                item_id=data.item_id,
                parts=data.set_size,
                missing=uids,
                message=both(
                    "missing_part", parts=data.set_size, missing=", ".join(map(str, uids))
                ),
            )
            return
        item = Item(data.item_id, uids)
        if self.mode is Mode.SESSION and session is not None and not session.closing:
            self._checkout(item)
        elif self.mode is Mode.RETURN:
            self._checkin(item)
        else:
            self._item_event("item_waiting", tag.uid, item_id=data.item_id)

    def _item_id_ok(self, item_id: str) -> bool:
        """Whether an item id may go to the ILS (a tag's text is as hostile as a card's)."""
        try:
            self.identifiers.item_id(item_id)
        except InvalidIdentifier as refused:
            log.warning("item id refused: %s", refused)
            return False
        return True

    def _checkin(self, item: Item) -> None:
        now = time.monotonic()
        for uid, when in list(self.returned.items()):
            if now - when >= RETURN_REPEAT:
                del self.returned[uid]
        if any(uid in self.returned for uid in item.uids):
            return  # its return is still in flight: the patron is told its outcome
        for uid in item.uids:
            self.returned[uid] = now
        earlier = already_returned(self.journal, self.ils, item)
        if earlier is not None:
            # Still on the pad from before a restart: the journal knows it is done.
            self.bus.publish("item", **earlier_result(earlier, "already_returned", success=True))
            return
        self.bus.publish("item", outcome="processing", item_id=item.item_id, kind="checkin")
        self.circulation.checkin(item)

    def _checkout(self, item: Item) -> None:
        session = self.session
        assert session is not None
        known = session.items.get(item.item_id)
        if known is not None and known.get("state") not in ("refused", "cancelled"):
            return  # already on its way or done in this session
        earlier = already_lent(self.journal, self.ils, session.patron_id, item)
        if earlier is not None:
            # Lent to this patron by this kiosk and never returned here since (a login
            # after a restart, or a second visit with the stack still on the pad):
            # sending it again would renew it.
            result = earlier_result(earlier, "already_yours", success=True)
            session.items[item.item_id] = result
            self.bus.publish("item", **result)
            return
        # The offline limits are counted by the ILS worker, against the journal.
        borrower = Borrower(
            session.patron_id, session.ref, session.id, session.pin, session.offline
        )
        session.items[item.item_id] = {
            "item_id": item.item_id,
            "state": "processing",
            "outcome": "processing",
            "success": False,
        }
        self.bus.publish("item", outcome="processing", item_id=item.item_id, kind="checkout")
        self.circulation.checkout(borrower, item)

    def _on_tag_removed(self, uid: bytes) -> None:
        self.bus.publish("tag_removed", uid=uid.hex().upper())

    def _on_result(self, result: dict[str, Any]) -> None:
        with self.lock:
            self._result(result)

    def _result(self, result: dict[str, Any]) -> None:
        success = result["outcome"] in (
            "checked_out",
            "offline_checked_out",
            "returned",
            "offline_returned",
        )
        result = {**result, "success": success}
        if result.pop("item_unknown", False):
            self.tag_watch.unknown_item(result["item_id"])
        uids = tuple(bytes.fromhex(u) for u in result.get("uids", ()))
        if result.get("flagged") and not result.get("gave_up"):
            self.flagged_uids.update(uids)
            # Seen again (still there, or put back) it is finished: see _on_tag_added.
            self.pad.forget(uids)
        else:
            # Finished, undone, or left to staff: no more retries when it is seen again.
            self.flagged_uids.difference_update(uids)
        lent = success and result["kind"] == "checkout"
        if lent or (result["kind"] == "checkin" and result.get("state") not in IN_WORK):
            # Lent since, or the return at rest: laid again it is a new return, or the
            # journal and the ILS say it is the same one (already_returned).
            for uid in uids:
                self.returned.pop(uid, None)
        session = self.session
        if (
            session is not None
            and result["kind"] == "checkout"
            and result["item_id"] in session.items
        ):
            session.items[result["item_id"]] = result
        if result.pop("quiet", False):
            return  # a silent retry: the patron has been told already
        self.bus.publish("item", **result)

    # --- background loops ---------------------------------------------------------------------

    def _timer_loop(self) -> None:
        patron = self.config.patron
        while not self._stop.wait(0.2):
            with self.lock:
                if self.session is None:
                    continue
                idle = time.monotonic() - self.last_activity
                if self.circulation.pending:
                    self._touch()  # items still in flight are not idleness
                    continue
                if idle >= patron.idle_timeout:
                    self.end_session("timeout")
                elif idle >= patron.idle_timeout - patron.idle_warning and not self.warned:
                    self.warned = True
                    seconds = round(patron.idle_timeout - idle)
                    self.bus.publish(
                        "idle_warning",
                        seconds=seconds,
                        message=both("idle_warning", seconds=seconds),
                    )

    def _maintenance_loop(self) -> None:
        while not self._stop.wait(self.maintenance_every):
            try:
                self._reconcile_now()
                for line in replay_offline(self.journal, self.ils):
                    self.circulation.ils_online = True
                    self.bus.publish("replayed", **line)
            except IlsConnectionError:
                self.circulation.ils_online = False
            except Exception:
                log.exception("maintenance loop")
            self._prune_journal()

    def _reconcile_now(self) -> None:
        """Settle what an earlier run left open and what this run's workers dropped (a
        full or read-only disk); an item of this session settled here is told again."""
        with self._settling:
            # reconcile reads the journal once and leaves the reader alone when
            # nothing is left to settle.
            abandoned = self.circulation.abandoned_now()
            report = reconcile(
                self.journal,
                self.ils,
                self.reader,
                self.reader_lock,
                self.circulation,
                only_ils=True,
                opened_before=self.run_began,
                abandoned=abandoned,
            )
            if abandoned:
                self.circulation.settled(
                    {i for i in abandoned if self.journal.get(i).state not in IN_WORK}
                )
            for line in report:
                self.bus.publish("reconciled", **line)
                self._item_settled(line["txn"])

    def _item_settled(self, txn_id: str) -> None:
        """A "being checked" item now at rest: the screen, the summary and the receipt
        get the outcome the ILS and the tag agree on."""
        result = settled_result(self.journal.get(txn_id))
        if result is None:
            return
        if result["success"] and result["kind"] == "checkout" and not result["offline"]:
            result = self._with_due_date(result)
        with self.lock:  # the ILS was asked above, outside it
            summary = self.last_summary
            if summary is not None and any(i.get("txn") == txn_id for i in summary["items"]):
                items = [result if i.get("txn") == txn_id else i for i in summary["items"]]
                self.last_summary = {**summary, **_counts(items), "items": items}
            session = self.session
            item = session.items.get(result["item_id"], {}) if session is not None else {}
            if item.get("txn") == txn_id:
                self._result(result)

    def _with_due_date(self, result: dict[str, Any]) -> dict[str, Any]:
        """The due date and title the journal could not record, from the ILS itself."""
        if result["due_date"] and result["title"]:
            return result
        try:
            info = self.ils.item_information(result["item_id"])
        except IlsError as error:
            log.info("no due date for a settled loan: %s", error)
            return result
        return {
            **result,
            "due_date": result["due_date"] or (info.due_date or "").strip() or None,
            "title": result["title"] or info.title or None,
        }

    def _prune_journal(self) -> None:
        """Forget who borrowed what after the retention period (at most once an hour)."""
        now = self.retention_clock()
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        try:
            pruned = self.journal.prune(now, timedelta(days=self.config.journal.retention_days))
        except Exception:
            log.exception("journal retention")
            return
        self._pruned_at = now
        if pruned.transactions or pruned.patrons:
            log.info(
                "retention: forgot %d transactions and %d cached patrons",
                pruned.transactions,
                pruned.patrons,
            )

    def _card_loop(self) -> None:
        assert self.card is not None
        while not self._stop.is_set():
            try:
                event = self.card.poll(0.5)
            except DeviceError:
                self._stop.wait(1.0)
                continue
            if event is None:
                continue
            if event.present:
                try:
                    self.identify("nfc", event.text or event.uid.hex().upper(), event.uid)
                except CommandError as error:
                    self.bus.publish("identify_failed", message=error.message)
            elif self.session is not None and self.session.card_uid == event.uid:
                self.end_session("card_removed")

    def _barcode_loop(self) -> None:
        assert self.barcode is not None
        while not self._stop.is_set():
            try:
                code = self.barcode.read(0.5)
            except DeviceError:
                self._stop.wait(1.0)
                continue
            if code and self.session is None:
                method = "qr" if code.startswith("muontra:") else "barcode"
                try:
                    self.identify(method, code.removeprefix("muontra:patron:"))
                except CommandError as error:
                    self.bus.publish("identify_failed", message=error.message)
