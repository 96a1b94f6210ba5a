"""Rows of the stack list, built from the engine's ``item`` events.

A row is keyed by item id (or tag UID when the tag could not be read) so the
``processing`` event and the outcome that follows land on the same line, and
a set completed after a ``missing_part`` prompt turns that prompt green.
Texts stay in both languages until shown: a language switch mid-session
re-renders every row without asking the engine again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ui.i18n import tr

SUCCESS = {"checked_out", "offline_checked_out", "returned", "offline_returned", "renewed"}
PROMPTS = {"missing_part", "reposition", "tag_unreadable", "security_failed", "item_waiting"}
"""Outcomes the patron can fix at the pad: shown as a prompt, not as a refusal."""

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SIP_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")


def format_due(raw: object, language: str) -> str:
    """A SIP2 due date ("20261217    235959") as a patron reads it; anything else as sent."""
    text = str(raw or "").strip()
    match = SIP_DATE.match(text)
    if not match:
        return text
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        return text
    if language == "en":
        return f"{day} {MONTHS[month - 1]} {year}"
    return f"{day:02d}/{month:02d}/{year}"


@dataclass(frozen=True, slots=True)
class ItemRow:
    key: str
    kind: str
    outcome: str
    title: str
    message: dict[str, str]
    due_date: str
    ils_message: str
    alert: dict[str, str] | None
    time: float

    @property
    def state(self) -> str:
        if self.outcome == "processing":
            return "processing"
        if self.outcome in SUCCESS:
            return "alert" if self.alert else "ok"
        if self.outcome in PROMPTS:
            return "attention"
        return "failed"

    def render(self, language: str) -> dict[str, Any]:
        """The row as QML shows it, in one language."""
        if self.outcome == "processing":
            text = tr("processing", language)
        else:
            text = self.message.get(language) or self.message.get("vi") or self.outcome
        due = format_due(self.due_date, language)
        detail = ""
        if self.alert:
            detail = self.alert.get(language, "")
        elif self.state == "failed" and self.ils_message:
            detail = self.ils_message
        return {
            "key": self.key,
            "title": self.title or self.key,
            "text": text,
            "due": tr("due", language, date=due) if due and self.state != "failed" else "",
            "detail": detail,
            "state": self.state,
        }


def row_from_event(event: dict[str, Any], previous: ItemRow | None) -> ItemRow:
    """Merge an ``item`` event into the row it updates (a title seen earlier is kept)."""
    key = str(event.get("item_id") or event.get("uid") or "?")
    message = event.get("message")
    alert = event.get("alert")
    row = ItemRow(
        key=key,
        kind=str(event.get("kind", "checkout")),
        outcome=str(event.get("outcome", "")),
        title=str(event.get("title") or ""),
        message=message if isinstance(message, dict) else {},
        due_date=str(event.get("due_date") or ""),
        ils_message=str(event.get("ils_message") or ""),
        alert=alert if isinstance(alert, dict) else None,
        time=float(event.get("time") or 0.0),
    )
    if previous is not None and not row.title:
        row = replace(row, title=previous.title)
    return row
