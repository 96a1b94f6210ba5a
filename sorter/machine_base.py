"""The return machine's shared state: what every part of :class:`sorter.machine.Sorter` reads.

The machine is one object made of parts, each in its own module and each a
mixin over this base: reading at the intake (:mod:`sorter.intake`), the ILS
step and the decision (:mod:`sorter.ils_step`), the belt's tracking and timing
(:mod:`sorter.belt`), the bins and their counts (:mod:`sorter.counting`) and
what is told to screens, staff and the fleet (:mod:`sorter.announcements`).
They share one lock and the state set up here; a part calls another's method
through the declarations at the end of this class, so mypy checks each call.
"""

from __future__ import annotations

import queue
import re
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.conveyor import Conveyor
from drivers.interfaces import ReceiptPrinter, TagReader
from engine.circulation.steps import Circulation
from engine.events import EventBus
from engine.ils.client import IlsClient
from engine.journal.store import Journal
from protocols.tags import SecurityPolicy
from sorter.bins import Bins
from sorter.flight import HISTORY, Drop, InFlight, SorterState
from sorter.receipts import EndedDrops, Offered, Where
from sorter.settings import SorterSettings
from sorter.store import SorterStore

if TYPE_CHECKING:
    from engine.receipts.email import EmailSettings
    from sorter.decision import Decision, SortInput
    from sorter.texts import Text

_DIVERTER = re.compile(r"^diverter(\d+)$")
_FULL = re.compile(r"^full(\d+)$")


