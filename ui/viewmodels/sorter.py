"""The return machine's wall screen: which screen, what it lists, what a touch sends.

Like the kiosk's viewmodel it decides nothing about circulation: the sorter
checks each item in, picks its bin and sends the patron's words in both
languages; this class follows its ``item``, ``bins``, ``state`` and
``exception`` events and turns touches into the commands of the sorter's local
API (``drop_begin``, ``drop_end``, ``receipt``, ``empty_bin``, ``pause`` …).
It runs on one thread (the GUI thread), and ``send`` is its only way out, so a
test drives it with a fake or over a real socket alike.

A drop is one patron's visit: the screen opens one as soon as the machine can
take items (or adopts the one the sorter already has open after a restart of
the screen), lists every item of it, and ends it when the patron asks for a
receipt, says "done", or walks away (the QML timer calls :meth:`drop_timeout`).
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ui.i18n import CATALOG, LANGUAGES, table, tr
from ui.viewmodels.staff import StaffGate, Verdict

log = logging.getLogger(__name__)

Message = dict[str, Any]
Send = Callable[[str, Message, Callable[[Message], None] | None], None]

PATRON_SCREENS = {"drop", "receipt", "receipt_email", "receipt_qr", "thanks"}
STAFF_SCREENS = {"staff_pin", "staff", "staff_exceptions", "staff_report"}
# Receipt screens stay up when the machine pauses or closes its intake behind the
# patron: the items already in are theirs to have a receipt for.
RECEIPT_SCREENS = {"receipt", "receipt_email", "receipt_qr", "thanks"}
RECEIPT_WAYS = ("print", "email", "qr")
PAUSED_STATES = {"paused", "stopped", "plc_lost", "starting"}
# Exceptions the patron is told "Returned — thank you" for: the item is checked in
# (or will be, once a late ILS answers); it only needs staff's hands afterwards.
# Shown green, like a sorted item, so nobody queues at the desk for nothing.
RETURNED_REASONS = {"security_not_verified", "bin_full", "late_ils"}
# A second read of an item already received: not a failure, nothing to fix.
NOTICE_REASONS = {"already_sorted"}
# The screens that speak both languages at once: (title, hint) in the catalogue.
NOTICES = {
    "closed": ("sorter_closed_title", "sorter_closed_hint"),
    "paused": ("sorter_paused_title", "sorter_paused_hint"),
    "out_of_service": ("out_of_service", "sorter_out_of_service_hint"),
}
PIN_LENGTH = 8
EMAIL_LENGTH = 80
EMAIL_KEYS = set("abcdefghijklmnopqrstuvwxyz0123456789@.-_+")


@dataclass(frozen=True, slots=True)
class DropRow:
    """One item of the current drop, as the sorter's ``item`` event described it."""

    item_id: str
    title: str
    outcome: str
    reason: str
    text: dict[str, str]
    ils_message: str
    bin: str

    @property
    def state(self) -> str:
        if self.outcome == "sorted" or self.reason in RETURNED_REASONS:
            return "ok"
        if self.reason in NOTICE_REASONS:
            return "attention"
        return "failed"

    def render(self, language: str) -> Message:
        text = self.text.get(language) or self.text.get("vi") or tr("sorter_returned", language)
        return {
            "key": self.item_id,
            "title": self.title or self.item_id,
            "text": text,
            # The ILS's own words (its AF field) say why a return was refused; as sent.
            "detail": self.ils_message if self.state != "ok" else "",
            "due": "",  # the kiosk's row shape, so its ItemList draws these rows too
            "state": self.state,
        }


def row_from_event(event: Message) -> DropRow:
    text = event.get("text")
    return DropRow(
        item_id=str(event.get("item_id") or "?"),
        title=str(event.get("title") or ""),
        outcome=str(event.get("outcome") or ""),
        reason=str(event.get("reason") or ""),
        text={k: str(v) for k, v in text.items()} if isinstance(text, dict) else {},
        ils_message=str(event.get("ils_message") or ""),
        bin=str(event.get("bin") or ""),
    )


