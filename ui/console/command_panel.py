"""Sending a command to the chosen device through central, and showing what came of it.

The panel offers the commands the signed-in staff role may send (central checks again:
this only spares staff a button that can only be refused), sends one through
``POST /v1/commands`` on a worker thread, then follows ``GET /v1/commands/{id}`` until
the device's answer is in the audit log (or ``wait_s`` passes) and shows that audit
entry: who, what, when, and the outcome.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ui.console import shapes
from ui.console.client import Central
from ui.console.worker import Requests

__all__ = ["COMMANDS", "CommandPanel", "allowed"]

COMMANDS = ("lock", "unlock", "message", "empty_bin", "reload")

# What each role may send: the same table as central/accounts.py (which decides; the console
# may not import central). A token's unknown role (None) offers none: it only reads.
_LEAST = {"lock": 2, "unlock": 2, "message": 2, "empty_bin": 2, "reload": 3}
_LEVEL = {"viewer": 1, "desk": 2, "admin": 3}


def allowed(role: str | None) -> tuple[str, ...]:
    level = _LEVEL.get(role or "", 0)
    return tuple(name for name in COMMANDS if level >= _LEAST[name])


class CommandPanel(QWidget):
    sent = Signal(str)
    """The audit row as central accepted the command (JSON text), or ``{"error": …}``."""
    answered = Signal(str)
    """The audit row once the device answered or the wait ran out (JSON text)."""

    def __init__(
        self,
        requests: Requests,
        t: Callable[..., str],
        *,
        poll_s: float = 0.5,
        wait_s: float = 30.0,
    ) -> None:
        super().__init__()
        self.requests = requests
        self.t = t
        self.poll_s = poll_s
        self.wait_s = wait_s
        self.central: Central | None = None
        self.role: str | None = None
        self.device: tuple[str, str] | None = None
        self.busy = False
        self._stop = threading.Event()
        self._today: Callable[[], Any] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.choice = QComboBox()
        self.choice.currentIndexChanged.connect(self._fit_arguments)
        self.message_edit = QLineEdit()
        self.message_edit.setMaxLength(200)
        self.bin_edit = QSpinBox()
        self.bin_edit.setRange(1, 999)
        self.send_button = QPushButton()
        self.send_button.setObjectName("send-command")
        self.send_button.clicked.connect(self.send)
        self.status = QLabel()
        self.status.setWordWrap(True)
        for widget in (
            self.label,
            self.choice,
            self.message_edit,
            self.bin_edit,
            self.send_button,
        ):
            layout.addWidget(widget)
        layout.addWidget(self.status, 1)
        self.requests.done.connect(self._on_done)
        self.set_role(None)

    # --- state ---------------------------------------------------------------------------

    def set_role(self, role: str | None) -> None:
        self.role = role
        current = self.choice.currentData()
        self.choice.blockSignals(True)
        self.choice.clear()
        for name in allowed(role):
            self.choice.addItem(self.t(f"cmd_{name}"), name)
        if current in allowed(role):
            self.choice.setCurrentIndex(allowed(role).index(current))
        self.choice.blockSignals(False)
        self.status.setText("" if allowed(role) else self.t("no_commands"))
        self._fit_arguments()

    def set_device(self, device: tuple[str, str] | None) -> None:
        self.device = device
        self._fit_arguments()

    def retranslate(self) -> None:
        self.label.setText(self.t("command"))
        self.send_button.setText(self.t("send"))
        self.message_edit.setPlaceholderText(self.t("message_text"))
        for index in range(self.choice.count()):
            self.choice.setItemText(index, self.t(f"cmd_{self.choice.itemData(index)}"))
        if not allowed(self.role):
            self.status.setText(self.t("no_commands"))

    def _fit_arguments(self, _index: int = 0) -> None:
        name = self.choice.currentData()
        self.message_edit.setVisible(name == "message")
        self.bin_edit.setVisible(name == "empty_bin")
        self.send_button.setEnabled(bool(name) and self.device is not None and not self.busy)
        self.choice.setEnabled(bool(allowed(self.role)))

    def stop(self) -> None:
        """Stop following a command (the window closes or signs out)."""
        self._stop.set()

    # --- sending -------------------------------------------------------------------------

    def send(self) -> bool:
        name = self.choice.currentData()
        if self.central is None or self.device is None or not name or self.busy:
            return False
        args: dict[str, Any] = {}
        if name == "message":
            words = self.message_edit.text().strip()
            if not words:
                self.status.setText(self.t("message_needed"))
                return False
            args = {"text": words}
        elif name == "empty_bin":
            args = {"bin": self.bin_edit.value()}
        site, device = self.device
        central = self.central
        self.busy = True
        self._stop = threading.Event()
        self._fit_arguments()
        self.status.setText(self.t("sending", command=self.t(f"cmd_{name}"), device=device))
        self.requests.submit("command-send", lambda: central.send_command(site, device, name, args))
        return True

    def _follow(self, central: Central, command_id: str, stop: threading.Event) -> Any:
        """The audit row once it has an outcome, else as it stands after ``wait_s``."""
        deadline = self.wait_s
        row: dict[str, Any] = {}
        while True:
            row = central.command(command_id)
            if row.get("outcome") or deadline <= 0:
                return row
            # Paced polling on a pool thread (the API has no per-command stream); closing
            # the window sets ``stop`` and ends the wait at once.
            if stop.wait(self.poll_s):
                return row
            deadline -= self.poll_s

    def _on_done(self, key: str, text: str) -> None:
        if key not in ("command-send", "command-wait"):
            return
        answer = json.loads(text)
        if not answer.get("ok"):
            self.busy = False
            self._fit_arguments()
            why = str(answer.get("error", ""))
            # Central's own refusal reads as it is; a lost link in the console's words.
            shown = self.t("unreachable") if answer.get("status") == 0 else why
            self.status.setText(self.t("command_refused", why=shown))
            signal = self.sent if key == "command-send" else self.answered
            signal.emit(json.dumps({"error": why, "status": answer.get("status")}))
            return
        row = answer["value"]
        if key == "command-send":
            self.status.setText(self.audit_text(row))
            central, stop = self.central, self._stop
            self.sent.emit(json.dumps(row, ensure_ascii=False))
            if central is not None:
                command_id = str(row["command_id"])
                self.requests.submit(
                    "command-wait", lambda: self._follow(central, command_id, stop)
                )
            return
        self.busy = False
        self._fit_arguments()
        self.status.setText(self.audit_text(row))
        self.answered.emit(json.dumps(row, ensure_ascii=False))

    def audit_text(self, row: dict[str, Any]) -> str:
        """The audit entry in words: "#12 10:02 lan: Lock kiosk-01 — done (detail)"."""
        outcome = row.get("outcome")
        result = self.t(f"outcome_{outcome}") if outcome in ("ok", "failed", "timeout") else ""
        detail = f" ({row['detail']})" if row.get("detail") else ""
        return self.t(
            "audit_entry",
            id=row.get("id", "?"),
            time=shapes.clock_text(row.get("time"), None),
            actor=row.get("actor", ""),
            command=self.t(f"cmd_{row.get('command')}") if row.get("command") in COMMANDS else "",
            device=row.get("device", ""),
            result=(result or self.t("waiting_device")) + detail,
        )
