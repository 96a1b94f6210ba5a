"""After a crash or a power cut: finish or undo every transaction the journal left open.

The rule is that the ILS loan and the tag's security end up agreeing, and
staff can see every case that needed help:

- a checkout that never reached the ILS (``started``, and the ILS has no loan
  *to this transaction's patron* — a loan to someone else is not ours) is
  cancelled; its tag is made secure again if it was somehow released;
- a checkout the ILS accepted (``ils_ok``, ``securing``, or ``started`` with the
  patron's loan found in the ILS) gets its security released when its tag is on the
  pad, and stays ``flagged`` for staff (and for the gate's cross-check) when not;
- a return is redone at the ILS with no-block and the original date (a checkin
  is idempotent), then its security is set, or it is flagged;
- a renewal whose answer was lost is cancelled: the patron may simply renew again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from datetime import datetime
from typing import Any

from drivers.interfaces import DeviceError, TagReader
from engine.circulation.loans import Holder, loan_holder
from engine.circulation.steps import Circulation
from engine.ils.client import IlsClient
from engine.ils.errors import IlsConnectionError, IlsRequestRefused
from engine.journal.store import OPEN, Journal, Txn

log = logging.getLogger(__name__)


def _present(reader: TagReader, lock: threading.RLock) -> set[bytes] | None:
    try:
        with lock:
            return {tag.uid for tag in reader.inventory()}
    except DeviceError as error:
        log.warning("reconcile: cannot see the pad: %s", error)
        return None


def reconcile(
    journal: Journal,
    ils: IlsClient,
    reader: TagReader,
    lock: threading.RLock,
    circulation: Circulation,
    *,
    only_ils: bool = False,
    opened_before: datetime | None = None,
    abandoned: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Bring every open transaction to a resting state; returns what was done, for staff.

    While the engine runs, pass ``opened_before`` = when it started: a transaction
    this run opened belongs to a live worker (a checkout may sit at the ILS for
    seconds), and reconciling it too would do its work twice. ``abandoned`` names
    transactions of this run that their worker dropped on an unexpected error:
    they are taken whatever their age and step (``only_ils`` is for the others).
    """
    report: list[dict[str, Any]] = []
    open_txns = journal.open_transactions(opened_before=opened_before)
    if only_ils:
        open_txns = [t for t in open_txns if t.state == "started"]
    dropped = [journal.get(txn_id) for txn_id in sorted(abandoned)]
    open_txns += [t for t in dropped if t.state in OPEN and t not in open_txns]
    if not open_txns:
        return report
    present = _present(reader, lock) or set()
    for txn in open_txns:
        try:
            after = _one(journal, ils, circulation, txn, present)
        except IlsConnectionError:
            log.info("reconcile: ILS unreachable; %s %s stays open", txn.kind, txn.id)
            continue
        except IlsRequestRefused as refused:
            # Never sendable (an id journaled unchecked by an older version): staff decide.
            after = journal.step(txn.id, "conflict", detail=str(refused))
        if after is not None and after.state != txn.state:
            report.append(
                {
                    "txn": txn.id,
                    "kind": txn.kind,
                    "item_id": txn.item_id,
                    "from": txn.state,
                    "to": after.state,
                    "detail": after.detail,
                }
            )
            log.info("reconciled %s %s: %s -> %s", txn.kind, txn.id, txn.state, after.state)
    return report


def _one(
    journal: Journal, ils: IlsClient, circulation: Circulation, txn: Txn, present: set[bytes]
) -> Txn | None:
    if txn.kind == "renew":
        return journal.step(
            txn.id,
            "cancelled",
            outcome="ils_unavailable",
            detail="answer lost in a restart; renew again",
        )
    if txn.kind == "checkout" and txn.state == "started":
        # "On loan" is not enough: the item may be lent to someone else (at the desk, or
        # this checkout was refused for them). Only a loan to this transaction's patron
        # is this transaction's; otherwise the tag stays (or is made) secured.
        holder, _info = loan_holder(ils, txn.item_id, txn.patron_id or "")
        if holder is not Holder.PATRON:
            if all(uid in present for uid in txn.tag_uids):
                circulation.secure_tags(txn.tag_uids, True)  # restore, in case
            detail = (
                "on loan to another patron in the ILS after restart"
                if holder is Holder.SOMEONE_ELSE
                else "no ILS loan after restart"
            )
            return journal.step(txn.id, "cancelled", outcome="ils_unavailable", detail=detail)
        txn = journal.step(txn.id, "ils_ok", detail="loan found in the ILS after restart")
    if txn.kind == "checkin" and txn.state == "started":
        try:
            answer = ils.checkin(txn.item_id)  # a checkin is idempotent: redo it
            txn = journal.step(
                txn.id, "ils_ok" if answer.ok else "refused", detail="checkin redone after restart"
            )
            if not answer.ok:
                return txn
        except IlsConnectionError:
            if not circulation.offline_enabled:
                raise
            txn = journal.step(txn.id, "ils_ok", offline=True, detail="offline: after restart")
    if not all(uid in present for uid in txn.tag_uids):
        if txn.state == "flagged":
            return txn
        return journal.step(
            txn.id, "flagged", outcome="security_failed", detail="tag not on the pad after restart"
        )
    results = circulation.secure_tags(txn.tag_uids, bool(txn.security_target))
    if all(result.verified for result in results):
        final = "offline_done" if txn.offline else "done"
        return journal.step(
            txn.id,
            final,
            security_verified=True,
            detail=(txn.detail or "") + "; finished after restart",
        )
    reason = next(r.reason for r in results if not r.verified)
    return journal.step(txn.id, "flagged", outcome="security_failed", detail=reason)
