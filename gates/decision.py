"""Whether a tag seen at the gate should alarm: pure logic, no I/O, no clock.

A gate sees the same tag in dozens of inventory rounds while a patron walks
through, so the decision works per *pass*: a tag not seen for ``pass_window``
seconds starts a new pass, and each pass alarms at most once. The site's
security policy decides what "secured" means; what kiosks reported adds to it:

- an item checked out in the last ``grace_minutes`` does not alarm even if its
  tag still reads secured (a kiosk that is slow to write the AFI);
- an item whose security write failed after checkout alarms with a reason
  saying so, so staff do not stop the patron as a thief but fix the tag;
- an item reported missing alarms whatever its tag says.

Time is passed in (seconds, any clock as long as it is the same for every
call), which keeps the rules testable without sleeping.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from protocols.tags import SecurityPolicy

log = logging.getLogger(__name__)


class AlarmReason(enum.StrEnum):
    SECURED = "secured"
    """The tag reads secured: the item was not checked out."""
    KIOSK_WRITE_FAILED = "kiosk_write_failed"
    """Checked out at a kiosk, but the kiosk could not release the tag."""
    REPORTED_MISSING = "reported_missing"


TEXTS: dict[AlarmReason, tuple[str, str]] = {
    AlarmReason.SECURED: ("tài liệu chưa được mượn", "item is not checked out"),
    AlarmReason.KIOSK_WRITE_FAILED: (
        "ghi bảo mật ở máy mượn thất bại — tài liệu đang được mượn",
        "kiosk security write failed — item is on loan",
    ),
    AlarmReason.REPORTED_MISSING: ("tài liệu đã được báo mất", "reported missing"),
}


@dataclass(frozen=True, slots=True)
class Alarm:
    uid: bytes
    item_id: str | None
    """None when the tag's data could not be read (yet) or its model is unknown."""
    reason: AlarmReason
    vi: str
    en: str
    time: float

    @property
    def uid_hex(self) -> str:
        return self.uid.hex().upper()


@dataclass(slots=True)
class _Pass:
    last_seen: float
    alarmed: bool = False


class GateDecider:
    """The alarm rules of one gate, fed every tag of every inventory round."""

    def __init__(
        self, policy: SecurityPolicy, pass_window: float = 3.0, grace_minutes: float = 0
    ) -> None:
        if pass_window <= 0:
            raise ValueError(f"pass_window must be more than 0 seconds, not {pass_window}")
        if grace_minutes < 0:
            raise ValueError(f"grace_minutes must not be negative, not {grace_minutes}")
        self.policy = policy
        self.pass_window = pass_window
        self.grace_seconds = grace_minutes * 60.0
        self._passes: dict[bytes, _Pass] = {}
        self._checked_out: dict[str, float] = {}
        self._write_failed: set[str] = set()
        self._missing: set[str] = set()
        self._pruned = float("-inf")

    # --- what kiosks and staff report ----------------------------------------------------

    def checked_out(self, item_id: str, when: float) -> None:
        """A kiosk lent the item at ``when``: its security was released."""
        self._write_failed.discard(item_id)
        if self.grace_seconds > 0:
            self._checked_out[item_id] = when

    def kiosk_write_failed(self, item_id: str) -> None:
        """A kiosk lent the item but its tag still reads secured."""
        self._write_failed.add(item_id)

    def missing(self, item_id: str) -> None:
        self._missing.add(item_id)

    def returned(self, item_id: str) -> None:
        """The item is back in the library: earlier reports about it no longer hold."""
        self._checked_out.pop(item_id, None)
        self._write_failed.discard(item_id)

    def found(self, item_id: str) -> None:
        self._missing.discard(item_id)

    # --- what the readers see -------------------------------------------------------------

    def needs_item_id(self, now: float) -> bool:
        """Whether any rule depends on the item id, so a tag must be read before deciding.

        Usually nothing is reported and the decision rests on AFI / EAS alone:
        the gate then alarms without reading the tag's memory first.
        """
        self._prune(now)
        return bool(self._write_failed or self._missing or self._checked_out)

    def watches_every_tag(self) -> bool:
        """Whether a tag may alarm whatever its security says (an item reported missing):
        then a round filtered on the secured AFI would not hear it."""
        return bool(self._missing)

    def alarmed_in_pass(self, uid: bytes, now: float) -> bool:
        """True while ``uid`` is in a pass that already alarmed (nothing more to decide)."""
        current = self._passes.get(uid)
        return (
            current is not None and current.alarmed and now - current.last_seen <= self.pass_window
        )

    def seen(
        self, uid: bytes, afi: int | None, eas: bool | None, item_id: str | None, now: float
    ) -> Alarm | None:
        """The alarm this sighting raises, or None (not alarming, or already alarmed this pass)."""
        self._prune(now)
        current = self._passes.get(uid)
        if current is None or now - current.last_seen > self.pass_window:
            current = self._passes[uid] = _Pass(now)
        current.last_seen = max(current.last_seen, now)
        if current.alarmed:
            return None
        reason = self._reason(afi, eas, item_id, now)
        if reason is None:
            return None
        current.alarmed = True
        vi, en = TEXTS[reason]
        return Alarm(uid, item_id, reason, vi, en, now)

    def _reason(
        self, afi: int | None, eas: bool | None, item_id: str | None, now: float
    ) -> AlarmReason | None:
        if item_id is not None and item_id in self._missing:
            return AlarmReason.REPORTED_MISSING
        if not self.policy.alarms(afi, eas):
            return None
        if item_id is not None:
            if item_id in self._write_failed:
                return AlarmReason.KIOSK_WRITE_FAILED
            lent = self._checked_out.get(item_id)
            if lent is not None and 0 <= now - lent <= self.grace_seconds:
                return None
        return AlarmReason.SECURED

    def _prune(self, now: float) -> None:
        """Forget passes and grace periods that are over, at most once per pass window."""
        if now - self._pruned < self.pass_window:
            return
        self._pruned = now
        for uid in [u for u, p in self._passes.items() if now - p.last_seen > self.pass_window]:
            del self._passes[uid]
        for item in [i for i, t in self._checked_out.items() if now - t > self.grace_seconds]:
            del self._checked_out[item]
