"""An item's outcome as the journal tells it once a transaction has come to rest.

When a worker drops a transaction (the disk filled up, the file system went
read-only), the patron is first told the item is "being checked": the ILS may
or may not have lent it. The maintenance loop then asks the ILS and the tag
(see :mod:`engine.circulation.reconcile`); what it settles is turned back into the
same result the workers send, so the screen, the summary and the receipt say
what the ILS holds.
"""

from __future__ import annotations

from typing import Any

from engine.journal.store import Txn
from engine.texts import both

SUCCESS = frozenset({"checked_out", "offline_checked_out", "returned", "offline_returned"})


def _outcome(txn: Txn) -> str | None:
    checkout = txn.kind == "checkout"
    if txn.state in ("done", "replayed"):
        return "checked_out" if checkout else "returned"
    if txn.state == "offline_done":
        return "offline_checked_out" if checkout else "offline_returned"
    if txn.state == "flagged":
        return "security_failed"
    if txn.state == "reversed":
        return "security_locked"
    if txn.state == "refused":
        return txn.outcome or ("ils_refused" if checkout else "checkin_refused")
    if txn.state in ("cancelled", "conflict"):
        return txn.outcome or "ils_unavailable"
    return None  # still open: still being checked


def txn_result(txn: Txn, outcome: str, *, success: bool, **marks: bool) -> dict[str, Any]:
    """The item's line on screen, from the journal's record of ``txn``; ``marks`` say
    where it comes from (``earlier``: done before a restart; ``settled_later``)."""
    return {
        "kind": txn.kind,
        "item_id": txn.item_id,
        "txn": txn.id,
        "state": txn.state,
        "outcome": outcome,
        "message": both(outcome),
        "title": txn.title,
        "due_date": txn.due_date,
        "ils_message": txn.ils_message,
        "offline": txn.offline,
        "uids": [uid.hex() for uid in txn.tag_uids],
        "success": success,
        **marks,
    }


def settled_result(txn: Txn) -> dict[str, Any] | None:
    """The item result for ``txn`` at rest, or None while it is still open."""
    outcome = _outcome(txn)
    if outcome is None:
        return None
    return txn_result(
        txn,
        outcome,
        success=outcome in SUCCESS,
        flagged=txn.state == "flagged",
        settled_later=True,
    )
