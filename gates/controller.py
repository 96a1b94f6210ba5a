"""The gate at work: one inventory loop per reader, alarms, outputs, the people counter.

Why it is built this way:

- **One thread per reader**, each running inventory rounds back to back: a
  round already takes air time on real hardware, so the loop never spins; an
  instant reader (``sim://…?timing=0``) gets a short wait instead. A reader
  that is unplugged makes its own loop retry while the others keep alarming.
- **Lights and buzzer first.** The alarm is decided from the inventory answer
  alone (AFI / EAS) whenever no kiosk report needs the item id, the outputs
  are switched at once, and only then is the tag's memory read for the item
  id, the event published, the title asked of the ILS and the count written —
  the slow parts in a background worker, so the next round is not delayed.
- **Each UID is read once**: the item id is cached, so a tag that stays in the
  field costs one inventory slot per round and nothing more.
- Kiosk reports (checkouts, failed security writes) reach the decision through
  :meth:`GateController.kiosk_event`, whatever carries them (MQTT, the API).
- **One bad tag never hides the others.** Each tag of a round is decided on
  its own: a tag whose memory does not decode (or whose reading fails in a way
  no driver should) is reported unreadable once and decided on its AFI / EAS
  alone, while the secured book beside it still alarms. A reader whose rounds
  fail ``FAILED_ROUNDS`` times in a row is reported ("device" event) and makes
  :meth:`GateController.healthy` false, so the watchdog stops being fed.
- **Only secured tags on the air in the alarm path.** Where the policy uses the
  AFI and the reader can filter (``filters_afi``), each alarm round is an
  inventory with the AFI flag set to the secured value: lent books keep silent,
  so the round lasts as long as the secured tags' answers however many
  borrowed books people carry, and every tag that answers is secured without
  asking it (no system information per tag). Where the policy uses EAS, the
  unaddressed NXP EAS alarm command comes first and the field is inventoried
  only when some tag answers it. A full unfiltered inventory runs every
  ``survey_every`` seconds for statistics (how many tags are in the field),
  never in the alarm rounds. While an item is reported missing (it alarms even
  on loan) and where the site alarms on foreign AFIs, every round is unfiltered:
  only that sees those tags.
- **Notification mode where the reader has it** (FEIG ``mode=notify``): the
  reader runs its own AFI-filtered rounds at air speed and pushes the secured
  tags it finds, so no round waits for the host's request and its line time, and
  the gate just waits for news. Only on AFI sites: an EAS bit is asked, never
  pushed. Surveys and memory reads stay host commands between its rounds.
- **The UID → item cache forgets** after ``ITEM_TTL``: a tag re-encoded at the
  desk (a label re-used for another copy) is read afresh within the hour.
- Owner libraries are compared as ISILs (``protocols.tags.isil_key``): the
  hyphen-less ``VNHN0001`` of an ISO 28560-3 tag is the configured
  ``VN-HN0001``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from drivers.interfaces import (
    DeviceError,
    DeviceState,
    DeviceUnavailable,
    Inputs,
    Outputs,
    TagReader,
    TagSeen,
)
from drivers.registry import open_device
from drivers.tag_memory import read_tag
from engine.config.model import DeviceConfig
from engine.events import EventBus
from gates.decision import Alarm, AlarmReason, GateDecider
from gates.people import Direction, PeopleCounter, PeoplePass
from gates.store import GateStore, today
from gates.tag_security import Sighting, TagSecurityWatch
from protocols.tags import isil_key, isil_keys

log = logging.getLogger(__name__)

INSTANT_ROUND = 0.002
"""A round shorter than this took no air time (a simulator): wait IDLE_WAIT after it."""
IDLE_WAIT = 0.02
RETRY_WAIT = 0.5
"""Between attempts to reach an unavailable reader or beam sensor."""
BEAM_POLL = 0.05
HEALTHY_AGE = 10.0
"""A loop that has not gone round for this long is hung: the watchdog stops being fed."""
ITEM_CACHE = 10_000
"""Tags whose item id the gate keeps (about 200 bytes each). Entries past ITEM_TTL go as
new ones come (they would be read again anyway), so a gate holds an hour's tags; only
more distinct tags than this in an hour (a flood of foreign or forged UIDs) drops the
older half early. At 50,000 and without the expiry, a gate grew by 0.2 MB per 1,000
tags until it held 10 MB (issue 15)."""
ITEM_TTL = 3600.0
"""Seconds a tag's item id is trusted without reading it again."""
NOTIFY_WAIT = 0.2
"""How long a notifying reader's loop waits for news before it goes round (heartbeat)."""
READ_ATTEMPTS = 3
"""Tries to read a tag's memory in one pass before it is left unknown."""
FAILED_ROUNDS = 5
SURVEY_SECONDS = 30.0
"""Between full unfiltered inventories when the alarm rounds are filtered by AFI. A
survey of a crowded field holds the antenna for several rounds (20 lent books on a
FEIG at 38400 baud: ~130 ms), so a secured tag arriving meanwhile waits: rare is good."""
"""Inventory rounds in a row that fail (not an unplugged reader) before the gate is unhealthy."""
SURVEY_READS = 1
"""Tag memories a survey reads for the tag security checks (each ~20 ms of antenna time)."""