def format_time(raw: object, language: str) -> str:
    """An ISO time as staff read it (the sorter's own clock, shown as sent, no zone shift)."""
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return str(raw or "")
    if language == "en":
        return when.strftime("%H:%M, %d %b")
    return when.strftime("%H:%M, %d/%m")


def _count(value: object) -> int:
    """A count or capacity as sent; 0 for anything that is not a whole, sane number."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e12:
        return max(0, int(value))
    return 0


def _entries(value: object) -> list[Message]:
    """The dict entries of a list the daemon sent (bins, exceptions, report lines)."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _result(answer: Message) -> Message:
    """An answer's result when it is the object the contract promises, else empty."""
    result = answer.get("result")
    return result if isinstance(result, dict) else {}


def _error(answer: Message) -> Message:
    error = answer.get("error")
    return error if isinstance(error, dict) else {}


def _two_languages(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items() if isinstance(k, str)}
    return {}


class SorterViewModel:
    def __init__(self, send: Send, staff: StaffGate | None = None) -> None:
        self._send = send
        self.staff_gate = staff or StaffGate(None)
        self.listeners: list[Callable[[], None]] = []
        self.connected = False
        self.language = "vi"
        self.screen = "drop"
        self.status: Message = {}
        self.drop_id: str | None = None
        self.rows: list[DropRow] = []
        self.message: dict[str, str] | None = None
        self.email = ""
        self.qr_svg = ""
        self.busy = False
        self.pin = ""
        self.exceptions: list[Message] = []
        self.report: list[Message] = []
        self.confirm_bin: str | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def _request(
        self, cmd: str, args: Message | None = None, then: Callable[[Message], None] | None = None
    ) -> None:
        self._send(cmd, args or {}, then)

    def _refusal(self, answer: Message) -> None:
        error = _error(answer)
        fallback = str(error.get("code") or "?")
        self.message = {
            "vi": str(error.get("vi") or error.get("en") or fallback),
            "en": str(error.get("en") or error.get("vi") or fallback),
        }

    def _say(self, key: str, **values: object) -> None:
        self.message = {lang: tr(key, lang, **values) for lang in LANGUAGES}

    # --- what QML sees ----------------------------------------------------------------------

    @property
    def machine_state(self) -> str:
        return str(self.status.get("state") or "starting")

    @property
    def visible_screen(self) -> str:
        if not self.connected:
            return "out_of_service"
        if self.screen in STAFF_SCREENS or self.screen in RECEIPT_SCREENS:
            return self.screen
        state = self.machine_state
        if state == "intake_closed" or (state == "running" and not self._intake_open()):
            return "closed"
        if state in PAUSED_STATES:
            return "paused"
        return self.screen

    def _intake_open(self) -> bool:
        return bool(self.status.get("intake_open", True))

    def texts(self) -> dict[str, str]:
        return table(self.language)

    def rendered_rows(self) -> list[Message]:
        """Newest first: the item just dropped is the one the patron looks for."""
        return [row.render(self.language) for row in reversed(self.rows)]

    def snapshot(self) -> Message:
        lang = self.language
        returned = sum(1 for r in self.rows if r.state == "ok")
        to_staff = sum(1 for r in self.rows if r.state == "failed")
        state = self.machine_state
        return {
            "screen": self.visible_screen,
            "connected": self.connected,
            "language": lang,
            "message": (self.message or {}).get(lang, ""),
            "busy": self.busy,
            "has_items": bool(self.rows),
            "count": tr("sorter_count", lang, count=returned) if self.rows else "",
            "to_staff": tr("sorter_to_staff", lang, count=to_staff) if to_staff else "",
            "email": self.email,
            "qr": self.qr_svg,
            "receipts": self._receipt_ways(),
            "pin_dots": "●" * len(self.pin),
            "staff_available": self.staff_gate.available,
            "machine": self._machine_view(),
            "bins": self._bins_view(),
            "exceptions": self._exceptions_view(),
            "report": self._report_view(),
            "confirm": self._confirm_view(),
            "paused": state == "paused",
            "notice": self._notice(),
            # The sorter's own words about its state (a jam, a lost controller), for staff.
            "machine_note": _two_languages(self.status.get("text")).get(lang, ""),
            "exceptions_label": tr("sorter_exceptions_n", lang, count=len(self.exceptions)),
            "report_label": tr("sorter_report_n", lang, count=len(self.report)),
        }

    def _receipt_ways(self) -> list[str]:
        """The ways of a receipt to offer: the sorter's ``receipts`` (what the site switched
        on and the machine can do); all three from a sorter that does not say."""
        ways = self.status.get("receipts")
        if not isinstance(ways, list):
            return list(RECEIPT_WAYS)
        return [way for way in RECEIPT_WAYS if way in ways]

    def _notice(self) -> Message:
        """Closed, paused or out of reach, in both languages at once (Vietnamese first):
        the patron in front of it may not have chosen a language."""
        screen = self.visible_screen
        if screen not in NOTICES:
            return {"title": [], "hint": [], "extra": ""}
        title, hint = NOTICES[screen]
        if screen == "paused" and self.machine_state == "starting":
            title = "sorter_starting"
        return {
            "title": [tr(title, lang) for lang in LANGUAGES],
            "hint": [tr(hint, lang) for lang in LANGUAGES],
            "extra": " / ".join(tr("reconnecting", lang) for lang in LANGUAGES)
            if screen == "out_of_service"
            else "",
        }

    def _bin_name(self, bin_id: str) -> str:
        for entry in _entries(self.status.get("bins")):
            if str(entry.get("id")) == bin_id:
                name = _two_languages(entry.get("name"))
                return name.get(self.language) or name.get("vi") or bin_id
        return bin_id

    def _machine_view(self) -> list[Message]:
        s = self.status
        if not s:
            return []
        lang = self.language
        state = self.machine_state
        link_ok = s.get("link", "ok") == "ok"
        drop = s.get("drop") if isinstance(s.get("drop"), dict) else None

        def row(label: str, value: str, good: bool = True) -> Message:
            return {"label": tr(label, lang), "value": value, "good": good}

        return [
            row(
                "sorter_state",
                tr("sorter_state_" + state, lang) if "sorter_state_" + state in CATALOG else state,
                state == "running",
            ),
            row(
                "sorter_belt",
                tr(
                    "sorter_belt_running" if s.get("belt") == "running" else "sorter_belt_stopped",
                    lang,
                ),
                s.get("belt") == "running",
            ),
            row(
                "sorter_plc", tr("sorter_link_ok" if link_ok else "sorter_link_lost", lang), link_ok
            ),
            row(
                "sorter_intake",
                tr("sorter_intake_open" if self._intake_open() else "sorter_intake_shut", lang),
                self._intake_open(),
            ),
            row(
                "status_ils",
                tr("online" if s.get("ils_online") else "offline", lang),
                bool(s.get("ils_online")),
            ),
            row("status_queue", str(s.get("queue", 0)), not s.get("queue")),
            row("sorter_drop", str(drop.get("items", 0)) if drop else "–"),
        ]

    def _bins_view(self) -> list[Message]:
        lang = self.language
        bins = []
        for entry in _entries(self.status.get("bins")):
            count = _count(entry.get("count"))
            capacity = _count(entry.get("capacity"))
            role = str(entry.get("role") or "normal")
            bins.append(
                {
                    "id": str(entry.get("id")),
                    "name": self._bin_name(str(entry.get("id"))),
                    "count": count,
                    "capacity": capacity,
                    "level": min(1.0, count / capacity) if capacity > 0 else 0.0,
                    "fill": tr("sorter_fill", lang, count=count, capacity=capacity),
                    "full": bool(entry.get("full")),
                    "role": tr("sorter_role_" + role, lang)
                    if "sorter_role_" + role in CATALOG
                    else "",
                }
            )
        return bins

    def _exceptions_view(self) -> list[Message]:
        lang = self.language
        return [
            {
                # An unreadable tag has no item id and no title: say what is known.
                "label": f"{e['title']}  ({e.get('item_id') or '?'})"
                if e.get("title")
                else str(e.get("item_id") or "?"),
                "item_id": str(e.get("item_id") or ""),
                "text": _two_languages(e.get("text")).get(lang) or str(e.get("reason") or ""),
                "where": tr(
                    "sorter_in_bin",
                    lang,
                    bin=self._bin_name(str(e.get("bin") or "")),
                    when=format_time(e.get("at"), lang),
                ),
            }
            for e in self.exceptions
        ]

    def _report_view(self) -> list[Message]:
        lang = self.language
        return [
            {
                "item_id": str(line.get("item_id") or ""),
                "text": _two_languages(line.get("text")).get(lang) or "",
                "bin": self._bin_name(str(line.get("bin") or "")),
            }
            for line in self.report
        ]

    def _confirm_view(self) -> Message:
        if self.confirm_bin is None or self.visible_screen != "staff":
            return {"shown": False, "text": ""}
        count = next((b["count"] for b in self._bins_view() if b["id"] == self.confirm_bin), 0)
        return {
            "shown": True,
            "text": tr(
                "sorter_confirm_empty",
                self.language,
                bin=self._bin_name(self.confirm_bin),
                count=count,
            ),
        }

    # --- the connection -----------------------------------------------------------------------

    def connection(self, up: bool) -> None:
        self.connected = up
        self.busy = False
        if up:
            self._request("status", {}, self._on_status_after_connect)
        self._changed()

    def _on_status_after_connect(self, answer: Message) -> None:
        if not answer.get("ok") or not isinstance(answer.get("result"), dict):
            return
        self._apply_status(answer["result"])
        drop = self.status.get("drop")
        if self.screen in RECEIPT_SCREENS:
            # The patron's drop is ended and its receipt pending: keep its id, whatever
            # the sorter opened since; the next drop begins when the patron is done.
            pass
        elif isinstance(drop, dict) and drop.get("id"):
            # The sorter kept the drop while the screen was away: carry on with it.
            if str(drop["id"]) != self.drop_id:
                self.rows = []
            self.drop_id = str(drop["id"])
        else:
            self.drop_id = None
            self.rows = []
            self._begin_drop()
        self._changed()

    def _apply_status(self, status: Message) -> None:
        self.status = dict(status)
        language = status.get("language")
        if language in LANGUAGES:
            self.language = str(language)

    def _begin_drop(self) -> None:
        def answered(answer: Message) -> None:
            if answer.get("ok"):
                self.drop_id = str(_result(answer).get("drop") or "") or None
            else:
                log.warning("the sorter refused a new drop: %s", _error(answer).get("code"))
            self._changed()

        self._request("drop_begin", {}, answered)

    # --- patron touches -----------------------------------------------------------------------

    def choose_language(self, language: str) -> None:
        if language not in LANGUAGES:
            return
        self.language = language
        self._request("language", {"lang": language})
        self._changed()

    def finish(self, want_receipt: bool) -> None:
        """The patron is done: end the drop, then the receipt choice or a thank-you."""
        drop = self.drop_id
        self.message = None
        self.busy = True
        # A site that switched every way of a receipt off gets its thank-you: a choice
        # screen with nothing to choose would only strand the patron.
        offered = want_receipt and bool(self._receipt_ways())
        self.screen = "receipt" if offered else "thanks"

        def answered(answer: Message) -> None:
            self.busy = False
            if not answer.get("ok"):
                self._refusal(answer)
            self._changed()

        self._request("drop_end", {"drop": drop} if drop else {}, answered)
        self._changed()

    def drop_timeout(self) -> None:
        """Nobody touched the screen for a while after the last item: the patron has gone."""
        if self.screen == "drop" and self.rows:
            self.finish(want_receipt=False)
            self.home()
        elif self.screen in RECEIPT_SCREENS:
            self.home()

    def receipt(self, how: str) -> None:
        if how == "email" and self.screen != "receipt_email":
            self.screen = "receipt_email"
            self.message = None
            self._changed()
            return
        args: Message = {"drop": self.drop_id, "how": how}
        if how == "email":
            if "@" not in self.email.strip("@"):
                self._say("sorter_email_invalid")
                self._changed()
                return
            args["email"] = self.email
        self.busy = True
        self.message = None

        def answered(answer: Message) -> None:
            self.busy = False
            result = _result(answer)
            if not answer.get("ok"):
                # A patron reads "choose another way" in their language, not the daemon's
                # technical refusal (which may exist in English only); a way the site
                # switched off comes with the sorter's reason in both languages.
                error = _error(answer)
                log.info("the sorter refused a receipt: %s", error.get("code"))
                if error.get("code") == "receipt_not_offered" and error.get("vi"):
                    self._refusal(answer)
                else:
                    self._say("receipt_failed")
                self.screen = "receipt"
            elif how == "qr" and result.get("svg"):
                svg = str(result["svg"]).encode()
                self.qr_svg = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
                self.screen = "receipt_qr"
            elif result.get("delivered") is False:
                self._say("receipt_failed")
                self.screen = "receipt"
            else:
                self.screen = "thanks"
            self._changed()

        self._request("receipt", args, answered)
        self._changed()

    def receipt_back(self) -> None:
        """From the e-mail keyboard back to the choice of receipt (the drop stays ended)."""
        if self.screen == "receipt_email":
            self.screen = "receipt"
            self.message = None
            self._changed()

    def email_key(self, key: str) -> None:
        if key == "⌫":
            self.email = self.email[:-1]
        elif len(self.email) < EMAIL_LENGTH and key in EMAIL_KEYS:
            self.email += key
        self._changed()

    def home(self) -> None:
        """Back to an empty drop screen with a new drop open (thanks, QR seen, Finish)."""
        self.screen = "drop"
        self.rows = []
        self.message = None
        self.email = ""
        self.qr_svg = ""
        self.busy = False
        self.drop_id = None
        if self.connected:
            self._begin_drop()
        self._changed()

    # --- staff ---------------------------------------------------------------------------------

    def staff_open(self) -> None:
        self.message = None
        if not self.staff_gate.available:
            self._say("staff_disabled")
        else:
            self.screen = "staff_pin"
            self.pin = ""
            if self.staff_gate.locked_for():
                self._say(Verdict.LOCKED.value, seconds=self.staff_gate.locked_for())
        self._changed()

    def pin_key(self, key: str) -> None:
        if key == "⌫":
            self.pin = self.pin[:-1]
        elif key.isdigit() and len(self.pin) < PIN_LENGTH:
            self.pin += key
        self._changed()

    def pin_clear(self) -> None:
        self.pin = ""
        self._changed()

    def staff_submit(self) -> None:
        pin, self.pin = self.pin, ""
        verdict = self.staff_gate.attempt(pin)
        if verdict is Verdict.OK:
            self.screen = "staff"
            self.message = None
            self.staff_refresh()
        else:
            self._say(verdict.value, seconds=self.staff_gate.locked_for())
        self._changed()

    def staff_refresh(self) -> None:
        def status(answer: Message) -> None:
            if answer.get("ok") and isinstance(answer.get("result"), dict):
                self._apply_status(answer["result"])
            self._changed()

        def exceptions(answer: Message) -> None:
            if answer.get("ok") and isinstance(answer.get("result"), dict):
                self.exceptions = _entries(_result(answer).get("items"))
            self._changed()

        def report(answer: Message) -> None:
            if answer.get("ok") and isinstance(answer.get("result"), dict):
                self.report = _entries(_result(answer).get("lines"))
            self._changed()

        self._request("status", {}, status)
        self._request("exceptions", {"limit": 200}, exceptions)
        self._request("staff_report", {}, report)

    def staff_show(self, screen: str) -> None:
        if screen in ("staff", "staff_exceptions", "staff_report") and self.screen in STAFF_SCREENS:
            self.screen = screen
            self.message = None
            self._changed()

    def ask_empty(self, bin_id: str) -> None:
        self.confirm_bin = bin_id or None
        self.message = None
        self._changed()

    def cancel_empty(self) -> None:
        self.confirm_bin = None
        self._changed()

    def confirm_empty(self) -> None:
        bin_id, self.confirm_bin = self.confirm_bin, None
        if bin_id is None:
            return
        name = self._bin_name(bin_id)
        self.busy = True

        def answered(answer: Message) -> None:
            self.busy = False
            if answer.get("ok"):
                result = _result(answer)
                key = "sorter_emptied" if result.get("printed") else "sorter_emptied_unprinted"
                self._say(key, bin=name, count=_count(result.get("items")))
                self.staff_refresh()
            else:
                self._refusal(answer)
            self._changed()

        self._request("empty_bin", {"bin": bin_id}, answered)
        self._changed()

    def staff_pause(self, pause: bool) -> None:
        def answered(answer: Message) -> None:
            if not answer.get("ok"):
                self._refusal(answer)
            self.staff_refresh()
            self._changed()

        self._request("pause" if pause else "resume", {}, answered)

    def staff_exit(self) -> None:
        self.confirm_bin = None
        self.message = None
        self.pin = ""
        self.screen = "drop"
        if self.drop_id is None and self.connected:
            self._begin_drop()
        self._changed()

    # --- sorter events -------------------------------------------------------------------------

    def event(self, event: Message) -> None:
        name = str(event.get("event", ""))
        handler = getattr(self, "_on_" + name, None)
        if handler is not None:
            handler(event)
            self._changed()

    def _on_item(self, event: Message) -> None:
        if self.screen == "thanks":
            # Someone dropped an item while the last patron's thank-you was up: a new visit.
            self.home()
        row = row_from_event(event)
        # A later event for the same item (its checkin finished after a late ILS)
        # replaces its line rather than adding a second one.
        self.rows = [r for r in self.rows if r.item_id != row.item_id or row.item_id == "?"]
        self.rows.append(row)

    def _on_bins(self, event: Message) -> None:
        bins = event.get("bins")
        if isinstance(bins, list):
            self.status["bins"] = bins

    def _on_state(self, event: Message) -> None:
        for key, value in event.items():
            if key not in ("event", "seq", "time"):
                self.status[key] = value
        language = event.get("language")
        if language in LANGUAGES:
            self.language = str(language)

    def _on_exception(self, event: Message) -> None:
        entry = {k: v for k, v in event.items() if k not in ("event", "seq", "time")}
        self.exceptions.insert(0, entry)
        del self.exceptions[200:]

    def _on_staff_report(self, event: Message) -> None:
        """A finding the sorter made just now (a replay found a hold, items set aside)."""
        entry = {k: v for k, v in event.items() if k not in ("event", "seq", "time")}
        self.report.append(entry)
        del self.report[:-200]

    def _on_language(self, event: Message) -> None:
        language = event.get("lang") or event.get("language")
        if language in LANGUAGES:
            self.language = str(language)

    def _on_ready(self, event: Message) -> None:
        self._request("status", {}, self._on_status_after_connect)
