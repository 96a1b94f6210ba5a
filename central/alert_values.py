"""An alert's values: its key, and the changes the rules answer (raised, cleared, counted).

Apart from central/alerts.py so the rules of central/security_rules.py and the
evaluator there can both make them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlertKey", "Change", "Cleared", "Counted", "Raised"]


@dataclass(frozen=True, slots=True)
class AlertKey:
    rule: str
    site: str
    device: str
    subject: str = ""

    def text(self) -> str:
        # Site and device ids are clean topic levels (no '/'), so '/' separates unambiguously.
        return f"{self.rule}/{self.site}/{self.device}/{self.subject}"


@dataclass(frozen=True, slots=True)
class Raised:
    key: AlertKey
    time: float
    detail: str = ""
    severity: str | None = None
    """Set for a security alert only: "warning" or "critical"."""
    count: int = 1
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cleared:
    key: AlertKey
    time: float


@dataclass(frozen=True, slots=True)
class Counted:
    """An open security alert seen again: ``add`` to its count, or set it to ``total``."""

    key: AlertKey
    time: float
    add: int = 0
    total: int | None = None
    evidence: Mapping[str, Any] | None = None


Change = Raised | Cleared | Counted