class SorterBase:
    """The state of one return machine; the parts add the behaviour."""

    def __init__(
        self,
        settings: SorterSettings,
        *,
        conveyor: Conveyor,
        reader: TagReader,
        ils: IlsClient,
        journal: Journal,
        store: SorterStore,
        policy: SecurityPolicy,
        bus: EventBus | None = None,
        clock: Callable[[], datetime] = datetime.now,
        owners: tuple[str, ...] = (),
        offline_enabled: bool = True,
        security_attempts: int = 3,
        maintenance_every: float = 5.0,
        language: str = "vi",
        printer: ReceiptPrinter | None = None,
        manifest_dir: Path | None = None,
        where: Where | None = None,
        email: EmailSettings | None = None,
        offered: Offered | None = None,
    ) -> None:
        self.settings = settings
        self.conveyor = conveyor
        self.reader = reader
        self.ils = ils
        self.journal = journal
        self.store = store
        self.bus = bus or EventBus(history=HISTORY)
        self.clock = clock
        """The site's local time (naive), as the journal and SIP2 take it."""
        self.owners = owners
        self.maintenance_every = maintenance_every
        self.language = language
        self.printer = printer
        """The bin slips' printer; None: slips are kept as CSV manifests only."""
        self.manifest_dir = manifest_dir or Path("manifests")
        self.where = where or Where("sorter", "", "")
        """What a drop's receipt says about the machine."""
        self.email = email
        """The mail server for e-mailed receipts; None: this machine sends none."""
        self.offered = offered or Offered(email=email is not None)
        """The ways of a drop's receipt the site offers (``[receipts]`` print, email, qr)."""
        self.printer_lock = threading.Lock()
        """Held for a whole print job (a drop's receipt, a bin slip): jobs asked for at
        once come out one after the other, whatever the printer's driver does."""
        self.ended = EndedDrops()
        """The last drops ended: their receipts may still be asked for."""
        self.bins = Bins(settings)
        self.reader_lock = threading.RLock()
        self.lock = threading.RLock()
        self._results: queue.Queue[dict[str, Any]] = queue.Queue()
        self._result_ready = threading.Event()
        """Set when a checkin's result is queued: the decision thread takes it at once rather
        than at the belt loop's next tick (issue 13: the decision is on the item's travel)."""
        self.circulation = Circulation(
            journal,
            ils,
            reader,
            self.reader_lock,
            policy,
            on_result=self._result_in,
            attempts=security_attempts,
            offline_enabled=offline_enabled,
            clock=clock,
            security_retries=0,  # the item has left the tunnel: staff finish a failed write
            keep_answers=True,
        )
        self.diverters = self._diverters(settings, conveyor)
        self.full_sensors = {
            int(m.group(1)): b.id
            for b in settings.bins
            if b.full_sensor and (m := _FULL.match(b.full_sensor))
        }
        self.deadline = settings.decision_deadline()
        self.state = SorterState.STARTING
        self.stop_reason: str | None = None
        self.link_up = True
        self.paused = False
        self.jammed = False
        self._belt_on = False
        self._shutter_open = False
        self._stopped_at: float | None = None
        self._holding = False
        self._flight: list[InFlight] = []
        self._landing: list[InFlight] = []
        """Items whose diverter fired, until their bin's arrival is known (then counted)."""
        self._late: dict[str, InFlight] = {}
        """Items sent to the exception bin before their checkin finished, by item id."""
        self._blocked: dict[str, float] = {}
        """Eyes blocked now and since when (conveyor time): a jam is one blocked too long."""
        self._fired: deque[tuple[InFlight, float]] = deque(maxlen=64)
        """Items recently sent to a diverter, with when (a jam may have kept them from it)."""
        self._jam_since: float | None = None
        self._link_lost_at: float | None = None
        self._full: set[str] = set()
        """Bins full at the last count (a bin_full event is told once, as it fills)."""
        self._uids: dict[str, tuple[bytes, ...]] = {}
        """The UIDs of each item id in the tunnel at the last read (a set has several)."""
        self.drop: Drop | None = None
        self.sorted_in_drop: set[str] = set()
        self.recent: deque[dict[str, Any]] = deque(maxlen=200)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.loop_alive = True
        self.tag_seen: Callable[[bytes, int | None], object] | None = None
        """Each tag at intake with its AFI (None: the reader did not say): issue 15's check for
        a foreign AFI (engine/tamper/afi.py), set by sorter/service.py."""

    def _result_in(self, result: dict[str, Any]) -> None:
        """A checkin's outcome from the circulation's workers (their thread, no lock held)."""
        self._results.put(result)
        self._result_ready.set()

    @staticmethod
    def _diverters(settings: SorterSettings, conveyor: Conveyor) -> dict[str, int]:
        found: dict[str, int] = {}
        for bin_ in settings.bins:
            if bin_.output is None:
                continue
            match = _DIVERTER.match(bin_.output)
            if match is None or not 1 <= int(match.group(1)) <= conveyor.diverters:
                raise ValueError(
                    f"bin {bin_.id}: output {bin_.output!r} is not a diverter of "
                    f"{conveyor.url} (diverter1 to diverter{conveyor.diverters})"
                )
            found[bin_.id] = int(match.group(1))
        return found

    # --- one part's methods that another part calls (defined in the module named) ---------
    if TYPE_CHECKING:

        def _apply(self) -> None:  # sorter.belt
            raise NotImplementedError

        def _belt_now(self) -> float:  # sorter.belt
            raise NotImplementedError

        def _link_lost(self) -> None:  # sorter.belt
            raise NotImplementedError

        def _items_aside(self, text: Text, since: float | None) -> None:  # sorter.belt
            raise NotImplementedError

        def _decide(  # sorter.ils_step
            self, item: InFlight, sort_input: SortInput, ils_message: str | None = None
        ) -> None:
            raise NotImplementedError

        def _decided(  # sorter.ils_step
            self, item: InFlight, decision: Decision, ils_message: str | None = None
        ) -> None:
            raise NotImplementedError

        def _placed(self, item: InFlight, bin_id: str) -> None:  # sorter.counting
            raise NotImplementedError

        def _unplaced(self, item: InFlight) -> None:  # sorter.counting
            raise NotImplementedError

        def _bins_list(self) -> list[dict[str, Any]]:  # sorter.counting
            raise NotImplementedError

        def _tell_bins(self) -> None:  # sorter.counting
            raise NotImplementedError

        def _tell_state(self) -> None:  # sorter.announcements
            raise NotImplementedError

        def _tell_intake(self, open_: bool, state: SorterState) -> None:  # sorter.announcements
            raise NotImplementedError

        def _announce(  # sorter.announcements
            self, item: InFlight, decision: Decision, ils_message: str | None
        ) -> None:
            raise NotImplementedError

        def _staff_line(self, item_id: str, bin_id: str, text: Text) -> None:  # announcements
            raise NotImplementedError

        def status(self) -> dict[str, Any]:  # sorter.machine
            raise NotImplementedError
