"""The return machine at work: read, check in, decide, divert, count, tell.

One thread (``sorter-belt``) owns the conveyor: it waits for the conveyor's
events, reads the tunnel reader when an item reaches it and hands the checkin
to the engine's circulation (journaled, security set and read back, offline
queue). A second (``sorter-decide``) decides the item's bin
(:func:`sorter.decision.decide`) the moment the answer is in, so the decision
does not wait for the belt loop's next tick; both work under the machine's
lock, which is never held across the ILS call (the circulation's ILS worker
makes it) or a print job; the security write is the circulation's tag
worker's, and only the next item's read, which shares the tunnel reader,
waits for it. The diverter fires when the item reaches it: the travel time
from the reader to each diverter comes from the configuration and is counted
in *belt* time, so a belt held still (a late ILS, a lost PLC, a jam) does not
make the item miss its diverter.

When the ILS has not answered by the decision deadline (the travel to the
first diverter less a margin) the configured policy applies: ``hold_belt``
stops the belt until it answers; ``exception_then_finish`` sends the item to
the exception bin (reason ``late_ils``) while the circulation finishes its
checkin on its own, and the outcome becomes a staff line. Nothing is lost
either way: the checkin is in the journal before it is sent.

Every item is recorded in :class:`sorter.store.SorterStore` as it is read,
decided and diverted; after a power cut the items that were on the belt become
staff lines, and the journal's reconcile finishes their checkins without
doing any twice. A third thread (``sorter-maintenance``) replays offline
checkins exactly once and turns holds and transits that only show on replay
into staff lines.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from drivers.conveyor import ConveyorEvent, ConveyorEventKind
from drivers.interfaces import DeviceError
from engine.circulation.reconcile import reconcile
from sorter import machine_texts as texts
from sorter.announcements import Announcements
from sorter.belt import BeltTracking
from sorter.counting import BinCounting
from sorter.flight import SorterState
from sorter.ils_step import IlsStep
from sorter.intake import Intake
from sorter.texts import Text

log = logging.getLogger(__name__)


class Sorter(Intake, IlsStep, BeltTracking, BinCounting, Announcements):
    """The return machine's service core: ``muontra sorter``, tests and scenarios drive it.

    Built from its parts (see :mod:`sorter.machine_base`); this class holds the
    lifecycle, the belt loop that feeds them and what the API asks.
    """

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Report what an earlier run left on the belt, settle the journal, start the belt."""
        self.circulation.ils_online = self.ils.connect_all() > 0
        self._report_left_on_belt()
        try:
            for line in reconcile(
                self.journal, self.ils, self.reader, self.reader_lock, self.circulation
            ):
                self.bus.publish("reconciled", **line)
        except Exception:
            log.exception("reconcile at start")
        self.conveyor.open()
        self.circulation.start()
        with self.lock:
            self.state = SorterState.RUNNING
            self._apply()
        for name, target in (
            ("sorter-belt", self._belt_loop),
            ("sorter-decide", self._decide_loop),
            ("sorter-maintenance", self._maintenance_loop),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.circulation.stop()
        try:
            self.conveyor.close()
        except DeviceError as error:
            log.warning("closing the conveyor: %s", error)

    def healthy(self) -> bool:
        return self.loop_alive and all(t.is_alive() for t in self._threads)

    def _report_left_on_belt(self) -> None:
        rows = self.store.on_belt()
        now = self.clock()
        for row in rows:
            text = texts.LEFT_CHECKED_IN if row.checked_in else texts.LEFT_NOT_CHECKED_IN
            where = self.settings.exception_bin
            filled = Text(text.format("vi", item=row.item_id), text.format("en", item=row.item_id))
            self.store.report(row.item_id, where, filled, now)
        self.store.mark_left([row.id for row in rows])
        if rows:
            log.warning("%d item(s) were on the belt when the service stopped", len(rows))

    # --- outputs --------------------------------------------------------------------------

    def _belt_loop(self) -> None:
        try:
            while not self._stop.is_set():
                event = self.conveyor.poll(self._next_wait())
                with self.lock:
                    if event is not None:
                        self._on_event(event)
                    self._drain_results()
                    self._tick()
        except Exception:
            self.loop_alive = False
            log.exception("the belt loop stopped")
            raise

    def _on_event(self, event: ConveyorEvent) -> None:
        kind = event.kind
        if kind is ConveyorEventKind.ITEM_AT_READER:
            self._blocked["reader"] = event.at
            self._read(event.at)
        elif kind is ConveyorEventKind.READER_CLEAR:
            self._blocked.pop("reader", None)
        elif kind is ConveyorEventKind.ITEM_AT_DIVERTER:
            self._blocked[f"at{event.index}"] = event.at
        elif kind is ConveyorEventKind.DIVERTER_CLEAR:
            self._blocked.pop(f"at{event.index}", None)
        elif kind is ConveyorEventKind.ITEM_AT_END:
            self._blocked["end"] = event.at
            self._at_end()
        elif kind is ConveyorEventKind.END_CLEAR:
            self._blocked.pop("end", None)
        elif kind in (ConveyorEventKind.BIN_FULL, ConveyorEventKind.BIN_NOT_FULL):
            bin_id = self.full_sensors.get(event.index)
            if bin_id is not None:
                full = kind is ConveyorEventKind.BIN_FULL
                self.bins.set_sensor(bin_id, full)
                self._tell_bins()
                self._apply()
        elif kind is ConveyorEventKind.LINK_LOST:
            self._link_lost()
        elif kind is ConveyorEventKind.LINK_BACK:
            self._link_back()

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "state": str(self.state),
                "belt": "running" if self._belt_on else "stopped",
                "intake_open": self._shutter_open,
                "link": "ok" if self.link_up else "lost",
                "ils_online": self.circulation.ils_online,
                "queue": len(self.journal.in_states({"offline_done"})),
                "drop": {"id": self.drop.id, "items": len(self.drop.items)} if self.drop else None,
                # Items read and not yet counted in a bin (on the belt, or their diverter
                # just fired): the counts below are final for a drop once this is 0.
                "on_belt": len(self._flight) + len(self._landing),
                "bins": self._bins_list(),
                "receipts": self.receipt_methods(),
                "language": self.language,
                "stop_reason": self.stop_reason,
            }

    def exceptions(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.recent)[:limit]

    def staff_report(self) -> list[dict[str, Any]]:
        return [
            {
                "item_id": line.item_id,
                "bin": line.bin,
                "text": {"vi": line.text.vi, "en": line.text.en},
            }
            for line in self.store.reports()
        ]

    def set_language(self, language: str) -> None:
        if language not in ("vi", "en"):
            raise ValueError(f"language must be 'vi' or 'en', got {language!r}")
        self.language = language
