"""Tag security at the gate, off the alarm path: foreign AFIs, unsecured items not on loan,
items on loan secured again (issue 15, "security-bit tampering").

The alarm path hands each tag it decided on (its UID, the AFI it learnt, the item
id if it read one) to :meth:`TagSecurityWatch.offer`, which only puts it in a
bounded queue: this module's own thread does the rest, so a gate under a flood of
hostile tags alarms exactly as fast as before (bench/gate_alarm.py). Nothing here
asks a tag anything: the checks use what the alarm rounds and surveys already
learnt. So on a gate whose alarm rounds are filtered on the secured AFI the
foreign and unsecured tags are seen only in the periodic full survey, and only
where the reader says each tag's AFI in its inventory answer.

How does a gate know whether an item is on loan? It is told, not asked:

- **Checkouts heard.** The site's trusted kiosks publish each checkout (with the
  item's tag UIDs) and return over MQTT; the gate already hears them for its grace
  window, and remembers them here for ``loan_memory`` (hours, bounded).
- **The ILS, sparingly.** An unsecured item that no checkout explains, seen in a
  second pass, is asked about with SIP2 item information (17/18) when its item id
  is known: at most ``ils_per_minute``, on this thread, never the alarm's. Its
  answer (charged, recalled, a due date: on loan) is remembered like a checkout.
  The title lookup that follows every alarm already asks the ILS about a secured
  item; its answer says "on loan" for an item whose tag is secured
  (:meth:`TagSecurityWatch.ils_answer`), at no extra cost.

So ``unsecured_not_on_loan`` is ``warning`` when the ILS confirmed it and ``info``
when the gate only heard no checkout (a patron walking in with a book borrowed
last month looks the same to it); ``on_loan_secured`` is reported when a checkout
was heard (and its grace is over) or the ILS says so, never for an item whose
kiosk reported a failed security write (the gate's own alarm says that already).

Evidence holds an item id and a tag UID only, never a patron; every structure is
bounded, and the reporter keeps one event per UID per window in a flood.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.security.reporter import SecurityReporter
from engine.tamper.afi import AfiWatch
from protocols.mqtt.security_schema import Severity, Threat
from protocols.tags import SecurityPolicy

__all__ = ["ON_LOAN_STATUSES", "Sighting", "TagSecurityWatch"]

log = logging.getLogger(__name__)

ON_LOAN_STATUSES = frozenset({"04", "05", "07"})
"""SIP2 circulation statuses of an item on loan: charged, charged not to be recalled, recalled."""

MAX_REMEMBERED = 50_000
"""Loans, UIDs and ILS answers remembered at once (a busy site lends a few thousand a day)."""
MAX_SUSPECTS = 4096
"""Unsecured UIDs followed at once; the oldest is forgotten first."""
QUEUE_SIZE = 10_000
"""Batches (one per inventory round) waiting for this thread; more are dropped (and
counted), never waited for."""
COALESCE = 0.05
"""Seconds the thread rests after handling what was queued: it wakes at most 20 times a
second, so the reader loops do not hand it the GIL after every round."""

Sighting = tuple[bytes, int, str | None, float]
"""One tag decided on: UID, AFI, item id (None: not read), when (the gate's clock)."""
SETTLE = 60.0
"""Seconds after a checkout before a secured tag of it is suspect (the kiosk writes its AFI)."""


class ItemInfo(Protocol):
    """What the ILS says of an item (IlsClient's ItemInformationResponse fits)."""

    circulation_status: Any
    due_date: Any


class ItemLookup(Protocol):
    def item_information(self, item_id: str) -> Any: ...


@dataclass(slots=True)
class _Suspect:
    last_seen: float
    passes: int
    item_id: str | None
    read_asked: bool = False


def _item_evidence(item_id: str | None) -> dict[str, str]:
    """The item id as evidence when it can travel (a tag may hold anything)."""
    if item_id and len(item_id) <= 64 and item_id.isprintable():
        return {"item_id": item_id}
    return {}


def on_loan(info: Any) -> bool:
    """Whether an item information answer says the item is on loan."""
    status = getattr(info, "circulation_status", None)
    return str(status) in ON_LOAN_STATUSES or bool(getattr(info, "due_date", None))


class _Bucket:
    """At most ``per_minute`` takes a minute, ``max(1, per_minute)`` at once."""

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute) if per_minute > 0 else 0.0
        self.tokens = self.capacity
        self.clock = clock
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def _put(table: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)


