"""The kiosk screen's state machine: which screen, what it lists, what a touch sends.

It holds no circulation rules — the engine decides every outcome and sends
the patron's words in both languages; this class only follows the engine's
events and answers and turns touches into commands. Everything arrives on one
thread (the GUI thread, re-posted by the Qt adapter), so there are no locks.
``send(cmd, args, on_answer)`` is the only way out, which is why a test can
drive the whole screen with a fake.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from ui.i18n import LANGUAGES, table, tr
from ui.viewmodels.items import ItemRow, format_due, row_from_event
from ui.viewmodels.staff import StaffGate, Verdict

log = logging.getLogger(__name__)

Message = dict[str, Any]
Send = Callable[[str, Message, Callable[[Message], None] | None], None]

SESSION_SCREENS = {"pin", "checkout", "account", "receipt"}
STAFF_SCREENS = {"staff_pin", "staff"}
GOODBYE_REASONS = {
    "timeout": "goodbye_timeout",
    "card_removed": "goodbye_card_removed",
    "reset": "goodbye_reset",
}
PIN_LENGTH = 8
ID_LENGTH = 20


class KioskViewModel:
    def __init__(self, send: Send, staff: StaffGate | None = None) -> None:
        self._send = send
        self.staff_gate = staff or StaffGate(None)
        self.listeners: list[Callable[[], None]] = []
        self.connected = False
        self.out_of_service = False
        self.role = "self-checkout"
        self.language = "vi"
        self.screen = "welcome"
        self.intent = "checkout"
        self.message: dict[str, str] | None = None
        self.typed_id = ""
        self.typing = False
        self.pin = ""
        self.name = ""
        self.offline = False
        self.rows: dict[str, ItemRow] = {}
        self.returns: dict[str, ItemRow] = {}
        self.account: Message | None = None
        self.loan_info: dict[str, Message] = {}
        self.summary: Message | None = None
        self.qr_svg = ""
        self.busy = False
        self.idle_seconds = 0
        self.idle_visible = False
        self.goodbye_reason = ""
        self.status: Message = {}

    # --- plumbing ---------------------------------------------------------------------------

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def _request(
        self, cmd: str, args: Message | None = None, then: Callable[[Message], None] | None = None
    ) -> None:
        self._send(cmd, args or {}, then)

    def _refusal(self, answer: Message) -> None:
        error = answer.get("error") or {}
        self.message = {
            "vi": str(error.get("vi") or error.get("en") or error.get("code") or "?"),
            "en": str(error.get("en") or error.get("vi") or error.get("code") or "?"),
        }

    def _say(self, key: str, **values: object) -> None:
        self.message = {lang: tr(key, lang, **values) for lang in LANGUAGES}

    # --- what QML sees ----------------------------------------------------------------------

    @property
    def visible_screen(self) -> str:
        if not self.connected:
            return "out_of_service"
        if self.screen in STAFF_SCREENS:
            return self.screen
        if self.out_of_service:
            return "out_of_service"
        return self.screen

    def texts(self) -> dict[str, str]:
        return table(self.language)

    def rendered_rows(self, returns: bool = False) -> list[Message]:
        rows = (self.returns if returns else self.rows).values()
        return [row.render(self.language) for row in rows]

    def snapshot(self) -> Message:
        """Everything a screen binds to, already in the patron's language."""
        lang = self.language
        rows = list(self.rows.values())
        attention = sum(1 for r in rows if r.state in ("attention", "failed"))
        summary = self.summary or {}
        return {
            "screen": self.visible_screen,
            "connected": self.connected,
            "language": lang,
            "message": (self.message or {}).get(lang, ""),
            "typing": self.typing,
            "typed_id": self.typed_id,
            "pin_dots": "●" * len(self.pin),
            "greeting": tr("hello", lang, name=self.name)
            if self.name
            else tr("hello_anonymous", lang),
            "offline": self.offline,
            "count": tr("items_count", lang, count=len(rows)),
            "attention": tr("needs_attention", lang, count=attention) if attention else "",
            "can_return": self.role in ("both", "return"),
            "can_borrow": self.role != "return",
            "account": self._account_view(),
            "summary": self._summary_text(summary, lang) if self.summary else "",
            "email_available": bool(summary.get("email_available")),
            # An engine that does not say offers paper and QR, as before the switches.
            "print_available": bool(summary.get("print_available", True)),
            "qr_available": bool(summary.get("qr_available", True)),
            "qr": self.qr_svg,
            "busy": self.busy,
            "idle_visible": self.idle_visible,
            "idle_text": tr("idle_title", lang) + " " + self._idle_text(),
            "goodbye_reason": tr(GOODBYE_REASONS[self.goodbye_reason], lang)
            if self.goodbye_reason in GOODBYE_REASONS
            else "",
            "staff_status": self._status_view(),
            "staff_available": self.staff_gate.available,
        }

    @staticmethod
    def _summary_text(summary: dict[str, Any], lang: str) -> str:
        """Lent, not lent, and (after a full disk or a lost answer) still being checked:
        the patron is never told "not lent" for a loan the ILS may hold."""
        text = tr(
            "summary_line", lang, ok=summary.get("checked_out", 0), failed=summary.get("failed", 0)
        )
        checking = summary.get("being_checked", 0)
        return text + tr("summary_checking", lang, checking=checking) if checking else text

    def _idle_text(self) -> str:
        vi = f"Phiên sẽ kết thúc sau {self.idle_seconds} giây"
        en = f"The session ends in {self.idle_seconds} seconds"
        return en if self.language == "en" else vi

    def _account_view(self) -> Message:
        lang = self.language
        if self.account is None:
            return {"loaded": False, "loans": [], "holds": "", "fines": "", "messages": ""}
        loans = []
        for item in self.account.get("loans", []):
            info = self.loan_info.get(str(item), {})
            message = info.get("message") or {}
            due = format_due(info.get("due_date"), lang)
            loans.append(
                {
                    "item_id": str(item),
                    "title": str(info.get("title") or item),
                    "due": tr("due", lang, date=due) if due else "",
                    "text": message.get(lang, "") if isinstance(message, dict) else "",
                    "ok": info.get("outcome") != "renew_refused",
                }
            )
        holds = ", ".join(str(h) for h in self.account.get("holds_ready", []))
        return {
            "loaded": True,
            "loans": loans,
            "holds": holds or tr("no_holds", lang),
            "fines": str(self.account.get("fines") or "") or tr("no_fines", lang),
            "messages": " ".join(str(m) for m in self.account.get("screen_messages", [])),
        }

    def _status_view(self) -> list[Message]:
        s = self.status
        if not s:
            return []
        lang = self.language

        def online(flag: object) -> str:
            return tr("online" if flag else "offline", lang)

        return [
            {"label": tr("status_mode", lang), "value": str(s.get("mode", ""))},
            {"label": tr("status_reader", lang), "value": str(s.get("reader", ""))},
            {"label": tr("status_ils", lang), "value": online(s.get("ils_online"))},
            {"label": tr("status_in_flight", lang), "value": str(s.get("pending", 0))},
            {"label": tr("status_queue", lang), "value": str(s.get("offline_queue", 0))},
            {"label": tr("status_attention", lang), "value": str(len(s.get("attention", [])))},
            {"label": tr("out_of_service", lang), "value": "✔" if s.get("out_of_service") else "–"},
        ]

    # --- the connection -----------------------------------------------------------------------

    def connection(self, up: bool) -> None:
        self.connected = up
        self.idle_visible = False
        self.busy = False
        if up:
            self._request("status", {}, self._on_status_after_connect)
        self._changed()

    def _on_status_after_connect(self, answer: Message) -> None:
        if not answer.get("ok"):
            return
        status = answer["result"]
        self._apply_status(status)
        session = status.get("session")
        if session and session.get("verified"):
            # Only the link broke: the engine kept the session, and so does the screen.
            self.name = str(session.get("name") or "")
            self.rows = {}
            for item in session.get("items", []):
                row = row_from_event(item, None)
                self.rows[row.key] = row
            if self.screen not in SESSION_SCREENS:
                self.screen = "checkout"
        elif self.screen not in STAFF_SCREENS:
            self._reset("welcome")
        self._changed()

    def _apply_status(self, status: Message) -> None:
        self.status = status
        self.role = str(status.get("role", self.role))
        self.out_of_service = bool(status.get("out_of_service"))
        language = status.get("language")
        if language in LANGUAGES:
            self.language = str(language)

    def _reset(self, screen: str) -> None:
        self.screen = screen
        self.message = None
        self.typed_id = ""
        self.typing = False
        self.pin = ""
        self.name = ""
        self.offline = False
        self.rows = {}
        self.returns = {}
        self.account = None
        self.loan_info = {}
        self.summary = None
        self.qr_svg = ""
        self.busy = False
        self.idle_visible = False
        self.goodbye_reason = ""

    # --- touches ------------------------------------------------------------------------------

    def choose_language(self, language: str) -> None:
        if language not in LANGUAGES:
            return
        self.language = language
        self._request("language", {"language": language})
        self._changed()

    def start(self, intent: str) -> None:
        """Borrow or My account from the welcome screen: first, who is it?"""
        self._reset("identify")
        self.intent = intent
        self._changed()

    def start_return(self) -> None:
        self._reset("return")

        def answered(answer: Message) -> None:
            if not answer.get("ok"):
                self._refusal(answer)
            self._changed()

        self._request("return_mode", {}, answered)
        self._changed()

    def show_keyboard(self, shown: bool) -> None:
        self.typing = shown
        self._changed()

    def type_key(self, key: str) -> None:
        if key == "⌫":
            self.typed_id = self.typed_id[:-1]
        elif len(self.typed_id) < ID_LENGTH and len(key) == 1 and key.isalnum():
            self.typed_id += key.upper()
        self._changed()

    def submit_id(self) -> None:
        value = self.typed_id.strip()
        if not value:
            return
        self.busy = True

        def answered(answer: Message) -> None:
            self.busy = False
            if not answer.get("ok"):
                self._refusal(answer)
            elif answer["result"].get("need_pin"):
                self._to_pin()
            self._changed()

        self._request("identify", {"method": "typed", "value": value}, answered)
        self._changed()

    def _to_pin(self) -> None:
        if self.screen != "pin":
            self.screen = "pin"
            self.pin = ""
            self.message = None
            self.typing = False

    def pin_key(self, key: str) -> None:
        if key == "⌫":
            self.pin = self.pin[:-1]
        elif key.isdigit() and len(self.pin) < PIN_LENGTH:
            self.pin += key
        self._changed()

    def pin_clear(self) -> None:
        self.pin = ""
        self._changed()

    def submit_pin(self) -> None:
        if not self.pin:
            return
        pin, self.pin = self.pin, ""
        self.busy = True

        def answered(answer: Message) -> None:
            self.busy = False
            if not answer.get("ok"):
                self._refusal(answer)
                code = (answer.get("error") or {}).get("code")
                if code != "wrong_pin":
                    message = self.message
                    self._reset("welcome")
                    self.message = message
            self._changed()

        self._request("pin", {"pin": pin}, answered)
        self._changed()

    def open_account(self) -> None:
        self.screen = "account"
        self.account = None
        self.message = None

        def answered(answer: Message) -> None:
            if answer.get("ok"):
                self.account = answer["result"]
                # Titles and due dates of every loan, as the engine found them at the ILS;
                # what this session did (a renewal's new date) stays newer.
                for detail in self.account.get("loan_details") or []:
                    key = str(detail.get("item_id"))
                    if key and key not in self.loan_info:
                        self.loan_info[key] = {
                            "title": detail.get("title"),
                            "due_date": detail.get("due_date"),
                        }
            else:
                self._refusal(answer)
            self._changed()

        self._request("account", {}, answered)
        self._changed()

    def to_checkout(self) -> None:
        self.screen = "checkout"
        self.message = None
        self._changed()

    def renew(self, item_id: str = "") -> None:
        self.busy = True

        def answered(answer: Message) -> None:
            self.busy = False
            if answer.get("ok"):
                for result in answer["result"].get("results", []):
                    self._remember_renewal(result)
            else:
                self._refusal(answer)
            self._changed()

        self._request("renew", {"item_id": item_id} if item_id else {}, answered)
        self._changed()

    def _remember_renewal(self, result: Message) -> None:
        item = str(result.get("item_id"))
        known = self.loan_info.get(item, {})
        self.loan_info[item] = {
            **known,
            **{k: v for k, v in result.items() if v not in (None, "")},
        }

    def finish(self) -> None:
        """Done: the engine waits for items in flight, then the receipt choice."""
        self.screen = "receipt"
        self.summary = None
        self.qr_svg = ""
        self.message = None
        self.busy = True

        def answered(answer: Message) -> None:
            self.busy = False
            if answer.get("ok"):
                self.summary = answer["result"]
            else:
                self._refusal(answer)
            self._changed()

        self._request("done", {}, answered)
        self._changed()

    def receipt(self, method: str) -> None:
        self.busy = True

        def answered(answer: Message) -> None:
            self.busy = False
            if not answer.get("ok"):
                self._refusal(answer)
            elif method == "qr" and answer["result"].get("svg"):
                svg = str(answer["result"]["svg"]).encode()
                self.qr_svg = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
                self.screen = "receipt_qr"
            else:
                self._goodbye("")
            self._changed()

        self._request("receipt", {"method": method}, answered)
        self._changed()

    def cancel(self) -> None:
        self._request("cancel", {}, None)
        self._goodbye("")
        self._changed()

    def _goodbye(self, reason: str) -> None:
        self._reset("goodbye")
        self.goodbye_reason = reason

    def home(self) -> None:
        """Back to the welcome screen (the goodbye screen's timer, a Back button)."""
        if self.screen in SESSION_SCREENS:
            self._request("cancel", {}, None)
        self._reset("welcome")
        self._changed()

    def still_here(self) -> None:
        self.idle_visible = False
        self._request("extend", {}, None)
        self._changed()

    # --- staff --------------------------------------------------------------------------------

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
        def answered(answer: Message) -> None:
            if answer.get("ok"):
                self._apply_status(answer["result"])
            self._changed()

        self._request("status", {}, answered)

    def staff_action(self, action: str) -> None:
        def answered(answer: Message) -> None:
            if answer.get("ok"):
                self._apply_status(answer["result"])
            else:
                self._refusal(answer)
            self._changed()

        self._request("staff", {"action": action}, answered)

    def staff_exit(self) -> None:
        self._reset("welcome")
        self._changed()

    # --- engine events ------------------------------------------------------------------------

    def event(self, event: Message) -> None:
        name = str(event.get("event", ""))
        handler = getattr(self, "_on_" + name, None)
        if handler is not None:
            handler(event)
            self._changed()

    def _on_pin_needed(self, event: Message) -> None:
        if self.screen not in STAFF_SCREENS:
            self._to_pin()

    def _on_identify_failed(self, event: Message) -> None:
        message = event.get("message")
        if isinstance(message, dict) and self.screen not in STAFF_SCREENS:
            self.message = {k: str(v) for k, v in message.items()}

    def _on_session_started(self, event: Message) -> None:
        self.name = str(event.get("name") or "")
        self.offline = bool(event.get("offline"))
        self.message = None
        self.typing = False
        if self.screen in STAFF_SCREENS:
            return
        if self.intent == "account":
            self.intent = "checkout"
            self.open_account()
        elif self.screen not in ("checkout", "account", "receipt"):
            self.screen = "checkout"

    def _on_item(self, event: Message) -> None:
        if event.get("kind") == "checkin":
            rows = self.returns
            if self.screen not in STAFF_SCREENS and self.screen != "return":
                self.screen = "return"
        else:
            rows = self.rows
        row = row_from_event(event, rows.get(str(event.get("item_id") or event.get("uid"))))
        rows[row.key] = row
        if event.get("kind") == "checkout" and row.state == "ok":
            self.loan_info[row.key] = {"title": row.title, "due_date": row.due_date}

    def _on_renewed(self, event: Message) -> None:
        self._remember_renewal(event)

    def _on_idle_warning(self, event: Message) -> None:
        self.idle_seconds = int(event.get("seconds") or 0)
        self.idle_visible = True

    def _on_session_extended(self, event: Message) -> None:
        self.idle_visible = False

    def _on_receipt_failed(self, event: Message) -> None:
        self._say("receipt_failed")

    def _on_session_ended(self, event: Message) -> None:
        reason = str(event.get("reason", ""))
        self.idle_visible = False
        if reason in ("new_patron", "return_mode") or self.screen in STAFF_SCREENS:
            return
        if self.screen == "receipt_qr":
            return  # the QR code stays until the patron has scanned it
        if self.screen in SESSION_SCREENS or reason in GOODBYE_REASONS:
            self._goodbye(reason)

    def _on_language(self, event: Message) -> None:
        language = event.get("language")
        if language in LANGUAGES:
            self.language = str(language)

    def _on_staff(self, event: Message) -> None:
        action = event.get("action")
        if action == "out_of_service":
            self.out_of_service = True
        elif action == "in_service":
            self.out_of_service = False

    def _on_ready(self, event: Message) -> None:
        self._request("status", {}, self._on_status_after_connect)
