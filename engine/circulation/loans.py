"""Whose loan is it? The ILS's answer for one item and one patron.

"On loan" alone proves nothing after a power cut or a lost answer: the item
may be lent to someone else (at the desk, at another kiosk). The borrower is
read from item information (AA, which some ILSs send in 18) or else from the
patron's own list of charged items (patron information 64).
"""

from __future__ import annotations

from enum import Enum

from engine.ils.client import IlsClient
from protocols.sip2 import ItemInformationResponse
from protocols.sip2.codes import CirculationStatus

ON_LOAN = frozenset({CirculationStatus.CHARGED, CirculationStatus.CHARGED_NOT_TO_BE_RECALLED})


class Holder(Enum):
    NOBODY = "nobody"
    """Not on loan."""
    PATRON = "patron"
    """On loan to the patron asked about."""
    SOMEONE_ELSE = "someone_else"


def on_loan(info: ItemInformationResponse) -> bool:
    return str(info.circulation_status) in ON_LOAN


def loan_holder(
    ils: IlsClient, item_id: str, patron_id: str
) -> tuple[Holder, ItemInformationResponse]:
    """Who holds ``item_id`` according to the ILS; raises the ILS link's errors."""
    info = ils.item_information(item_id)
    if not on_loan(info):
        return Holder.NOBODY, info
    borrower = (info.get("AA") or "").strip()
    if borrower:
        return (Holder.PATRON if borrower == patron_id else Holder.SOMEONE_ELSE), info
    account = ils.patron_information(patron_id, None, summary="charged")
    charged = {item.strip() for item in account.charged_items}
    return (Holder.PATRON if item_id in charged else Holder.SOMEONE_ELSE), info
