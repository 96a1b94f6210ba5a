"""Checkout and return of the items on the pad: ILS, then tag security, journaled.

Two workers form a pipeline: the ILS worker makes each item's SIP2 call while
the tag worker releases (or sets) the previous item's security and reads it
back, so a stack goes through in about the time of the longer of the two
chains. Every step is in the journal before it is taken (see
:mod:`engine.journal.store`); ``crash_point`` lets the power-cut tests stop the
process right after any of them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drivers.interfaces import DeviceError, TagReader
from drivers.security import SecurityResult, set_security
from engine.circulation.crash import crash_point
from engine.circulation.loans import Holder, loan_holder
from engine.circulation.offline_limits import OfflineLimits
from engine.ils.client import IlsClient
from engine.ils.errors import IlsAnswerLost, IlsConnectionError, IlsError
from engine.journal.store import Journal, Txn
from engine.texts import both
from protocols.sip2 import CheckinResponse, CheckoutResponse
from protocols.sip2.codes import AlertType, CirculationStatus
from protocols.tags import SecurityPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Borrower:
    patron_id: str
    patron_ref: str
    session_id: str
    pin: str | None
    offline: bool


@dataclass(frozen=True, slots=True)
class Item:
    item_id: str
    uids: tuple[bytes, ...]


Result = Callable[[dict[str, Any]], None]

SHOWN = "shown"
"""Key of what the tag worker passes on to the item's outcome without journaling it."""


