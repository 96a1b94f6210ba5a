"""Tags at a kiosk that look cloned or forged, and item ids the ILS keeps not knowing.

- **Cloned tag.** An item's tag has one UID, burnt in at the factory; its data
  (the item id) can be copied onto any blank tag. So the same item id (and set
  part) seen on a second UID means a copy exists: ``cloned_tag`` with both UIDs.
  A tag replaced by staff shows the same way once; a copy shows every time the
  two alternate. Item ids are remembered with their UID up to ``remembered``
  (the oldest forgotten first), so a flood of made-up ids costs bounded memory.
- **Data not as muontra writes it.** Memory that decodes to no known model, or an
  ISO 28560-3 block whose CRC does not match: ``tag_data_mismatch`` with a
  ``detail`` code. A blank tag is new stock, not a forgery, and is not reported.
- **Unknown item, again and again.** One unknown item id is a typo in the
  catalogue; the same one laid ``repeats`` times within ``window`` seconds is
  someone probing with forged tags: ``unknown_item_repeated``.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat

__all__ = ["MAX_UNKNOWN_ITEMS", "TagWatch", "mismatch_detail"]

MAX_UNKNOWN_ITEMS = 1024
"""Unknown item ids whose sightings are counted at once."""
MAX_SIGHTINGS = 100
"""Sightings of one unknown item id remembered (the count in the event stops there)."""


def mismatch_detail(error: str) -> str | None:
    """The ``detail`` code of a tag that did not decode; None for a blank tag (new stock)."""
    text = error.lower()
    if "blank" in text:
        return None
    if "unknown data model" in text:
        return "unknown_model"
    return "corrupt_data"


class TagWatch:
    """Remembers item ids with their tag UIDs; not thread-safe (called under the engine's lock)."""

    def __init__(
        self,
        reporter: SecurityReporter,
        *,
        remembered: int,
        repeats: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reporter = reporter
        self.remembered = remembered
        self.repeats = repeats
        self.window = window
        self.clock = clock
        self._uids: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._unknown: OrderedDict[str, deque[float]] = OrderedDict()

    def seen(self, item_id: str, part: int, uid: bytes, owner: str = "") -> None:
        """A tag carrying ``item_id`` (part ``part`` of its set, of library ``owner``)
        read on ``uid``."""
        key = (owner, item_id, part)
        known = self._uids.get(key)
        if known is not None and known != uid:
            self.reporter.report(
                Threat.CLONED_TAG,
                Severity.CRITICAL,
                ("item", item_id),
                item_id=item_id,
                uid=uid.hex().upper(),
                other_uid=known.hex().upper(),
            )
        self._uids[key] = uid
        self._uids.move_to_end(key)
        while len(self._uids) > self.remembered:
            self._uids.popitem(last=False)

    def undecodable(self, uid: bytes, error: str) -> None:
        """A tag whose memory did not decode (``error`` is the decoder's reason)."""
        detail = mismatch_detail(error)
        if detail is not None:
            self.mismatch(uid, detail)

    def mismatch(self, uid: bytes, detail: str) -> None:
        """A tag whose data is not what muontra writes (``detail``: a code)."""
        self.reporter.report(
            Threat.TAG_DATA_MISMATCH,
            Severity.WARNING,
            ("uid", uid),
            uid=uid.hex().upper(),
            detail=detail,
        )

    def unknown_item(self, item_id: str) -> None:
        """The ILS answered that it does not know ``item_id``."""
        now = self.clock()
        times = self._unknown.pop(item_id, None)
        if times is None:
            times = deque(maxlen=max(self.repeats, MAX_SIGHTINGS))
        times.append(now)
        self._unknown[item_id] = times  # the most recent last
        while times and now - times[0] >= self.window:
            times.popleft()
        while len(self._unknown) > MAX_UNKNOWN_ITEMS:
            self._unknown.popitem(last=False)
        if len(times) >= self.repeats:
            self.reporter.report(
                Threat.UNKNOWN_ITEM_REPEATED,
                Severity.WARNING,
                ("item", item_id),
                item_id=item_id,
                count=len(times),
            )
