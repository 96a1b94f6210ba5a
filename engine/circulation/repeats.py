"""An item this kiosk already lent or took back, laid on the pad again.

After a restart (or a second login with the stack still on the pad) the pad
reports every tag as new. Sending such an item to the ILS again is not
harmless: a second checkout renews the loan, a second checkin may clear a hold
trap or charge a fine again. The journal knows what was done; the ILS confirms
nothing has happened to the item since.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.circulation.loans import Holder, loan_holder, on_loan
from engine.circulation.settled import txn_result
from engine.circulation.steps import Item
from engine.ils.client import IlsClient
from engine.ils.errors import IlsError
from engine.journal.store import Journal, Txn

log = logging.getLogger(__name__)

LENT = frozenset({"done", "offline_done", "replayed"})
RETURNED = frozenset({"done", "offline_done", "replayed"})


def already_lent(journal: Journal, ils: IlsClient, patron_id: str, item: Item) -> Txn | None:
    """This kiosk's loan of ``item`` to this patron, if it is still hers."""
    latest = journal.latest(item.item_id)
    if latest is None or latest.kind != "checkout" or latest.state not in LENT:
        return None
    if latest.patron_id != patron_id:
        return None
    if latest.state == "offline_done":
        return latest  # the ILS has not heard of it yet: the journal is all there is
    try:
        holder, _info = loan_holder(ils, item.item_id, patron_id)
    except IlsError as error:
        log.info("cannot confirm an earlier loan (%s); the journal decides", error)
        return latest
    # Returned elsewhere since (and maybe lent again to someone else): a new checkout.
    return latest if holder is Holder.PATRON else None


def already_returned(journal: Journal, ils: IlsClient, item: Item) -> Txn | None:
    """This kiosk's return of ``item``, if the item has not been lent since."""
    latest = journal.latest(item.item_id)
    if latest is None or latest.kind != "checkin" or latest.state not in RETURNED:
        return None
    if latest.state == "offline_done":
        return latest
    try:
        info = ils.item_information(item.item_id)
    except IlsError as error:
        log.info("cannot confirm an earlier return (%s); the journal decides", error)
        return latest
    return None if on_loan(info) else latest


def earlier_result(txn: Txn, outcome: str, *, success: bool) -> dict[str, Any]:
    """The item's line on screen, from the journal's record of what was done."""
    return txn_result(txn, outcome, success=success, earlier=True)