class Circulation:
    def __init__(
        self,
        journal: Journal,
        ils: IlsClient,
        reader: TagReader,
        reader_lock: threading.RLock,
        policy: SecurityPolicy,
        *,
        on_result: Result,
        attempts: int = 3,
        offline_enabled: bool = True,
        offline_limits: OfflineLimits | None = None,
        clock: Callable[[], datetime] = datetime.now,
        security_retries: int = 2,
        keep_answers: bool = False,
    ) -> None:
        self.journal = journal
        self.ils = ils
        self.reader = reader
        self.reader_lock = reader_lock
        self.policy = policy
        self.on_result = on_result
        self.attempts = attempts
        self.offline_enabled = offline_enabled
        self.offline_limits = offline_limits or OfflineLimits()
        self.clock = clock
        """The site's local time (naive), as SIP2 dates and the journal take it."""
        self.security_retries = security_retries
        """Times a failed security step is tried again (its tag seen again) before the
        loan is undone or left to staff: a tag that never keeps its write is not retried
        without end."""
        self.keep_answers = keep_answers
        """Give each checkin's outcome the ILS's whole answer (key ``answer``, a
        CheckinResponse): the return machine sorts by its CL, CV, CT, AQ and CK. Off for
        the kiosk, whose outcomes go out as JSON."""
        self.ils_online = True
        self._ils_queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        # (transaction, what the ILS said): the tag worker journals both in its "securing"
        # step, so the ILS worker goes on to the next item without a write of its own.
        self._tag_queue: queue.Queue[tuple[Txn, dict[str, Any]] | None] = queue.Queue()
        self._pending = 0
        self._pending_lock = threading.Condition()
        self._tag_jobs = 0
        """Jobs queued for or held by the tag worker (under ``_pending_lock``)."""
        self._finishing: set[str] = set()
        """Flagged transactions queued to be finished (under ``_pending_lock``)."""
        self._abandoned: set[str] = set()
        """Transactions a worker dropped on an unexpected error, for the maintenance loop."""
        self._ils_txn: Txn | None = None
        """The transaction the ILS worker holds (so its error handler can abandon it)."""
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for name, target in (("ils-worker", self._ils_loop), ("tag-worker", self._tag_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._ils_queue.put(None)
        self._tag_queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def _busy(self, delta: int) -> None:
        with self._pending_lock:
            self._pending += delta
            self._pending_lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True when every submitted item has its outcome (for ``done`` and for tests)."""
        with self._pending_lock:
            return self._pending_lock.wait_for(lambda: self._pending == 0, timeout)

    def wait_tags_idle(self, timeout: float) -> bool:
        """True when the tag worker has nothing to do (the pad may take the antenna)."""
        with self._pending_lock:
            return self._pending_lock.wait_for(lambda: self._tag_jobs == 0, timeout)

    def abandoned_now(self) -> set[str]:
        """Transactions workers dropped on an unexpected error, not yet settled."""
        with self._pending_lock:
            return set(self._abandoned)

    def settled(self, txn_ids: set[str]) -> None:
        with self._pending_lock:
            self._abandoned -= txn_ids

    @property
    def pending(self) -> int:
        return self._pending

    def _to_tag_worker(self, txn: Txn, answered: dict[str, Any]) -> None:
        with self._pending_lock:
            self._tag_jobs += 1
        self._tag_queue.put((txn, answered))

    # --- submissions ---------------------------------------------------------------------

    def checkout(self, borrower: Borrower, item: Item) -> None:
        self._busy(+1)
        self._ils_queue.put(("checkout", (borrower, item)))

    def checkin(self, item: Item) -> None:
        self._busy(+1)
        self._ils_queue.put(("checkin", item))

    def finish(self, txn: Txn) -> None:
        """Retry the security step of a flagged transaction (its tag is back on the pad).

        A tag put back, lifted and put back again arrives twice; the second is dropped
        while the first is queued, and the worker checks the journal before it acts.
        """
        with self._pending_lock:
            if txn.id in self._finishing:
                return
            self._finishing.add(txn.id)
        self._busy(+1)
        self._to_tag_worker(txn, {})

    # --- the ILS worker ------------------------------------------------------------------

    def _ils_loop(self) -> None:
        while (job := self._ils_queue.get()) is not None:
            kind, payload = job
            item: Item = payload[1] if kind == "checkout" else payload
            self._ils_txn = None
            try:
                if kind == "checkout":
                    self._ils_checkout(*payload)
                else:
                    self._ils_checkin(payload)
            except Exception:
                log.exception("ILS worker failed on a %s", kind)
                self._abandon(self._ils_txn, kind, item)

    def _result(self, kind: str, item: Item, txn: Txn | None, outcome: str, **extra: Any) -> None:
        """An item's outcome for the screen; ``txn`` is None only when the item failed
        before it was journaled."""
        values = {k: v for k, v in extra.items() if k in ("missing", "parts", "destination")}
        self.on_result(
            {
                "kind": kind,
                "item_id": item.item_id,
                "txn": txn.id if txn else None,
                "state": txn.state if txn else None,
                "outcome": outcome,
                "message": both(outcome, **values),
                "title": txn.title if txn else None,
                "due_date": txn.due_date if txn else None,
                "ils_message": txn.ils_message if txn else None,
                "offline": txn.offline if txn else False,
                "uids": [uid.hex() for uid in item.uids],
                **extra,
            }
        )

    def _ils_checkout(self, borrower: Borrower, item: Item) -> None:
        now = self.clock()
        txn = self.journal.begin(
            "checkout",
            item.item_id,
            item.uids,
            patron_id=borrower.patron_id,
            patron_ref=borrower.patron_ref,
            session_id=borrower.session_id,
            transaction_date=now,
            security_target=False,
        )
        self._ils_txn = txn
        crash_point("checkout:started")
        if borrower.offline:
            self._offline_checkout(txn, borrower, "session is offline")
            return
        try:
            answer = self.ils.checkout(
                borrower.patron_id, item.item_id, borrower.pin, transaction_date=now
            )
        except IlsAnswerLost as error:
            self._unanswered_checkout(txn, borrower, item, now, str(error))
            return
        except IlsConnectionError as error:
            # Never sent: the ILS did not see it, so an offline loan is the patron's choice.
            self.ils_online = False
            self._offline_checkout(txn, borrower, str(error))
            return
        except IlsError as error:
            txn = self.journal.step(txn.id, "refused", outcome="ils_refused", detail=str(error))
            self._done(txn, "ils_refused")
            return
        self._answered_checkout(txn, answer)

    def _answered_checkout(self, txn: Txn, answer: CheckoutResponse) -> None:
        self.ils_online = True
        message = " ".join(answer.screen_messages) or None
        if not answer.ok:
            unknown = _item_unknown(answer)
            self._refused(txn, "ils_refused", message, answer.title, **unknown)
            return
        # The loan exists now. If the power goes before the tag worker journals it, the
        # journal still says "started" and reconcile finds the loan at the ILS.
        crash_point("checkout:ils_ok")
        answered = {
            "due_date": _due(answer.due_date),
            "title": answer.title or None,
            "ils_message": message,
        }
        self._to_tag_worker(txn, answered)

    def _unanswered_checkout(
        self, txn: Txn, borrower: Borrower, item: Item, now: datetime, reason: str
    ) -> None:
        """The checkout went out and its answer was lost: it is unknown, not offline.

        The ILS is asked what it did. Lent to this patron: a loan. Lent to someone
        else: refused. Not lent: it was refused (another patron's hold, a limit) or
        never arrived, so it is asked once more and that answer decides. When the ILS
        cannot be asked, it is not lent offline (that could lend over a refusal): the
        tag stays secured, the patron reads "being checked", and the maintenance loop
        settles it with the ILS once it answers (see reconcile).
        """
        log.info("checkout answer lost (%s); asking the ILS what it did", reason)
        try:
            holder, info = loan_holder(self.ils, item.item_id, borrower.patron_id)
            if holder is Holder.NOBODY:
                answer = self.ils.checkout(
                    borrower.patron_id, item.item_id, borrower.pin, transaction_date=now
                )
                self._answered_checkout(txn, answer)
                return
        except IlsConnectionError as error:
            # Lost again, or the ILS is gone: reconcile asks it later who holds the item.
            log.info("checkout outcome unknown (%s); left to reconcile", error)
            self._abandon(txn, "checkout", item)
            return
        self.ils_online = True
        if holder is Holder.SOMEONE_ELSE:
            message = " ".join(info.screen_messages) or None
            self._refused(txn, "ils_refused", message, info.title)
            return
        crash_point("checkout:ils_ok")
        answered = {"due_date": _due(info.due_date), "title": info.title or None}
        self._to_tag_worker(txn, answered)

    def _offline_checkout(self, txn: Txn, borrower: Borrower, reason: str) -> None:
        allowed = self.offline_enabled and self.offline_limits.allows(
            self.journal, borrower.patron_ref, txn.id
        )
        if not allowed:
            code = "offline_limit" if self.offline_enabled else "ils_unavailable"
            txn = self.journal.step(txn.id, "cancelled", outcome=code, detail=reason)
            self.journal.count("checkout_failed")
            self._done(txn, code)
            return
        txn = self.journal.step(txn.id, "ils_ok", offline=True, detail=f"offline: {reason}")
        crash_point("checkout:ils_ok")
        self._to_tag_worker(txn, {})

    def _ils_checkin(self, item: Item) -> None:
        now = self.clock()
        txn = self.journal.begin(
            "checkin",
            item.item_id,
            item.uids,
            patron_id=None,
            patron_ref=None,
            session_id=None,
            transaction_date=now,
            security_target=True,
        )
        self._ils_txn = txn
        crash_point("checkin:started")
        try:
            answer = self.ils.checkin(item.item_id, return_date=now)
        except IlsConnectionError as error:
            self.ils_online = False
            if not self.offline_enabled:
                txn = self.journal.step(txn.id, "cancelled", outcome="ils_unavailable")
                self._done(txn, "ils_unavailable")
                return
            txn = self.journal.step(txn.id, "ils_ok", offline=True, detail=f"offline: {error}")
            self._to_tag_worker(txn, {})
            return
        self.ils_online = True
        message = " ".join(answer.screen_messages) or None
        kept: dict[str, Any] = {"answer": answer} if self.keep_answers else {}
        if not answer.ok:
            kept |= _item_unknown(answer)
            self._refused(txn, "checkin_refused", message, answer.title, **kept)
            return
        alert = _alert(answer.alert_type, answer.destination_location)
        # The sort bin (CL) is where the return machine sends the item: kept in the step's
        # note and given with the outcome.
        sort_bin = (answer.sort_bin or "").strip() or None
        txn = self.journal.step(
            txn.id,
            "ils_ok",
            {"sort_bin": sort_bin} if sort_bin else None,
            title=answer.title or None,
            ils_message=message,
            detail=alert,
        )
        crash_point("checkin:ils_ok")
        shown = ({"sort_bin": sort_bin} if sort_bin else {}) | kept
        self._to_tag_worker(txn, {SHOWN: shown} if shown else {})

    def _refused(
        self, txn: Txn, outcome: str, message: str | None, title: str | None, **extra: Any
    ) -> None:
        """The ILS said no: journaled with its own words, counted, shown; the tag is untouched."""
        txn = self.journal.step(
            txn.id,
            "refused",
            count=f"{txn.kind}_failed",
            outcome=outcome,
            ils_message=message,
            title=title or None,
        )
        self._done(txn, outcome, **extra)

    # --- the tag worker ------------------------------------------------------------------

    def _tag_loop(self) -> None:
        while (job := self._tag_queue.get()) is not None:
            txn, answered = job
            try:
                self._secure(txn, answered)
            except Exception:
                log.exception("tag worker failed on %s", txn.id)
                self._abandon(txn, txn.kind, Item(txn.item_id, txn.tag_uids))
            finally:
                with self._pending_lock:
                    self._tag_jobs -= 1
                    self._finishing.discard(txn.id)
                    self._pending_lock.notify_all()

    def _secure(self, txn: Txn, answered: dict[str, Any]) -> None:
        if txn.state == "flagged" and self.journal.get(txn.id).state != "flagged":
            self._busy(-1)  # finished meanwhile (reconciled, or an earlier finish)
            return
        retry = txn.state == "flagged"
        secured = bool(txn.security_target)
        answered = dict(answered)
        shown: dict[str, Any] = answered.pop(SHOWN, {})
        txn = self.journal.step(txn.id, "securing", **answered)
        crash_point(f"{txn.kind}:securing")
        results = self.secure_tags(txn.tag_uids, secured)
        crash_point(f"{txn.kind}:written")  # the tag changed, the journal does not know yet
        failed = [r for r in results if not r.verified]
        if not failed:
            final = "offline_done" if txn.offline else "done"
            txn = self.journal.step(
                txn.id, final, count=txn.kind, security_verified=True, outcome=_success(txn)
            )
            crash_point(f"{txn.kind}:done")
            extra: dict[str, Any] = {}
            if txn.kind == "checkin" and txn.detail and "|" in txn.detail:
                code, _, destination = txn.detail.partition("|")
                extra = {"alert": both(code, destination=destination), "destination": destination}
            self._done(txn, _success(txn), **extra, **shown)
            return
        if any(r.reason == "AFI is locked" or r.reason.startswith("tag refused") for r in failed):
            self._reverse(txn, failed[0])
            return
        tries = self.journal.steps(txn.id).count("flagged")
        if tries > self.security_retries:
            # A tag that takes the write and never keeps it: undo the loan (or leave it to
            # staff) so the ILS and the tag agree, and stop trying.
            self._reverse(txn, failed[0], outcome="security_undone", gave_up=True)
            return
        txn = self.journal.step(
            txn.id, "flagged", outcome="security_failed", detail=failed[0].reason
        )
        # The patron is told once; the retries that follow are silent.
        self._done(txn, "security_failed", flagged=True, quiet=retry, **shown)

    def secure_tags(self, uids: tuple[bytes, ...], secured: bool) -> list[SecurityResult]:
        results = []
        for uid in uids:
            with self.reader_lock:
                try:
                    results.append(
                        set_security(self.reader, uid, self.policy, secured, self.attempts)
                    )
                except DeviceError as error:  # the reader itself is gone
                    results.append(SecurityResult(False, secured, 0, reason=f"reader: {error}"))
        return results

    def _reverse(
        self,
        txn: Txn,
        failure: SecurityResult,
        *,
        outcome: str = "security_locked",
        gave_up: bool = False,
    ) -> None:
        """The tag cannot be changed: undo the loan so the ILS and the tag agree again.

        What cannot be undone (a return, or an ILS that will not take the item back) is
        flagged for staff; ``gave_up`` says no more retries are to come."""
        if txn.kind == "checkout" and not txn.offline:
            try:
                # A plain checkin, not no-block: an ILS may accept a no-block return dated
                # before its loan and change nothing. The item's status proves it is undone.
                self.ils.checkin(txn.item_id)
                status = str(self.ils.item_information(txn.item_id).circulation_status)
                if status not in (
                    CirculationStatus.CHARGED,
                    CirculationStatus.CHARGED_NOT_TO_BE_RECALLED,
                ):
                    txn = self.journal.step(
                        txn.id, "reversed", outcome=outcome, detail=failure.reason
                    )
                    self.journal.count("checkout_failed")
                    self._done(txn, outcome)
                    return
            except IlsError as error:
                log.warning("could not undo loan %s: %s", txn.id, error)
        if txn.kind == "checkout" and txn.offline:
            txn = self.journal.step(txn.id, "cancelled", outcome=outcome, detail=failure.reason)
            self._done(txn, outcome)
            return
        if gave_up:
            txn = self.journal.step(
                txn.id, "flagged", outcome="security_staff", detail=failure.reason
            )
            self._done(txn, "security_staff", flagged=True, gave_up=True)
            return
        txn = self.journal.step(txn.id, "flagged", outcome="security_failed", detail=failure.reason)
        self._done(txn, "security_failed", flagged=True)

    def _abandon(self, txn: Txn | None, kind: str, item: Item) -> None:
        """A worker failed where it should not (a bug, a full disk): the patron still gets an
        outcome, and the transaction goes to the maintenance loop, which asks the ILS and
        the tag what really happened and finishes or undoes it (see reconcile)."""
        if txn is not None:
            with self._pending_lock:
                self._abandoned.add(txn.id)
        try:
            # Journaled: the ILS may have acted, so neither "lent" nor "not lent" is known
            # until the maintenance loop has asked it (see Engine._settle_abandoned).
            self._result(kind, item, txn, "being_checked" if txn else "internal_error")
        finally:
            self._busy(-1)

    def _done(self, txn: Txn, outcome: str, **extra: Any) -> None:
        self._result(txn.kind, Item(txn.item_id, txn.tag_uids), txn, outcome, **extra)
        self._busy(-1)


def _success(txn: Txn) -> str:
    if txn.kind == "checkout":
        return "offline_checked_out" if txn.offline else "checked_out"
    return "offline_returned" if txn.offline else "returned"


def _due(value: str | None) -> str | None:
    """The ILS's due date (SIP2 date, or free text from some ILSs), kept as it came."""
    return value.strip() or None if value else None


def _alert(alert_type: object, destination: str | None) -> str | None:
    """A checkin alert as the journal keeps it: "code|destination"."""
    if str(alert_type) in (AlertType.HOLD_LOCAL, AlertType.HOLD_REMOTE):
        return f"hold_for_other|{destination or ''}"
    if str(alert_type) == AlertType.TRANSIT:
        return f"transit|{destination or ''}"
    return None


def _item_unknown(answer: CheckoutResponse | CheckinResponse) -> dict[str, Any]:
    """``{"item_unknown": True}`` when a refusal says the ILS does not know the item.

    SIP2 has no flag for it; what every ILS does (Koha, Evergreen, the simulator)
    is to refuse without a title (AJ), since there is no record to take one from.
    A refused known item comes with its title. The engine counts these
    (unknown_item_repeated, docs/security.md).
    """
    return {} if (answer.title or "").strip() else {"item_unknown": True}
