"""Why an item went to the exception bin: one enum, recorded with every exception.

The values are stable identifiers (they go into the journal, MQTT events and the
CSV manifest), so a value is never renamed; the words people read are in
:mod:`sorter.texts`, in Vietnamese and English.
"""

from __future__ import annotations

from enum import StrEnum


class ExceptionReason(StrEnum):
    """Why an item was sent to the exception bin instead of a sorted bin."""

    UNREADABLE_TAG = "unreadable_tag"
    """No tag, a tag that did not read, or a blank tag (no item id)."""
    NOT_OURS = "not_ours"
    """The tag names an owner library that is not one of this site's."""
    INCOMPLETE_SET = "incomplete_set"
    """A part of a multi-part item came without the others."""
    ILS_REFUSED = "ils_refused"
    """The ILS answered the checkin with ok = 0 (its AF text says why)."""
    ILS_ERROR = "ils_error"
    """The ILS gave no usable answer: a broken link, a garbled message, an error."""
    SECURITY_NOT_VERIFIED = "security_not_verified"
    """The security bit (AFI/EAS) was written but did not read back as set."""
    ALREADY_SORTED = "already_sorted"
    """The item was already sorted in this drop: a second read of the same tag."""
    BIN_FULL = "bin_full"
    """Its bin and every overflow bin behind it are full."""
    LATE_ILS = "late_ils"
    """The ILS answered after the decision deadline; the checkin is finished afterwards."""
