"""Verified security writes: write, read back, retry — then a definite answer.

An AFI or EAS write can be cut short (the patron lifts the book), refused (AFI
locked) or acknowledged by a tag that kept nothing. The kiosk must know which:
an ILS loan with a tag still secured makes the gate alarm on an honest patron,
and the reverse lets a book walk out. So every change is read back from the
tag, and the result says either "verified" with what the tag now holds, or
"failed" with why — never "probably".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drivers.interfaces import DeviceError, TagError, TagNotFound, TagReader
from protocols.tags.security import SecurityPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SecurityResult:
    verified: bool
    secured: bool
    """What was asked for."""
    attempts: int
    afi: int | None = None
    """The AFI read back (None when the policy does not use AFI or it could not be read)."""
    eas: bool | None = None
    reason: str = ""
    """Why it failed: "tag left the field", "AFI is locked", "tag did not keep the write", …"""

    @property
    def tag_gone(self) -> bool:
        return not self.verified and self.reason == TAG_GONE


TAG_GONE = "tag left the field"
AFI_LOCKED = 0x12
"""ISO 15693 error code: the block (here the AFI) is locked."""
NOT_SUPPORTED = 0x01
"""ISO 15693 error code: command not supported — by the tag, or by a reader that cannot
send it at all (a PC/SC reader without transparent exchange). Retrying will not help."""


def read_security(
    reader: TagReader, uid: bytes, policy: SecurityPolicy
) -> tuple[int | None, bool | None]:
    """The tag's AFI and EAS state, as far as the policy uses them."""
    afi = reader.system_info(uid).afi if policy.use_afi else None
    eas = reader.eas_alarm(uid) if policy.use_eas else None
    return afi, eas


def set_security(
    reader: TagReader, uid: bytes, policy: SecurityPolicy, secured: bool, attempts: int = 3
) -> SecurityResult:
    """Make the tag secured (on the shelf) or released (on loan), verified by reading back.

    The write goes out without reading the tag first: writing the value a tag
    already holds is harmless and costs what that read would have (one exchange,
    10-25 ms on a serial reader), so the usual case — a tag that must change —
    saves a round trip per item. The read-back decides, also for a locked AFI,
    which refuses even the value it already holds.
    """
    target_afi = policy.target_afi(secured)
    reason = ""
    afi: int | None = None
    eas: bool | None = None
    for attempt in range(1, attempts + 1):
        try:
            afi_locked = False
            if policy.use_afi:
                try:
                    reader.write_afi(uid, target_afi)
                except TagError as error:
                    if error.code != AFI_LOCKED:
                        raise
                    afi_locked = True
            if policy.use_eas:
                (reader.set_eas if secured else reader.reset_eas)(uid)
            afi, eas = read_security(reader, uid, policy)
            if policy.is_secured(afi, eas) is secured:
                return SecurityResult(True, secured, attempt, afi, eas)
            if afi_locked and afi != target_afi:
                reason = "AFI is locked"
                break  # a locked AFI will not unlock by retrying
            reason = "tag did not keep the write"
        except TagNotFound:
            reason = TAG_GONE
        except TagError as error:
            reason = f"tag refused: {error}"
            if error.code == NOT_SUPPORTED:
                log.info("security write attempt %d refused for good: %s", attempt, reason)
                break
        except DeviceError as error:
            reason = f"reader: {error}"
        log.info("security write attempt %d of %d failed: %s", attempt, attempts, reason)
    return SecurityResult(False, secured, attempt, afi, eas, reason)
