"""Offline transactions, replayed to the ILS exactly once when it answers again.

Each is sent with its original date (the site's local time when the patron
acted). Before sending, the ILS is asked about the item:

- a checkout already on loan to the same patron (a replay whose "replayed"
  mark was lost in a crash) is marked replayed without a second call;
- on loan to someone else, it is a ``conflict`` for staff, never "replayed";
- a hold waiting on the item is sent *without* no-block: the ILS decides, and
  a refusal is a conflict — another patron's hold stays in the queue;
- otherwise it is sent with no-block, as SIP2 intends for offline loans.

What the ILS refuses becomes a ``conflict`` for the staff report.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.circulation.loans import Holder, loan_holder, on_loan
from engine.ils.client import IlsClient
from engine.ils.errors import IlsRequestRefused
from engine.journal.store import Journal, Txn
from protocols.sip2 import CheckinResponse, ItemInformationResponse
from protocols.sip2.codes import CirculationStatus

log = logging.getLogger(__name__)


def _hold_waiting(info: ItemInformationResponse) -> bool:
    queue = info.hold_queue_length
    return str(info.circulation_status) == CirculationStatus.WAITING_ON_HOLD_SHELF or (
        queue is not None and int(queue) > 0
    )


def _replay_checkout(ils: IlsClient, txn: Txn) -> tuple[str, str]:
    assert txn.patron_id is not None
    holder, info = loan_holder(ils, txn.item_id, txn.patron_id)
    if holder is Holder.PATRON:
        return "replayed", "already on loan to this patron in the ILS"
    if holder is Holder.SOMEONE_ELSE:
        return "conflict", "on loan to another patron in the ILS"
    force = not _hold_waiting(info)
    answer = ils.checkout(
        txn.patron_id, txn.item_id, no_block=force, transaction_date=txn.transaction_date
    )
    return ("replayed" if answer.ok else "conflict"), " ".join(answer.screen_messages)


def _replay_checkin(ils: IlsClient, txn: Txn) -> tuple[str, str, CheckinResponse | None]:
    if not on_loan(ils.item_information(txn.item_id)):
        return "replayed", "already returned in the ILS", None
    returned = ils.checkin(txn.item_id, no_block=True, return_date=txn.transaction_date)
    state = "replayed" if returned.ok else "conflict"
    return state, " ".join(returned.screen_messages), returned


def replay_offline(
    journal: Journal, ils: IlsClient, *, keep_answers: bool = False
) -> list[dict[str, Any]]:
    """Replay what is waiting; raises IlsConnectionError when the ILS is still away.

    ``keep_answers`` adds each replayed checkin's answer (a CheckinResponse, or None
    when the item was already returned) as ``answer``: the return machine compares it
    with the bin it chose offline (a hold or a transit that only shows now).
    """
    done: list[dict[str, Any]] = []
    for txn in journal.in_states({"offline_done"}):
        answer: CheckinResponse | None = None
        try:
            if txn.kind == "checkout":
                state, message = _replay_checkout(ils, txn)
            else:
                state, message, answer = _replay_checkin(ils, txn)
        except IlsRequestRefused as refused:
            # An id an older version journaled unchecked: it can never be sent, so it
            # goes to staff instead of stopping every later replay behind it.
            state, message = "conflict", str(refused)
        journal.step(txn.id, state, ils_message=message or None)
        if state == "conflict":
            journal.count(f"{txn.kind}_conflict")
        log.info("offline %s %s %s", txn.kind, txn.id, state)
        done.append(
            {
                "txn": txn.id,
                "kind": txn.kind,
                "item_id": txn.item_id,
                "state": state,
                "ils_message": message,
                **({"answer": answer} if keep_answers else {}),
            }
        )
    return done
