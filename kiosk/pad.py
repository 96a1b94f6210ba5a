"""Watching the RFID pad: tags arriving and leaving, each read once and decoded.

One thread runs inventory rounds; a tag new to the field has its memory read
and decoded (cached by UID), then ``on_added`` is called; a tag missing from
``missing_rounds`` consecutive rounds is reported gone (one missed round is
normal radio life, not a patron lifting a book). The reader is shared with the
security writer through ``lock``: one command on the air at a time.

While items are being checked out or returned the antenna is theirs: an
inventory of a full pad holds a serial reader for 60-90 ms, the time of a whole
security release. So rounds wait until the work is done; after
``busy_interval`` (to notice items added to a long stack) a round may go
between two security writes, when the writer is idle waiting for the ILS.

One bad tag never hides the others: each tag of a round is read and reported
on its own, and whatever goes wrong with one (a memory no decoder can read is
already a ``TagRead`` without data; anything else is caught here) leaves it
reported as unreadable while the items beside it are reported as usual.
Rounds that fail ``FAILED_ROUNDS`` times in a row (not an unplugged reader,
which reports itself) are reported through ``on_state`` and make
:meth:`PadWatcher.healthy` false, so the watchdog stops being fed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from drivers.interfaces import DeviceError, DeviceState, DeviceUnavailable, TagReader
from drivers.tag_memory import TagRead, read_tag

log = logging.getLogger(__name__)

FAILED_ROUNDS = 5
"""Rounds in a row that fail before the pad says so and stops feeding the watchdog."""


@dataclass(frozen=True, slots=True)
class PadTag:
    uid: bytes
    read: TagRead | None
    """None when the memory could not be read this time (it is tried again next round)."""
    afi: int | None = None


class PadWatcher:
    def __init__(
        self,
        reader: TagReader,
        lock: threading.RLock,
        on_added: Callable[[PadTag], None],
        on_removed: Callable[[bytes], None],
        on_state: Callable[[DeviceState, str], None],
        *,
        interval: float = 0.05,
        busy_interval: float = 2.0,
        wait_idle: Callable[[float], bool] = lambda timeout: True,
        wait_writer_idle: Callable[[float], bool] = lambda timeout: True,
        missing_rounds: int = 2,
    ) -> None:
        self.reader = reader
        self.lock = lock
        self.on_added = on_added
        self.on_removed = on_removed
        self.on_state = on_state
        self.interval = interval
        self.busy_interval = busy_interval
        self.wait_idle = wait_idle
        """Blocks up to its timeout until no item is being processed; True when none is."""
        self.wait_writer_idle = wait_writer_idle
        """The same for the security writer alone."""
        self.missing_rounds = missing_rounds
        self.present: dict[bytes, PadTag] = {}
        self._missing: dict[bytes, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.last_round = time.monotonic()
        self._state = DeviceState.CLOSED
        self.failed_rounds = 0
        self._faulty: set[bytes] = set()
        """Tags whose handling failed unexpectedly: logged once each."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pad", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def forget(self, uids: tuple[bytes, ...]) -> None:
        """Treat these tags as new when next seen (their security write failed: retry then)."""
        for uid in uids:
            self.present.pop(uid, None)
            self._missing.pop(uid, None)

    def healthy(self, within: float) -> bool:
        """Whether the loop completed a round recently and rounds are not failing one after
        another (the watchdog asks)."""
        return time.monotonic() - self.last_round < within and self.failed_rounds < FAILED_ROUNDS

    def _set_state(self, state: DeviceState, detail: str = "") -> None:
        if state is not self._state:
            self._state = state
            self.on_state(state, detail)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
                self.failed_rounds = 0
                self._set_state(DeviceState.READY)
                wait = self.interval
            except DeviceUnavailable as error:
                self.failed_rounds = 0  # reported as such; the loop keeps trying
                self._set_state(DeviceState.UNAVAILABLE, str(error))
                wait = 1.0
            except DeviceError as error:
                log.warning("pad inventory failed: %s", error)
                self._round_failed(error)
                wait = 0.2
            except Exception as error:
                log.exception("pad loop error")
                self._round_failed(error)
                wait = 1.0
            self.last_round = time.monotonic()
            if not self._stop.wait(wait):
                self._wait_for_antenna()

    def _round_failed(self, error: Exception) -> None:
        self.failed_rounds += 1
        if self.failed_rounds == FAILED_ROUNDS:
            detail = f"{self.failed_rounds} rounds in a row failed: {type(error).__name__}: {error}"
            log.error("pad: %s", detail)
            self._set_state(DeviceState.UNAVAILABLE, detail)

    def _wait_for_antenna(self) -> None:
        """Until no item is in work; after ``busy_interval``, until the writer is idle (or
        as long again). In short slices, so that ``stop`` is never kept waiting."""
        busy_until = self.last_round + self.busy_interval
        while not self._stop.is_set():
            left = busy_until - time.monotonic()
            if left > 0:
                if self.wait_idle(min(left, 0.1)):
                    return
            elif self.wait_writer_idle(0.1) or -left > self.busy_interval:
                return

    def round(self) -> None:
        with self.lock:
            seen = {tag.uid: tag for tag in self.reader.inventory()}
        self.rounds += 1
        for uid, seen_tag in seen.items():
            self._missing.pop(uid, None)
            known = self.present.get(uid)
            if known is not None and known.read is not None:
                continue
            try:
                with self.lock:
                    read = read_tag(self.reader, uid)
            except DeviceUnavailable:
                raise
            except DeviceError:
                read = None  # left again, or a misread: next round tries again
            except Exception as error:  # no reader should; it stays with this tag
                self._fault(uid, "reading", error)
                read = TagRead(uid, b"", None, f"unreadable tag ({type(error).__name__})")
            tag = PadTag(uid, read, seen_tag.afi)
            first_time = known is None
            self.present[uid] = tag
            if first_time or read is not None:
                try:
                    self.on_added(tag)
                except Exception as error:
                    self._fault(uid, "reporting", error)
        for uid in list(self.present):
            if uid in seen:
                continue
            self._missing[uid] = self._missing.get(uid, 0) + 1
            if self._missing[uid] >= self.missing_rounds:
                del self.present[uid]
                del self._missing[uid]
                self._faulty.discard(uid)
                try:
                    self.on_removed(uid)
                except Exception as error:
                    self._fault(uid, "reporting the removal of", error)

    def _fault(self, uid: bytes, doing: str, error: Exception) -> None:
        if uid in self._faulty:
            return
        if len(self._faulty) >= 1000:
            self._faulty.clear()
        self._faulty.add(uid)
        log.error(
            "pad: %s tag %s failed (the other tags go on): %r",
            doing,
            uid.hex().upper(),
            error,
            exc_info=error,
        )