class ItemLookup(Protocol):
    """What the gate asks the ILS: the title of an alarming item (IlsClient fits)."""

    def item_information(self, item_id: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Item:
    item_id: str | None
    """None: the memory did not decode (blank tag, unknown model)."""
    owner: str | None = None
    at: float = 0.0
    """When it was learnt (monotonic)."""


CANNOT_READ_SECURITY = (
    "this reader cannot read the tags' security (AFI, EAS): it has no transparent "
    "exchange, so the gate cannot tell a lent item from one that is not; use a reader "
    "that offers it"
)


def _unaddressed_eas(reader: TagReader) -> bool:
    """Whether one EAS alarm command answers for the whole field (FEIG's 0xB1 0xA5 without
    a UID); the 3M protocol has only the addressed check, asked of every tag."""
    return getattr(reader, "unaddressed_eas", False) is True


def _notifies(reader: TagReader) -> bool:
    """Whether the reader is configured to push tags from its own rounds (FEIG mode=notify)."""
    return getattr(reader, "notifies", False) is True


def _cannot_read_security(reader: TagReader) -> bool:
    """A PC/SC reader with the storage-card commands only (drivers/pcsc_reader.py) says so
    once it has met a tag: it can guard nothing, and must not look healthy."""
    return getattr(reader, "security_writable", None) is False


class GateController:
    def __init__(
        self,
        config: DeviceConfig,
        bus: EventBus,
        *,
        ils: ItemLookup | None = None,
        store: GateStore | None = None,
        readers: Sequence[TagReader] | None = None,
        outputs: Outputs | None = None,
        beams: Inputs | None = None,
        clock: Callable[[], float] = time.time,
        pass_window: float = 3.0,
        survey_every: float = SURVEY_SECONDS,
        tag_security: TagSecurityWatch | None = None,
    ) -> None:
        if config.gate is None:
            raise ValueError("the gate controller needs a [gate] section")
        self.config = config
        self.gate = config.gate
        self.gate_id = config.device.id
        self.bus = bus
        self.ils = ils
        self.store = store
        self.clock = clock
        self.pass_window = pass_window
        self.survey_every = survey_every
        self.tag_security = tag_security
        """Foreign AFIs, unsecured items not on loan, lent items secured: fed after each
        decision (one queue put), checked on its own thread (gates/tag_security.py)."""
        self.policy = config.security.to_policy()
        self.decider = GateDecider(self.policy, pass_window, self.gate.grace_minutes)
        self.owners = isil_keys(config.tags.owner_libraries)
        self.readers: list[TagReader] = (
            list(readers) if readers is not None else [open_device(u) for u in self.gate.readers]
        )
        if outputs is None and config.devices.outputs and self.gate.alarm_outputs:
            outputs = open_device(config.devices.outputs)
        self.outputs = outputs
        if beams is None and self.gate.beams:
            beams = open_device(self.gate.beams)
        self.beams = beams
        self.counter = PeopleCounter()
        self.alarms = 0
        self._decide = threading.Lock()
        self._people = threading.Lock()
        self._items: dict[bytes, _Item] = {}
        self._read_failures: dict[bytes, tuple[int, float]] = {}
        """Failed memory reads per UID and when the last one was: READ_ATTEMPTS per pass
        window, or a tag that once slipped through unread would never be read again."""
        self.survey_counts: dict[str, int] = {}
        """Per reader, how many tags its last full inventory found (statistics)."""
        self._states: dict[str, DeviceState] = {}
        self._heartbeats: dict[str, float] = {}
        self._failed_rounds: dict[str, int] = {}
        self._tag_faults: set[bytes] = set()
        """UIDs whose handling failed unexpectedly (logged once each, bounded)."""
        self._later: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._claim_outputs()
        now = time.monotonic()
        for index, reader in enumerate(self.readers):
            self._heartbeats[reader.url] = now
            self._spawn(f"gate-reader-{index}", self._reader_loop, reader)
        if self.beams is not None:
            self._heartbeats["beams"] = now
            self._spawn("gate-beams", self._beam_loop, self.beams)
        self._spawn("gate-after", self._after_loop)
        if self.tag_security is not None:
            self.tag_security.start()
        log.info("gate %s running with %d reader(s)", self.gate_id, len(self.readers))

    def _claim_outputs(self) -> None:
        """Take the output pins now, so the first alarm does not wait for them."""
        opener = getattr(self.outputs, "open", None)
        if opener is None:
            return
        try:
            opener()
            self._set_state("outputs", DeviceState.READY)
        except DeviceError as error:
            self._set_state("outputs", DeviceState.UNAVAILABLE, str(error))

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._later.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self.tag_security is not None:
            self.tag_security.stop()
        for reader in self.readers:
            _quietly(reader.close)
        if self.outputs is not None:
            _quietly(self.outputs.close)
        if self.beams is not None:
            _quietly(self.beams.close)

    def healthy(self, max_age: float = HEALTHY_AGE) -> bool:
        """Every loop went round recently (an unplugged reader's retry loop counts) and no
        reader's rounds keep failing."""
        if not self._threads:
            return False
        now = time.monotonic()
        if any(failed >= FAILED_ROUNDS for failed in list(self._failed_rounds.values())):
            return False
        if any(_cannot_read_security(reader) for reader in self.readers):
            return False
        return all(now - beat < max_age for beat in self._heartbeats.values())

    # --- what others tell the gate -------------------------------------------------------

    def kiosk_event(self, event: dict[str, Any]) -> None:
        """A kiosk's item event (its local API or MQTT): checkouts, failed security writes."""
        item_id = event.get("item_id")
        if not isinstance(item_id, str) or not item_id:
            return
        outcome = event.get("outcome")
        when = float(event.get("time") or self.clock())
        uids = event.get("uids")  # another device's data: a list of hex, or else ignored
        tag_uids = _uids(uids)
        watch = self.tag_security
        with self._decide:
            if outcome in ("checked_out", "offline_checked_out"):
                self.decider.checked_out(item_id, when)
                if watch is not None:
                    watch.checked_out(item_id, tag_uids, when)
            elif outcome == "security_failed" and event.get("kind") == "checkout":
                self.decider.kiosk_write_failed(item_id)
                if watch is not None:
                    watch.write_failed(item_id)
            elif outcome in ("returned", "offline_returned"):
                self.decider.returned(item_id)
                if watch is not None:
                    watch.returned(item_id, tag_uids)
            else:
                return
        # The kiosk knows which tags carry the item: no need to read them here.
        for uid in tag_uids:
            self._remember(uid, _Item(item_id))
        log.info("kiosk reported %s for item %r", outcome, item_id)

    def report_missing(self, item_id: str, missing: bool = True) -> None:
        with self._decide:
            if missing:
                self.decider.missing(item_id)
            else:
                self.decider.found(item_id)

    # --- the inventory loop --------------------------------------------------------------

    def alarm_afi(self, reader: TagReader) -> int | None:
        """The AFI this reader's alarm rounds ask for, or None for unfiltered rounds.

        Only an exact value (low nibble not 0) is asked: ``X0`` would select a whole
        family, and an answering tag would not say which AFI it holds."""
        secured = self.policy.afi_secured
        if not self.policy.use_afi or secured & 0x0F == 0 or self.policy.alarm_on_foreign_afi:
            return None  # (a foreign AFI is only seen by asking every tag its AFI)
        if self.policy.use_eas and not _unaddressed_eas(reader):
            return None  # EAS asked tag by tag anyway (3M): the full round as before
        return secured if getattr(reader, "filters_afi", False) is True else None

    def _reader_loop(self, reader: TagReader) -> None:
        url = reader.url
        afi = self.alarm_afi(reader)
        # The reader's own rounds carry the AFI filter; EAS would still need asking.
        notify = afi is not None and _notifies(reader) and not self.policy.use_eas
        if _notifies(reader) and not notify:
            log.info(
                "%s: notification mode unused: it needs AFI-filtered alarm rounds "
                "(an exact secured AFI, no EAS, no alarm on foreign AFIs)",
                reader.url,
            )
        surveyed = float("-inf")
        while not self._stop.is_set():
            self._heartbeats[url] = time.monotonic()
            started = time.monotonic()
            try:
                with self._decide:
                    everyone = self.decider.watches_every_tag()
                if everyone or (afi is None and not self._eas_first(reader)):
                    self.round(reader, reader.inventory())
                elif started - surveyed >= self.survey_every:
                    surveyed = started
                    self.survey(reader, reader.inventory())
                elif notify:
                    assert afi is not None
                    self.notified_round(reader, afi)
                else:
                    self.alarm_round(reader, afi)
            except DeviceUnavailable as error:
                self._failed_rounds.pop(url, None)  # reported as such; its retries are alive
                self._set_state(url, DeviceState.UNAVAILABLE, str(error))
                self._stop.wait(RETRY_WAIT)
                continue
            except DeviceError as error:
                if _cannot_read_security(reader):
                    self._set_state(url, DeviceState.UNAVAILABLE, CANNOT_READ_SECURITY)
                    self._stop.wait(RETRY_WAIT)
                    continue
                log.warning("%s: inventory failed: %s", url, error)
                self._round_failed(url, error)
                self._stop.wait(RETRY_WAIT)
                continue
            except Exception as error:
                log.exception("%s: inventory round failed", url)
                self._round_failed(url, error)
                self._stop.wait(RETRY_WAIT)
                continue
            if _cannot_read_security(reader):
                self._set_state(url, DeviceState.UNAVAILABLE, CANNOT_READ_SECURITY)
                self._stop.wait(RETRY_WAIT)
                continue
            if self._failed_rounds.pop(url, 0) >= FAILED_ROUNDS:
                log.info("%s: inventory rounds succeed again", url)
            self._set_state(url, DeviceState.READY)
            if not notify and time.monotonic() - started < INSTANT_ROUND:
                self._stop.wait(IDLE_WAIT)

    def _round_failed(self, url: str, error: Exception) -> None:
        failed = self._failed_rounds[url] = self._failed_rounds.get(url, 0) + 1
        if failed == FAILED_ROUNDS:
            detail = f"{failed} inventory rounds in a row failed: {type(error).__name__}: {error}"
            log.error("%s: %s", url, detail)
            self._set_state(url, DeviceState.UNAVAILABLE, detail)

    def _eas_first(self, reader: TagReader) -> bool:
        """Whether an EAS-only site's alarm rounds start with the unaddressed EAS alarm."""
        return self.policy.use_eas and not self.policy.use_afi and _unaddressed_eas(reader)

    def alarm_round(self, reader: TagReader, afi: int | None) -> list[Alarm]:
        """One alarm round: the secured tags only (AFI filter, EAS alarm command)."""
        alarms: list[Alarm] = []
        if afi is not None:
            tags = reader.inventory(afi=afi)  # type: ignore[call-arg]
            alarms += self.round(reader, tags, secured_afi=afi, eas_answered=False)
        if self.policy.use_eas and reader.eas_alarm(None):
            # Some tag has its EAS bit set: which one, only the field can say.
            alarms += self.round(reader, reader.inventory(), eas_answered=True)
        return alarms

    def notified_round(self, reader: TagReader, afi: int) -> list[Alarm]:
        """What a notifying reader pushed (its own rounds, filtered on ``afi``), if anything
        within NOTIFY_WAIT: every tag in it is secured."""
        tags: list[TagSeen] = reader.notifications(afi, NOTIFY_WAIT)  # type: ignore[attr-defined]
        if not tags:
            return []
        return self.round(reader, tags, secured_afi=afi, eas_answered=False)

    def survey(self, reader: TagReader, tags: Sequence[TagSeen]) -> None:
        """A full unfiltered inventory (a filtering reader's slow round), for statistics and
        the tag security checks.

        Nothing is asked of the tags for the alarm: a secured one answers the alarm
        rounds, a missing one makes every round full, and each addressed command here
        would hold the antenna while a secured tag may be arriving (20 lent books asked
        their AFI on a 3M line: ~0.4 s). So the tag security checks take what costs
        little: two filtered rounds, and at most SURVEY_READS addressed commands."""
        self.survey_counts[reader.url] = len(tags)
        watch = self.tag_security
        if watch is None:
            return
        # The tag security checks (never in an alarm round): each tag's AFI, and a
        # suspect unsecured tag's memory (seen in an earlier pass, no checkout heard),
        # read one per survey so the ILS can be asked about its item.
        tags = self._survey_afis(reader, tags)
        now, reads = self.clock(), 0
        sightings: list[Sighting] = []
        for tag in tags:
            item = self._cached(tag.uid)
            if item is None and reads < SURVEY_READS and watch.item_wanted(tag.uid):
                reads += 1
                try:
                    item = self._read(reader, tag.uid)
                except DeviceUnavailable:
                    raise
                except DeviceError:
                    item = None
            if tag.afi is not None:
                sightings.append((tag.uid, tag.afi, item.item_id if item else None, now))
        watch.offer_many(sightings)

    def _survey_afis(self, reader: TagReader, tags: Sequence[TagSeen]) -> Sequence[TagSeen]:
        """The surveyed tags with their AFIs where the inventory did not say them (FEIG, 3M).

        Two inventories filtered on the site's two values sort most tags without an
        addressed command (an idle filtered round is short); a tag answering neither
        holds another AFI, and is asked it: one per survey (SURVEY_READS)."""
        if (
            not tags
            or all(tag.afi is not None for tag in tags)
            or not self.policy.use_afi
            or getattr(reader, "filters_afi", False) is not True
        ):
            return tags
        known: dict[bytes, int] = {}
        for value in (self.policy.afi_unsecured, self.policy.afi_secured):
            if value & 0x0F:  # an exact value: X0 would select a family
                for answered in reader.inventory(afi=value):  # type: ignore[call-arg]
                    known[answered.uid] = value
        found: list[TagSeen] = []
        asked = 0
        for tag in tags:
            afi = tag.afi if tag.afi is not None else known.get(tag.uid)
            if afi is None and asked < SURVEY_READS:
                asked += 1
                try:
                    afi = reader.system_info(tag.uid).afi
                except DeviceUnavailable:
                    raise
                except DeviceError:
                    afi = None  # gone already
            found.append(replace(tag, afi=afi))
        return found

    def round(
        self,
        reader: TagReader,
        tags: Sequence[TagSeen],
        *,
        secured_afi: int | None = None,
        eas_answered: bool | None = None,
    ) -> list[Alarm]:
        """Decide on one inventory answer; outputs switch inside, before anything else.

        ``secured_afi``: the tags answered an inventory filtered on it, so they hold it.
        ``eas_answered``: the unaddressed EAS alarm was already sent (and answered or not).
        """
        now = self.clock()
        alarms: list[Alarm] = []
        sightings: list[Sighting] | None = [] if self.tag_security is not None else None
        # One unaddressed EAS alarm command answers for the whole field: only when
        # some tag has its bit set are the tags asked one by one.
        if eas_answered is None:
            any_eas = bool(tags) and self.policy.use_eas and reader.eas_alarm(None)
        else:
            any_eas = eas_answered and self.policy.use_eas
        for answered in tags:
            tag = answered
            if secured_afi is not None and tag.afi is None:
                tag = replace(tag, afi=secured_afi)  # it answered the filter: it holds it
            try:
                alarm = self._decide_tag(reader, tag, now, any_eas, sightings)
            except DeviceUnavailable:
                raise
            except DeviceError as error:  # the tag left during an addressed command
                if _cannot_read_security(reader):
                    raise  # not this tag: the reader itself can see no tag's security
                log.debug("%s: tag %s: %s", reader.url, tag.uid_hex, error)
                continue
            except Exception as error:
                # No driver should do this; whatever it is stays with this tag.
                self._tag_fault(reader, tag.uid, error)
                continue
            if alarm is not None:
                alarms.append(alarm)
        for alarm in alarms:
            self._after_alarm(reader, alarm)
        if sightings and self.tag_security is not None:
            self.tag_security.offer_many(sightings)  # one put per round, after everything
        return alarms

    def _decide_tag(
        self,
        reader: TagReader,
        tag: TagSeen,
        now: float,
        any_eas: bool,
        sightings: list[Sighting] | None = None,
    ) -> Alarm | None:
        uid = tag.uid
        item = self._cached(uid)
        with self._decide:
            need_id = item is None and (bool(self.owners) or self.decider.needs_item_id(now))
            settled = self.decider.alarmed_in_pass(uid, now)
        if need_id and not settled:
            item = self._read(reader, uid)
        if (
            item is not None
            and item.owner
            and self.owners
            and isil_key(item.owner) not in self.owners
        ):
            return None  # another library's item: not ours to stop
        afi, eas = tag.afi, None
        if not settled:
            if afi is None and self.policy.use_afi:
                afi = reader.system_info(uid).afi
            if self.policy.use_eas:
                eas = any_eas and reader.eas_alarm(uid)
        with self._decide:
            alarm = self.decider.seen(uid, afi, eas, item.item_id if item else None, now)
        if alarm is not None:
            self._sound()
        if sightings is not None and afi is not None:  # for the tag security checks
            sightings.append((uid, afi, item.item_id if item else None, now))
        return alarm

    def _sound(self) -> None:
        outputs = self.outputs
        if outputs is None:
            return
        failed = False
        for name in self.gate.alarm_outputs:
            try:
                outputs.pulse(name, self.gate.alarm_seconds)
            except Exception as error:
                failed = True
                log.error("alarm output %s failed: %s", name, error)
                self._set_state("outputs", DeviceState.UNAVAILABLE, str(error))
        if not failed and self._states.get("outputs") is DeviceState.UNAVAILABLE:
            self._set_state("outputs", DeviceState.READY)

    def _read(self, reader: TagReader, uid: bytes) -> _Item | None:
        """The item id on the tag, read once per UID; None when the tag did not answer."""
        known = self._cached(uid)
        if known is not None:
            return known
        now = time.monotonic()
        failures, last = self._read_failures.get(uid, (0, now))
        if now - last > self.pass_window:
            failures = 0  # a new pass: try again (the tag may be missing, or foreign)
        if failures >= READ_ATTEMPTS:
            return None
        try:
            read = read_tag(reader, uid)
        except DeviceUnavailable:
            raise
        except DeviceError as error:
            if len(self._read_failures) >= ITEM_CACHE:
                self._read_failures.clear()
            self._read_failures[uid] = (failures + 1, now)
            log.debug("%s: reading %s failed: %s", reader.url, uid.hex().upper(), error)
            return None
        except Exception as error:
            # A reading no driver should give: the tag is unreadable, decided on AFI / EAS.
            self._tag_fault(reader, uid, error)
            item = _Item(None)
            self._remember(uid, item)
            return item
        if read.tag is None:
            log.info("%s: tag %s: %s", reader.url, uid.hex().upper(), read.error)
            self._unreadable(reader, uid, read.error)
            item = _Item(None)
        else:
            item = _Item(read.tag.item_id or None, read.tag.owner_library or None)
        self._remember(uid, item)
        return item

    def _unreadable(self, reader: TagReader, uid: bytes, detail: str) -> None:
        """Tell staff once per tag (it is cached after this) that its memory did not decode."""
        self.bus.publish(
            "tag_unreadable",
            gate=self.gate_id,
            reader=reader.url,
            uid=uid.hex().upper(),
            detail=detail[:200],
        )

    def _tag_fault(self, reader: TagReader, uid: bytes, error: Exception) -> None:
        if uid in self._tag_faults:
            log.debug("%s: tag %s failed again: %r", reader.url, uid.hex().upper(), error)
            return
        if len(self._tag_faults) >= ITEM_CACHE:
            self._tag_faults.clear()
        self._tag_faults.add(uid)
        log.error(
            "%s: tag %s could not be handled (the others are): %s: %s",
            reader.url,
            uid.hex().upper(),
            type(error).__name__,
            error,
            exc_info=error,
        )
        self._unreadable(reader, uid, f"{type(error).__name__}: {error}")

    def _cached(self, uid: bytes) -> _Item | None:
        item = self._items.get(uid)
        if item is not None and time.monotonic() - item.at > ITEM_TTL:
            self._items.pop(uid, None)  # (another thread may have done it)
            return None
        return item

    def _remember(self, uid: bytes, item: _Item) -> None:
        now = time.monotonic()
        self._forget_expired(now)
        if len(self._items) >= ITEM_CACHE:
            for old in list(self._items)[: ITEM_CACHE // 2]:
                self._items.pop(old, None)
        # Popped first so the dict stays in the order learnt: the oldest is always first.
        self._items.pop(uid, None)
        self._items[uid] = replace(item, at=now)
        self._read_failures.pop(uid, None)

    def _forget_expired(self, now: float) -> None:
        """Drop the entries past ITEM_TTL, oldest first (reader threads share the dict)."""
        while True:
            try:
                oldest = next(iter(self._items))
                if now - self._items[oldest].at <= ITEM_TTL:
                    return
            except (StopIteration, KeyError, RuntimeError):
                return  # empty, or another thread changed it meanwhile: next time
            self._items.pop(oldest, None)

    def _after_alarm(self, reader: TagReader, alarm: Alarm) -> None:
        """After the outputs: the item id if it was not needed to decide, then the event."""
        if alarm.item_id is None:
            try:
                item = self._read(reader, alarm.uid)
            except DeviceUnavailable:
                item = None
            if item is not None and item.item_id is not None:
                alarm = replace(alarm, item_id=item.item_id)
        with self._decide:
            self.alarms += 1
        direction = self._direction()
        event = self.bus.publish(
            "alarm",
            gate=self.gate_id,
            time=alarm.time,
            reader=reader.url,
            uid=alarm.uid_hex,
            item_id=alarm.item_id,
            reason=alarm.reason.value,
            vi=alarm.vi,
            en=alarm.en,
            direction=direction.value if direction is not None else None,
            title=None,
        )
        log.warning(
            "ALARM at %s: item %s (%s)", self.gate_id, alarm.item_id or "?", alarm.reason.value
        )
        self._count("alarm")
        if alarm.item_id is not None and self.ils is not None:
            item_id, seq = alarm.item_id, event["seq"]
            uid = alarm.uid if alarm.reason is AlarmReason.SECURED else None
            self._later.put(lambda: self._title(item_id, seq, uid))

    def _title(self, item_id: str, seq: int, secured_uid: bytes | None = None) -> None:
        assert self.ils is not None
        try:
            info = self.ils.item_information(item_id)
        except Exception as error:
            log.warning("no title for %r from the ILS: %s", item_id, error)
            return
        title = getattr(info, "title", None)
        if secured_uid is not None and self.tag_security is not None:
            # The same answer says whether the item is on loan: a lent item whose tag
            # reads secured is tag tampering (or a desk's mistake) staff should know of.
            self.tag_security.ils_answer(item_id, secured_uid, info)
        if title:
            self.bus.publish(
                "alarm_title", gate=self.gate_id, alarm_seq=seq, item_id=item_id, title=title
            )

    def _set_state(self, device: str, state: DeviceState, detail: str = "") -> None:
        if self._states.get(device) is state:
            return
        self._states[device] = state
        if state is DeviceState.UNAVAILABLE:
            log.warning("%s unavailable: %s", device, detail)
        else:
            log.info("%s %s", device, state.value)
        self.bus.publish(
            "device", gate=self.gate_id, device=device, state=state.value, detail=detail
        )

    # --- beams -----------------------------------------------------------------------------

    def _beam_loop(self, beams: Inputs) -> None:
        while not self._stop.is_set():
            self._heartbeats["beams"] = time.monotonic()
            try:
                change = beams.poll(BEAM_POLL)
                self._set_state("beams", DeviceState.READY)
            except DeviceError as error:
                self._set_state("beams", DeviceState.UNAVAILABLE, str(error))
                self._stop.wait(RETRY_WAIT)
                continue
            with self._people:
                if change is None:
                    passes = self.counter.tick(time.monotonic())
                else:
                    passes = self.counter.feed(change)
            for done in passes:
                self._passed(done)

    def _passed(self, done: PeoplePass) -> None:
        self.bus.publish(
            "people",
            gate=self.gate_id,
            direction=done.direction.value,
            seconds=round(done.ended - done.started, 3),
        )
        self._count(done.direction.value)

    def _direction(self) -> Direction | None:
        """Which way the person alarming is going: the pass under way, or one just ended."""
        with self._people:
            heading = self.counter.heading()
            last = self.counter.last_pass()
        if heading is not None:
            return heading
        if last is not None and time.monotonic() - last.ended < self.pass_window:
            return None if last.direction is Direction.ABORTED else last.direction
        return None

    # --- counts and status -------------------------------------------------------------------

    def _count(self, kind: str) -> None:
        store = self.store
        if store is None:
            return
        at = datetime.now()
        self._later.put(lambda: store.add(kind, at))

    def _after_loop(self) -> None:
        """Slow follow-ups of alarms and passes (ILS, database), one at a time, off the loops.

        Not part of :meth:`healthy`: an ILS that is down makes title lookups wait
        for their timeout, which is no reason for systemd to restart the gate.
        """
        while True:
            job = self._later.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("gate follow-up failed")

    def counts(self, since: datetime | None = None) -> dict[str, int]:
        """People in / out / aborted and alarms since ``since`` (default: today, local time)."""
        start = since if since is not None else today(datetime.now())
        if self.store is not None:
            return self.store.counts(start)
        # Without a database: what the counter remembers (since this process started).
        offset = time.monotonic() - datetime.now().timestamp()
        people = self.counter.counts(start.timestamp() + offset)
        return {
            "in": people.entered,
            "out": people.left,
            "aborted": people.aborted,
            "alarm": self.alarms,
        }

    def status(self) -> dict[str, Any]:
        return {
            "gate": self.gate_id,
            "healthy": self.healthy(),
            "readers": {
                r.url: self._states.get(r.url, DeviceState.CONNECTING).value for r in self.readers
            },
            "outputs": self.outputs.url if self.outputs is not None else None,
            "beams": self._states.get("beams", DeviceState.CONNECTING).value
            if self.beams is not None
            else None,
            "alarms_since_start": self.alarms,
            "tags_in_field": dict(self.survey_counts),
            "today": self.counts(),
        }

    def hourly(self, hours: float = 24) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        since = datetime.now() - timedelta(hours=hours)
        return [
            {"hour": hour.isoformat(), "kind": kind, "count": count}
            for hour, kind, count in self.store.hourly(since)
        ]


def _uids(value: object) -> list[bytes]:
    """Tag UIDs from a kiosk's event: a list of hex, anything else ignored."""
    found: list[bytes] = []
    for uid in value if isinstance(value, list) else ():
        try:
            found.append(bytes.fromhex(uid))
        except (TypeError, ValueError):
            continue
    return found


def _quietly(close: Callable[[], None]) -> None:
    try:
        close()
    except Exception:
        log.debug("closing failed", exc_info=True)
