"""SIP2 error detection: the AZ checksum.

The checksum is the two's complement of the 16-bit sum of every byte on the wire
from the first byte through the characters ``AZ``. It is computed over the
encoded bytes, never over code points: a server that summed code points broke
every message with a Vietnamese title.
"""

from __future__ import annotations


def checksum(data: bytes) -> str:
    """Four uppercase hex digits for ``data`` (the message through ``AZ``)."""
    return f"{-sum(data) & 0xFFFF:04X}"


def checksum_matches(data: bytes, digits: bytes | str) -> bool:
    """True when ``digits`` (any case) is the checksum of ``data``."""
    if isinstance(digits, bytes):
        digits = digits.decode("ascii", "replace")
    return checksum(data) == digits.upper()
