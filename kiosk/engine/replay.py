"""Offline transactions, replayed to the ILS exactly once when it answers again.

Each is sent with no-block and its original date. Before sending, the item's
status is asked: if the ILS already shows the outcome (a replay whose
"replayed" mark was lost in a crash), it is marked replayed without a second
call. What the ILS refuses becomes a ``conflict`` for the staff report.
"""

from __future__ import annotations

import logging
from typing import Any

from kiosk.ils.client import IlsClient
from kiosk.journal.store import Journal
from protocols.sip2.codes import CirculationStatus

log = logging.getLogger(__name__)

ON_LOAN = {CirculationStatus.CHARGED, CirculationStatus.CHARGED_NOT_TO_BE_RECALLED}


def replay_offline(journal: Journal, ils: IlsClient) -> list[dict[str, Any]]:
    """Replay what is waiting; raises IlsConnectionError when the ILS is still away."""
    done: list[dict[str, Any]] = []
    for txn in journal.in_states({"offline_done"}):
        status = str(ils.item_information(txn.item_id).circulation_status)
        if txn.kind == "checkout":
            if status in ON_LOAN:
                state, message = "replayed", "already on loan in the ILS"
            else:
                assert txn.patron_id is not None
                answer = ils.checkout(
                    txn.patron_id, txn.item_id, no_block=True, transaction_date=txn.transaction_date
                )
                message = " ".join(answer.screen_messages)
                state = "replayed" if answer.ok else "conflict"
        elif status not in ON_LOAN:
            state, message = "replayed", "already returned in the ILS"
        else:
            returned = ils.checkin(txn.item_id, no_block=True, return_date=txn.transaction_date)
            message = " ".join(returned.screen_messages)
            state = "replayed" if returned.ok else "conflict"
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
            }
        )
    return done
