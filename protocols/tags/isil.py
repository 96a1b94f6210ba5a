"""Comparing ISILs (ISO 15511 library identifiers) as libraries write them on tags.

ISO 28560-3 and the Danish model store the owner library as country code and
the rest of the ISIL without the hyphen (``DK718500`` for ``DK-718500``;
TH Wildau's ISO28560 library drops it when it writes one), ISO 28560-2 keeps
it, and configurations are typed by hand in either case. ISO 15511 does not
let two ISILs differ only by case or by a hyphen, so both are dropped before
comparing: ``VNHN0001``, ``vn-hn0001`` and ``VN-HN0001`` are one library.
"""

from __future__ import annotations

from collections.abc import Iterable


def isil_key(isil: str) -> str:
    """The form two ISILs are compared in: upper case, no hyphens, no padding around."""
    return isil.strip().strip("\0").replace("-", "").upper()


def same_isil(first: str, second: str) -> bool:
    return bool(isil_key(first)) and isil_key(first) == isil_key(second)


def isil_keys(isils: Iterable[str]) -> frozenset[str]:
    """A site's own libraries, ready for ``isil_key(owner) in keys``."""
    return frozenset(key for isil in isils if (key := isil_key(isil)))
