"""Reading at the intake: the tunnel reader's inventory when an item reaches it, the drop.

An item that must not be checked in (unreadable, not ours, an incomplete set,
a second read in the drop, two items at once) is decided here at once; any
other is handed to the engine's circulation (:mod:`sorter.ils_step` takes the
answer).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from drivers.interfaces import DeviceError
from drivers.tag_memory import read_tag
from engine.circulation.steps import Item
from engine.receipts.model import Receipt
from protocols.tags.model import TagData
from sorter import machine_texts as texts
from sorter.decision import PATRON_CARD, Decision, Step, screen_tag
from sorter.flight import DROP_IDLE, DROP_MOST, Drop, InFlight
from sorter.machine_base import SorterBase
from sorter.machine_texts import filled
from sorter.reasons import ExceptionReason
from sorter.receipts import METHODS, EndedDrop, build_receipt, deliver_receipt
from sorter.texts import Text

log = logging.getLogger(__name__)


class Intake(SorterBase):
    """Each item as the reader sees it, and the patron's drop."""

    def _read(self, at: float) -> None:
        tags = self._tags_in_field()
        by_item: dict[str, list[TagData]] = {}
        for tag in tags:
            by_item.setdefault(tag.item_id, []).append(tag)
        drop = self._drop_for(at)
        if len(by_item) > 1:
            # Two items in one opening pass the eyes as one block: one journey to the
            # exception bin, neither checked in, both named to staff.
            names = ", ".join(sorted(by_item))
            note = filled(texts.TWO_AT_ONCE, items=names)
            self._take(at, None, (), ExceptionReason.UNREADABLE_TAG, drop, note)
            self._staff_line(names[:64], self.settings.exception_bin, note)
            return
        if not by_item:
            self._take(at, None, (), ExceptionReason.UNREADABLE_TAG, drop)
            return
        ((item_id, found),) = by_item.items()
        tag = found[0]
        parts = tuple(sorted({t.set_index for t in found}))
        reason = screen_tag(tag, self.owners, self.sorted_in_drop, parts)
        self._take(at, tag, parts, reason, drop, uids=self._uids.get(item_id, ()))

    def _tags_in_field(self) -> list[TagData]:
        """Decoded tags in the tunnel now; an unreadable one is left out (it reads as none)."""
        found: list[TagData] = []
        uids: dict[str, list[bytes]] = {}
        with self.reader_lock:
            try:
                seen = self.reader.inventory()
            except DeviceError as error:
                log.warning("tunnel reader: %s", error)
                return []
            busy = self._still_in_field()
            for tag in seen:
                if tag.uid in busy:
                    continue
                if self.tag_seen is not None:
                    self.tag_seen(tag.uid, tag.afi)
                try:
                    read = read_tag(self.reader, tag.uid)
                except DeviceError as error:
                    log.info("tag %s did not read: %s", tag.uid.hex(), error)
                    continue
                if read.tag is not None:
                    found.append(read.tag)
                    uids.setdefault(read.tag.item_id, []).append(tag.uid)
        self._uids = {item_id: tuple(v) for item_id, v in uids.items()}
        return found

    def _still_in_field(self) -> set[bytes]:
        """The UIDs of items read before that may still be in the tunnel's field.

        A patron who pushes the next item in too soon brings it to the reader while
        the one before is still in the field: its tags are seen again with the new
        item's. They are the earlier item's, which already has its place on the belt
        and its bin, so they are left alone, and the new item is read on its own. Known
        from the geometry (``reader_field``: read less than the field's belt time ago)
        and, without it, from a checkin still under way. Two items that came in
        touching each other are still told apart by the eye: they are read together.
        """
        field = self.settings.field_seconds()
        now = self._belt_now()
        uids: set[bytes] = set()
        for item in (*self._flight, *self._landing):
            if (item.checkin and item.result is None) or (
                field is not None and now - item.read_at < field
            ):
                uids.update(item.uids)
        return uids

    def _take(  # noqa: PLR0917 (one call site each, all of the item)
        self,
        at: float,
        tag: TagData | None,
        parts: tuple[int, ...],
        reason: ExceptionReason | None,
        drop: Drop,
        note: Text | None = None,
        uids: tuple[bytes, ...] = (),
    ) -> None:
        # A patron card's "item id" is the patron's id: it is never recorded.
        readable = tag is not None and tag.item_id.strip() and tag.type_of_usage != PATRON_CARD
        item_id = tag.item_id if tag is not None and readable else ""
        checkin = reason is None and note is None
        row_id = self.store.add_read(item_id, self.clock(), drop.id, checkin)
        item = InFlight(
            row_id, item_id, at, tag, parts, checkin, screened=reason, note=note, uids=uids
        )
        self._flight.append(item)
        if item_id and reason is not ExceptionReason.ALREADY_SORTED:
            self.sorted_in_drop.add(item_id)
        if checkin:
            self.circulation.checkin(Item(item_id, uids))
            return
        # Not checked in (a second read must never become a second checkin): straight
        # to the exception bin, or to its overflow.
        target = self.bins.destination(self.settings.exception_bin) or self.settings.exception_bin
        why = reason or ExceptionReason.UNREADABLE_TAG
        self._decided(item, Decision(item_id, target, Step.EXCEPTION, reason=why))

    def _drop_for(self, at: float) -> Drop:
        drop = self.drop
        ended = drop is not None and (at - drop.last_at > DROP_IDLE or drop.reads >= DROP_MOST)
        if drop is not None and not drop.explicit and ended:
            self.drop = None
        if self.drop is None:
            self.drop = Drop(str(uuid.uuid4()))
            self.sorted_in_drop = set()
        self.drop.last_at = at
        self.drop.reads += 1
        return self.drop

    def drop_begin(self) -> str:
        with self.lock:
            self.drop = Drop(str(uuid.uuid4()), explicit=True, last_at=self.conveyor.now())
            self.sorted_in_drop = set()
            return self.drop.id

    def drop_end(self) -> dict[str, Any]:
        with self.lock:
            drop = self.drop
            self.drop = None
            self.sorted_in_drop = set()
            if drop is None:
                return {"drop": None, "items": []}
            self.ended.add(EndedDrop(drop.id, tuple(drop.items), self.clock()))
            return {"drop": drop.id, "items": list(drop.items)}

    # --- the drop's receipt ---------------------------------------------------------------

    def drop_receipt(self, drop_id: str | None, language: str | None = None) -> Receipt:
        """The receipt of an ended drop (the last one when ``drop_id`` is None)."""
        with self.lock:
            drop = self.ended.get(drop_id) if drop_id is not None else self.ended.last()
        if drop is None:
            raise ValueError(f"there is no ended drop {drop_id!r} on this machine")
        lang = language or self.language
        return build_receipt(drop, self.where, "en" if lang == "en" else "vi")

    def receipt_methods(self) -> list[str]:
        """The ways of a receipt the wall screen offers: switched on in ``[receipts]``, and
        with the printer or mail server they need."""
        ready = {"print": self.printer is not None, "email": self.email is not None, "qr": True}
        return [m for m in METHODS if self.offered.allows(m) and ready[m]]

    def receipt(self, drop_id: str | None, how: str, address: str | None = None) -> dict[str, Any]:
        """Deliver a drop's receipt as the patron chose (``print``, ``email``, ``qr``); a way
        the site switched off is refused (:class:`sorter.receipts.ReceiptNotOffered`).

        The address is used for this one message: it is not kept, logged, or told in
        any event."""
        receipt = self.drop_receipt(drop_id)
        answer = deliver_receipt(
            receipt,
            how,
            self.printer,
            self.email,
            address,
            offered=self.offered,
            printer_lock=self.printer_lock,
        )
        if answer.get("delivered") is False:
            self.bus.publish("receipt_failed", method=how, message=answer["message"])
        else:
            self.bus.publish("receipt", method=how)
        return answer
