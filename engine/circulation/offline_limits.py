"""How much the kiosk may lend while the ILS is away, counted per patron across sessions.

Counted from the journal by the ILS worker (one thread, so two items of one
stack cannot both take the last place): every offline loan not yet replayed
to the ILS counts, whichever session made it — a patron who logs in twice is
still one patron.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.journal.store import Journal

# Offline loans the ILS has not heard of yet (flagged ones still count: the item is out).
NOT_YET_REPLAYED = frozenset({"ils_ok", "securing", "offline_done", "flagged"})


@dataclass(frozen=True, slots=True)
class OfflineLimits:
    per_patron: int = 5
    total: int = 500

    def allows(self, journal: Journal, patron_ref: str, txn_id: str) -> bool:
        """Whether transaction ``txn_id`` may become one more offline loan."""
        waiting = [
            t
            for t in journal.in_states(NOT_YET_REPLAYED)
            if t.offline and t.kind == "checkout" and t.id != txn_id
        ]
        mine = sum(1 for t in waiting if t.patron_ref == patron_ref)
        return len(waiting) < self.total and mine < self.per_patron