class TagSecurityWatch:
    """The gate's tag checks; ``start`` its thread, feed it with ``offer`` and the kiosk reports."""

    def __init__(
        self,
        policy: SecurityPolicy,
        reporter: SecurityReporter,
        *,
        ils: ItemLookup | None = None,
        loan_memory: float = 12 * 3600.0,
        ils_per_minute: float = 6.0,
        pass_window: float = 3.0,
        settle: float = SETTLE,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.reporter = reporter
        self.afi = AfiWatch(policy, reporter)
        self.ils = ils
        self.loan_memory = loan_memory
        self.pass_window = pass_window
        self.settle = settle
        self.clock = clock
        """The same clock as the sightings' ``now`` and the kiosks' event times."""
        self._bucket = _Bucket(ils_per_minute, monotonic)
        self._lock = threading.Lock()
        self._loans: OrderedDict[str, float] = OrderedDict()
        """Items lent (checkout heard, or the ILS said so) and when."""
        self._loan_uids: OrderedDict[bytes, str] = OrderedDict()
        self._write_failed: OrderedDict[str, None] = OrderedDict()
        self._not_on_loan: OrderedDict[str, float] = OrderedDict()
        """Items the ILS said are not on loan, and when (asked again after loan_memory)."""
        self._suspects: OrderedDict[bytes, _Suspect] = OrderedDict()
        self._queue: queue.Queue[list[Sighting] | None] = queue.Queue(QUEUE_SIZE)
        self.dropped = 0
        """Sightings dropped because the queue was full."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the alarm path's side: one put, nothing else ------------------------------------------

    def offer(self, uid: bytes, afi: int | None, item_id: str | None, now: float) -> None:
        """A tag the gate decided on; never blocks (a full queue drops the sighting)."""
        if afi is not None:
            self.offer_many([(uid, afi, item_id, now)])

    def offer_many(self, sightings: list[Sighting]) -> None:
        """A round's tags at once (one put); never blocks (a full queue drops them)."""
        if not sightings:
            return
        try:
            self._queue.put_nowait(sightings)
        except queue.Full:
            self.dropped += len(sightings)

    def item_wanted(self, uid: bytes) -> bool:
        """Whether the gate should read this tag's item id when it has the antenna to spare
        (a survey): a suspect whose item the ILS could be asked about. True once per suspect."""
        if self.ils is None:
            return False
        with self._lock:
            suspect = self._suspects.get(uid)
            if suspect is None or suspect.item_id is not None or suspect.read_asked:
                return False
            suspect.read_asked = True
            return True

    # --- what kiosks and the ILS tell the gate ---------------------------------------------------

    def checked_out(self, item_id: str, uids: Iterable[bytes], when: float) -> None:
        with self._lock:
            _put(self._loans, item_id, when, MAX_REMEMBERED)
            self._write_failed.pop(item_id, None)
            self._not_on_loan.pop(item_id, None)
            for uid in uids:
                _put(self._loan_uids, uid, item_id, MAX_REMEMBERED)
                self._suspects.pop(uid, None)

    def returned(self, item_id: str, uids: Iterable[bytes] = ()) -> None:
        with self._lock:
            self._loans.pop(item_id, None)
            self._write_failed.pop(item_id, None)
            for uid in uids:
                self._loan_uids.pop(uid, None)
            for uid in [u for u, i in self._loan_uids.items() if i == item_id][:8]:
                del self._loan_uids[uid]

    def write_failed(self, item_id: str) -> None:
        """A kiosk lent the item but could not release its tag: secured is no tampering."""
        with self._lock:
            _put(self._write_failed, item_id, None, MAX_REMEMBERED)

    def ils_answer(self, item_id: str, uid: bytes, info: Any) -> None:
        """The ILS's item information for an alarming (secured) tag: on loan is suspect."""
        if not on_loan(info):
            return
        with self._lock:
            if item_id in self._write_failed:
                return
            _put(self._loans, item_id, self.clock(), MAX_REMEMBERED)
        self._on_loan_secured(uid, item_id)

    # --- the thread ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="gate-tag-security", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            # A thread waiting on an empty queue needs the None; one that is busy sees
            # the event after its batch (a full queue is not waited for).
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._thread.join(timeout=5)
            self._thread = None

    def drain(self) -> bool:
        """Handle every sighting waiting now, on the calling thread; False once told to stop."""
        while True:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                return True
            if batch is None:
                return False
            self._handle(batch)

    def _handle(self, batch: list[Sighting]) -> None:
        for sighting in batch:
            try:
                self.sighting(*sighting)
            except Exception:
                log.exception("a tag security check failed")

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            self._handle(batch)
            if not self.drain() or self._stop.wait(COALESCE):
                return

    # --- the checks ------------------------------------------------------------------------------

    def sighting(self, uid: bytes, afi: int, item_id: str | None, now: float) -> None:
        """One tag with its AFI (and item id when read): the three checks."""
        if self.afi.seen(uid, afi):
            return
        if not self.policy.use_afi:
            return
        if afi == self.policy.afi_unsecured:
            self._unsecured(uid, item_id, now)
        elif afi == self.policy.afi_secured:
            self._secured(uid, item_id, now)

    def _lent(self, uid: bytes, item_id: str | None, now: float) -> tuple[str | None, float | None]:
        """(item id, when lent) if the gate knows the item is on loan; forgets old loans."""
        with self._lock:
            known = item_id or self._loan_uids.get(uid)
            if known is None:
                return None, None
            when = self._loans.get(known)
            if when is not None and now - when > self.loan_memory:
                self._loans.pop(known, None)
                when = None
            return known, when

    def _unsecured(self, uid: bytes, item_id: str | None, now: float) -> None:
        known, lent = self._lent(uid, item_id, now)
        if lent is not None:
            return
        with self._lock:
            suspect = self._suspects.get(uid)
            if suspect is None or now - suspect.last_seen > self.pass_window:
                passes = 1 if suspect is None else suspect.passes + 1
                earlier = suspect
                suspect = _Suspect(now, passes, known or (earlier.item_id if earlier else None))
                suspect.read_asked = earlier.read_asked if earlier else False
                new_pass = True
            else:
                suspect.last_seen = now
                suspect.item_id = suspect.item_id or known
                new_pass = False
            _put(self._suspects, uid, suspect, MAX_SUSPECTS)
            item = suspect.item_id
            if not new_pass or suspect.passes < 2:
                return
            asked_no = item is not None and item in self._not_on_loan
        if item is not None and not asked_no and self.ils is not None and self._bucket.take():
            answer = self._ask(item)
            if answer is True:
                self.checked_out(item, (uid,), now)
                return
            if answer is False:
                with self._lock:
                    _put(self._not_on_loan, item, now, MAX_REMEMBERED)
                asked_no = True
        severity = Severity.WARNING if asked_no else Severity.INFO
        self.reporter.report(
            Threat.UNSECURED_NOT_ON_LOAN,
            severity,
            uid,
            uid=uid.hex().upper(),
            **_item_evidence(item),
        )

    def _ask(self, item_id: str) -> bool | None:
        """On loan per the ILS, or None when it could not say."""
        assert self.ils is not None
        try:
            return on_loan(self.ils.item_information(item_id))
        except Exception as error:
            log.info("the ILS could not say whether an item is on loan: %s", error)
            return None

    def _secured(self, uid: bytes, item_id: str | None, now: float) -> None:
        known, lent = self._lent(uid, item_id, now)
        if known is None or lent is None or now - lent < self.settle:
            return
        with self._lock:
            if known in self._write_failed:
                return
        self._on_loan_secured(uid, known)

    def _on_loan_secured(self, uid: bytes, item_id: str) -> None:
        self.reporter.report(
            Threat.ON_LOAN_SECURED,
            Severity.WARNING,
            uid,
            uid=uid.hex().upper(),
            afi=self.policy.afi_secured,
            **_item_evidence(item_id),
        )
