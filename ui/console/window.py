"""The staff console's window: sign-in, then alarms, devices, a device's detail, bins, statistics.

Qt Widgets (a desk application with tables and forms, not a touchscreen). Every word
comes from :mod:`ui.console.texts` and is set again when the language changes. Live
events arrive on the stream's thread and are re-posted to the GUI thread by a signal.
Fleet reads that central answers with 503 (its fleet store not connected) show
"not available" in place and leave the rest of the console working.

No request to central is made on the GUI thread (issue 14): ``_ask`` hands each to a
worker (ui/console/worker.py) and draws its answer when the signal brings it back. Until
then the part says "Loading…" and the button that would ask again is disabled; an answer
overtaken by a newer request of its part is dropped (ui/console/tickets.py); a failure
is said in the console's words and language, never as the client's English; closing
hangs up whatever is still out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.console import shapes
from ui.console.client import TIMEOUT_S, Central, LiveStream
from ui.console.command_panel import CommandPanel
from ui.console.texts import text
from ui.console.tickets import Tickets
from ui.console.worker import BROKEN, Requests

log = logging.getLogger(__name__)

GOOD = QColor("#1b7f3b")
BAD = QColor("#b3261e")
MAX_PERIOD_DAYS = 62

Answer = dict[str, Any]
"""A worker's answer: ``{"ok": true, "value": …}`` or ``{"ok": false, "status", "error"}``."""


@dataclass
class Options:
    server: str = "http://127.0.0.1:8765"  # [central.api] port's default
    token: str = ""
    login: str = ""
    language: str = "vi"
    site: str | None = None
    sound: Callable[[], None] | None = None
    """Played on every new alarm (the console's sound cue)."""
    today: Callable[[], date] = field(default=date.today)
    timeout: float = TIMEOUT_S
    """Seconds a request waits for central's answer (the window never waits: a worker does)."""


class _Relay(QObject):
    """Carries the stream thread's callbacks onto the GUI thread."""

    # Not "event": that name is QObject's event handler, which a signal must not hide.
    # The body crosses threads as JSON text (a QString, copied), never as a Python dict
    # that PySide converts to a QVariantMap on the stream's thread: one worker of a
    # parallel test run aborted in malloc while such events were being delivered.
    arrived = Signal(str, str)
    state = Signal(bool)


class _Note(QLabel):
    """A message line that takes no room while it has nothing to say."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setVisible(False)

    def setText(self, words: str) -> None:
        super().setText(words)
        self.setVisible(bool(words))

    def clear(self) -> None:
        self.setText("")


def _cell(value: Any, color: QColor | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem("" if value is None else str(value))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if color is not None:
        item.setForeground(color)
    return item


def _table(columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setStretchLastSection(True)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    return table


def _stretch(table: QTableWidget, column: int) -> None:
    """Fit every column to its contents, then give the rest of the width to ``column``."""
    table.resizeColumnsToContents()
    table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)


class Console(QMainWindow):
    acked = Signal(str)
    """An acknowledgement came back: ``{"ok": true, "value": alert}`` or ``{"ok": false, …}``."""

    def __init__(self, options: Options) -> None:
        super().__init__()
        self.options = options
        self.language = options.language
        self.central = Central(options.server, options.token, options.timeout)
        self.stream: LiveStream | None = None
        self.alerts: dict[int, dict[str, Any]] = {}
        self.devices: list[dict[str, Any]] = []
        self.device: tuple[str, str] | None = None
        self.live = False
        self.relay = _Relay()
        self.relay.arrived.connect(self._on_event)
        self.relay.state.connect(self._on_state)
        self.requests = Requests()
        self.requests.done.connect(self._on_done)
        self.tickets = Tickets()
        self.answers: dict[str, Callable[[Answer], None]] = {}
        """What to do with each part's wanted answer (its newest ticket's)."""
        self.notes: dict[str, tuple[str, dict[str, Any]]] = {}
        """What went wrong per part, as a catalogue key and its values."""
        self.signing: Central | None = None
        """The central being signed in to, until it answers."""
        self.today_after_fleet = False
        self._login_key = ""
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self._build_login()
        self._build_main()
        self.retranslate()

    # --- building ------------------------------------------------------------------------

    def _build_login(self) -> None:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.addStretch(1)
        self.login_heading = QLabel()
        self.login_heading.setStyleSheet("font-size: 20pt; font-weight: bold")
        outer.addWidget(self.login_heading, 0, Qt.AlignmentFlag.AlignHCenter)
        form = QFormLayout()
        self.server_edit = QLineEdit(self.options.server)
        self.login_edit = QLineEdit(self.options.login)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit = QLineEdit(self.options.token)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form_labels = [QLabel() for _ in range(4)]
        for label, edit in zip(
            self.form_labels,
            (self.server_edit, self.login_edit, self.password_edit, self.token_edit),
            strict=True,
        ):
            edit.setMinimumWidth(320)
            form.addRow(label, edit)
        box = QWidget()
        box.setLayout(form)
        # Centred by stretches, not by alignment: an aligned widget keeps the size of its
        # first layout, when the labels were still empty (they get words in retranslate).
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(box)
        centred.addStretch(1)
        outer.addLayout(centred)
        buttons = QHBoxLayout()
        self.sign_in_button = QPushButton()
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.password_edit.returnPressed.connect(self.sign_in)
        self.token_edit.returnPressed.connect(self.sign_in)
        self.login_language = QPushButton()
        self.login_language.clicked.connect(self.toggle_language)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.login_language)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        self.login_message = QLabel()
        self.login_message.setStyleSheet("color: #b3261e")
        self.login_message.setWordWrap(True)
        self.login_message.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        outer.addWidget(self.login_message)
        outer.addStretch(2)
        self.stack.addWidget(page)
        self.login_page = page

    def _build_main(self) -> None:
        page = QWidget()
        outer = QVBoxLayout(page)
        bar = QHBoxLayout()
        self.who_label = QLabel()
        self.live_label = QLabel()
        self.language_button = QPushButton()
        self.language_button.clicked.connect(self.toggle_language)
        self.sign_out_button = QPushButton()
        self.sign_out_button.clicked.connect(self.sign_out)
        bar.addWidget(self.who_label)
        bar.addStretch(1)
        bar.addWidget(self.live_label)
        bar.addWidget(self.language_button)
        bar.addWidget(self.sign_out_button)
        outer.addLayout(bar)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs)
        self.tabs.addTab(self._alarms_tab(), "")
        self.tabs.addTab(self._fleet_tab(), "")
        self.tabs.addTab(self._device_tab(), "")
        self.tabs.addTab(self._bins_tab(), "")
        self.tabs.addTab(self._charts_tab(), "")
        self.stack.addWidget(page)
        self.main_page = page

    def _alarms_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.alarm_count = QLabel()
        self.alarm_count.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.alarm_message = _Note()
        self.alarm_message.setStyleSheet("color: #b3261e")
        self.alarm_table = _table(8)
        self.alarm_table.horizontalHeader().setStretchLastSection(False)  # the text stretches
        layout.addWidget(self.alarm_count)
        layout.addWidget(self.alarm_table)
        layout.addWidget(self.alarm_message)
        return tab

    def _fleet_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.fleet_refresh = QPushButton()
        self.fleet_refresh.clicked.connect(self.load_fleet)
        self.fleet_message = _Note()
        self.fleet_tree = QTreeWidget()
        self.fleet_tree.setColumnCount(7)
        self.fleet_tree.setAlternatingRowColors(True)
        self.fleet_tree.itemActivated.connect(self._device_chosen)
        self.fleet_tree.itemDoubleClicked.connect(self._device_chosen)
        layout.addWidget(self.fleet_refresh, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.fleet_message)
        layout.addWidget(self.fleet_tree)
        return tab

    def _device_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.device_heading = QLabel()
        self.device_heading.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.events_label = QLabel()
        self.events_message = _Note()
        self.events_table = _table(3)
        self.commands_label = QLabel()
        self.commands_message = _Note()
        self.commands_table = _table(4)
        self.command_panel = CommandPanel(self.requests, self.t)
        self.command_panel.answered.connect(lambda _row: self._load_commands())
        for widget in (
            self.device_heading,
            self.events_label,
            self.events_message,
            self.events_table,
            self.commands_label,
            self.commands_message,
            self.commands_table,
            self.command_panel,
        ):
            layout.addWidget(widget)
        return tab

    def _bins_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.bins_message = _Note()
        self.bins_table = _table(4)
        layout.addWidget(self.bins_message)
        layout.addWidget(self.bins_table)
        return tab

    def _charts_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.site_label = QLabel()
        self.site_edit = QLineEdit(self.options.site or "")
        self.site_edit.setMaximumWidth(160)
        self.today_button = QPushButton()
        self.today_button.clicked.connect(self.load_today)
        self.from_label = QLabel()
        self.to_label = QLabel()
        today = self.options.today()
        self.from_edit = QDateEdit(QDate(today.year, today.month, today.day).addDays(-6))
        self.to_edit = QDateEdit(QDate(today.year, today.month, today.day))
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.period_button = QPushButton()
        self.period_button.clicked.connect(self.load_period)
        for widget in (
            self.site_label,
            self.site_edit,
            self.today_button,
            self.from_label,
            self.from_edit,
            self.to_label,
            self.to_edit,
            self.period_button,
        ):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.charts_message = _Note()
        layout.addWidget(self.charts_message)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.circulation_plot = pg.PlotWidget()
        self.gate_plot = pg.PlotWidget()
        for plot in (self.circulation_plot, self.gate_plot):
            plot.showGrid(y=True, alpha=0.3)
            plot.addLegend(offset=(10, 5))
            layout.addWidget(plot)
        self.chart_series: dict[str, list[int]] = {}
        self.chart_labels: list[str] = []
        self.chart_kind = "hour"
        return tab

    # --- language ------------------------------------------------------------------------

    def t(self, key: str, **values: Any) -> str:
        return text(key, self.language, **values)

    def toggle_language(self) -> None:
        self.language = "en" if self.language == "vi" else "vi"
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.t("title"))
        self.login_heading.setText(self.t("login_title"))
        for label, key in zip(
            self.form_labels, ("server", "login", "password", "token"), strict=True
        ):
            label.setText(self.t(key))
        self.sign_in_button.setText(self.t("sign_in"))
        self.login_language.setText(self.t("language"))
        self.language_button.setText(self.t("language"))
        self.sign_out_button.setText(self.t("sign_out"))
        self.command_panel.retranslate()
        self.who_label.setText(self.t("signed_in_as", who=self.options.login or "token"))
        for index, key in enumerate(
            ("tab_alarms", "tab_fleet", "tab_device", "tab_bins", "tab_charts")
        ):
            self.tabs.setTabText(index, self.t(key))
        self.alarm_table.setHorizontalHeaderLabels(
            [
                self.t(k)
                for k in (
                    "col_time",
                    "col_site",
                    "col_gate",
                    "col_item",
                    "col_title",
                    "col_alert",
                    "col_acked",
                    "acknowledge",
                )
            ]
        )
        self.fleet_refresh.setText(self.t("refresh"))
        self.fleet_tree.setHeaderLabels(
            [
                self.t(k)
                for k in (
                    "col_device",
                    "col_role",
                    "col_health",
                    "col_offline_since",
                    "col_reader",
                    "col_ils",
                    "col_queue",
                )
            ]
        )
        self.events_label.setText(self.t("recent_events"))
        self.commands_label.setText(self.t("recent_commands"))
        self.events_table.setHorizontalHeaderLabels(
            [self.t(k) for k in ("col_time", "col_event", "col_detail")]
        )
        self.commands_table.setHorizontalHeaderLabels(
            [self.t(k) for k in ("col_time", "col_command", "col_who", "col_outcome")]
        )
        self.bins_table.setHorizontalHeaderLabels(
            [self.t(k) for k in ("col_device", "col_bin", "col_level", "col_state")]
        )
        self.site_label.setText(self.t("site"))
        self.today_button.setText(self.t("today"))
        self.from_label.setText(self.t("from"))
        self.to_label.setText(self.t("to"))
        self.period_button.setText(self.t("show"))
        self._show_live()
        self._show_alerts()
        self._show_fleet()
        self._show_device_heading()
        self._draw_charts()
        self._show_notes()  # every message again, in the new language

    # --- requests to central -------------------------------------------------------------

    @property
    def waiting(self) -> frozenset[str]:
        """The parts of the screen waiting for central ("sign-in", "alerts", "fleet", …)."""
        return self.tickets.waiting()

    def _ask(self, part: str, call: Callable[[], Any], then: Callable[[Answer], None]) -> None:
        """Run ``call`` on a worker; ``then(answer)`` on this thread, unless a newer ask of
        ``part`` (or a sign-out) has made the answer stale by then."""
        self.answers[part] = then
        self.requests.submit(self.tickets.issue(part), call)
        self._show_notes()

    def _on_done(self, key: str, text_answer: str) -> None:
        if self.requests.closed:
            return
        if key.startswith("ack-"):
            self._on_acked(text_answer)
            return
        part = self.tickets.redeem(key)
        if part is None:
            log.debug("console request %s: a newer one was sent, its answer is dropped", key)
            return
        then = self.answers.pop(part, None)
        if then is not None:
            then(json.loads(text_answer))
        self._show_notes()

    def _failed(self, part: str, answer: Answer) -> None:
        """Keep what went wrong as a catalogue key, so a language change says it again."""
        status = answer.get("status")
        why = str(answer.get("error") or f"HTTP {status}")
        if status == BROKEN:
            self.notes[part] = ("console_failed", {"why": why})
        elif status == 0:
            self.notes[part] = ("no_answer" if "timed out" in why else "unreachable", {})
        elif status == 503:
            self.notes[part] = ("not_available", {})
        elif status == 401:
            self.notes[part] = ("session_ended", {})
        else:
            self.notes[part] = ("central_refused", {"why": why})

    def _note(self, part: str) -> str:
        if part in self.waiting:
            return self.t("signing_in" if part == "sign-in" else "loading")
        key, values = self.notes.get(part, ("", {}))
        return self.t(key, **values) if key else ""

    def _show_notes(self) -> None:
        """Every part's message line and the buttons that would repeat a request out."""
        waiting = self.waiting
        signing = "sign-in" in waiting
        self.sign_in_button.setEnabled(not signing)
        self.login_message.setStyleSheet("" if signing else "color: #b3261e")
        self.login_message.setText(
            self._note("sign-in") if signing else self.t(self._login_key) if self._login_key else ""
        )
        self.alarm_message.setText(self._note("alerts") or self._note("ack"))
        self.fleet_refresh.setEnabled("fleet" not in waiting)
        self.fleet_message.setText(self._note("fleet"))
        bins = self._note("fleet")
        if not bins and not any(shapes.bins(d) for d in self.devices):
            bins = self.t("no_bins")
        self.bins_message.setText(bins)
        self.events_message.setText(self._note("events"))
        self.commands_message.setText(self._note("commands"))
        self.today_button.setEnabled("stats" not in waiting)
        self.period_button.setEnabled("stats" not in waiting)
        charts = self._note("stats")
        if not charts and self.chart_series:
            charts = self.t("totals", **shapes.totals(self.chart_series))
        self.charts_message.setText(charts)

    # --- sign-in -------------------------------------------------------------------------

    def sign_in(self) -> bool:
        """Send the sign-in to central on a worker: True if it went, False if the form says why.

        The main page opens when central's answer comes (``waiting`` holds "sign-in" until).
        """
        if "sign-in" in self.waiting:
            return False
        self._login_key = ""
        server = self.server_edit.text().strip()
        login = self.login_edit.text().strip()
        password = self.password_edit.text()
        token = self.token_edit.text().strip()
        try:
            central = Central(server, token, self.options.timeout)
        except ValueError:
            return self._login_failed("unreachable")
        if not token and not (login and password):
            return self._login_failed("need_credentials")

        def attempt() -> Any:
            if token:
                return central.whoami()  # proves the token, and learns its staff role
            central.sign_in(login, password)
            return central.alerts(open_only=True)  # proves the session before the console opens

        self.signing = central
        self._ask(
            "sign-in", attempt, lambda answer: self._signed_in(answer, central, login, bool(token))
        )
        return True

    def _signed_in(self, answer: Answer, central: Central, login: str, by_token: bool) -> None:
        self.signing = None
        if not answer.get("ok"):
            status = answer.get("status")
            if status == 404 and not by_token:
                self._login_failed("no_login_endpoint")
            elif status in (401, 403):
                self._login_failed("bad_credentials")
            elif status == 429:
                self._login_failed("locked_out")
            else:
                self._login_failed("unreachable")
            return
        self.password_edit.clear()
        self.central = central
        self.options.login = login
        self.command_panel.central = self.central
        self.command_panel.set_role(self.central.role)
        self.stack.setCurrentWidget(self.main_page)
        self.retranslate()
        self.open_stream()
        self.load_alerts()
        self.today_after_fleet = True  # today's site may be the first device's
        self.load_fleet()

    def _login_failed(self, key: str) -> bool:
        self._login_key = key
        self.login_message.setText(self.t(key))
        return False

    def sign_out(self) -> None:
        self.close_stream()
        self.command_panel.stop()
        self.command_panel.central = None
        self.command_panel.set_role(None)
        self.central.abort()  # whatever it still asked is stale now
        self.tickets.forget()
        self.answers.clear()
        self.notes.clear()
        self.central = Central(
            self.server_edit.text().strip() or self.options.server, "", self.options.timeout
        )
        self.token_edit.clear()
        self.alerts.clear()
        self.devices = []
        self.stack.setCurrentWidget(self.login_page)
        self.retranslate()

    # --- the live stream -----------------------------------------------------------------

    def open_stream(self) -> None:
        self.close_stream()
        self.stream = LiveStream(
            self.central,
            lambda kind, body: self.relay.arrived.emit(kind, json.dumps(body)),
            self.relay.state.emit,
            site=self.options.site,
        )
        self.stream.start()

    def close_stream(self) -> None:
        if self.stream is not None:
            self.stream.stop()
            self.stream = None

    def _on_state(self, up: bool) -> None:
        if not up and self.stream is not None and self.stream.refused:
            # central no longer knows this session (restarted, or the shift's session
            # expired): back to the sign-in form, saying why, rather than retrying for ever.
            self.sign_out()
            self._login_failed("session_ended")
            return
        was = self.live
        self.live = up
        self._show_live()
        if up and not was:
            self.load_alerts()  # whatever happened while the stream was away

    def _show_live(self) -> None:
        self.live_label.setText(self.t("live") if self.live else self.t("reconnecting"))
        self.live_label.setStyleSheet(f"color: {(GOOD if self.live else BAD).name()}")

    def _on_event(self, kind: str, text_body: str) -> None:
        body = json.loads(text_body)
        number = body.get("id")
        if not isinstance(number, int):
            return
        fresh = kind == "alert" and number not in self.alerts
        self.alerts[number] = body
        self._show_alerts()
        if fresh and self.options.sound is not None:
            self.options.sound()

    # --- alarms --------------------------------------------------------------------------

    def load_alerts(self) -> None:
        central, site = self.central, self.options.site
        self._ask("alerts", lambda: central.alerts(site=site), self._alerts_answered)

    def _alerts_answered(self, answer: Answer) -> None:
        if not answer.get("ok"):
            self._failed("alerts", answer)
            return
        self.notes.pop("alerts", None)
        for row in answer.get("value") or []:
            if isinstance(row.get("id"), int):
                self.alerts[row["id"]] = row
        self._show_alerts()

    def _show_alerts(self) -> None:
        today = self.options.today()
        rows = sorted(self.alerts.values(), key=lambda a: (-(a.get("raised") or 0), a["id"]))
        waiting = sum(1 for a in rows if not a.get("acked_by") and not a.get("cleared"))
        self.alarm_count.setText(self.t("open_alarms", count=waiting))
        table = self.alarm_table
        table.setRowCount(len(rows))
        for index, alert in enumerate(rows):
            gate = alert.get("rule") == "gate_alarm"
            acked = alert.get("acked_by")
            cells = [
                shapes.clock_text(alert.get("raised"), today),
                alert.get("site", ""),
                alert.get("device", ""),
                alert.get("subject", "") if gate else "",
                alert.get("detail", "") if gate else "",
                alert.get(f"text_{self.language}", alert.get("rule", "")),
                self.t("acked_by", who=acked, time=shapes.clock_text(alert.get("acked_at"), today))
                if acked
                else "",
            ]
            color = None if acked or alert.get("cleared") else BAD
            for column, value in enumerate(cells):
                table.setItem(index, column, _cell(value, color))
            if acked or alert.get("cleared"):
                table.removeCellWidget(index, 7)
                table.setItem(index, 7, _cell(""))
            else:
                button = QPushButton(self.t("acknowledge"))
                button.setObjectName(f"ack-{alert['id']}")
                button.clicked.connect(lambda _=False, n=alert["id"]: self.acknowledge(n))
                table.setCellWidget(index, 7, button)
        _stretch(table, 5)

    def acknowledge(self, number: int) -> None:
        """Ask central to acknowledge alert ``number`` on the worker pool; ``acked`` follows.

        A desk clicking "acknowledge" while central is slow keeps a live console: the
        alarm table, the sound and the other buttons go on working meanwhile.
        """
        central = self.central
        self.requests.submit(f"ack-{int(number)}", lambda: central.acknowledge(number))

    def _on_acked(self, text_answer: str) -> None:
        answer = json.loads(text_answer)
        if self.stack.currentWidget() is not self.main_page:
            pass  # signed out meanwhile: the alarms are no longer shown, nor reloaded
        elif answer.get("ok"):
            acked = answer.get("value") or {}
            self.notes.pop("ack", None)
            if isinstance(acked.get("id"), int):
                self.alerts[acked["id"]] = acked
            self._show_alerts()
        else:
            if answer.get("status") == 409:
                self.load_alerts()  # someone was first: show whose name stands
            self._failed("ack", answer)
            failure, values = self.notes["ack"]
            why = values.get("why") or self.t(failure)
            self.notes["ack"] = ("ack_refused", {"why": why})
        self._show_notes()
        self.acked.emit(text_answer)

    # --- the fleet -----------------------------------------------------------------------

    def load_fleet(self) -> None:
        central, site = self.central, self.options.site
        self._ask("fleet", lambda: central.devices(site), self._fleet_answered)

    def _fleet_answered(self, answer: Answer) -> None:
        if answer.get("ok"):
            self.devices = answer.get("value") or []
            self.notes.pop("fleet", None)
        else:
            self.devices = []
            self._failed("fleet", answer)
        self._show_fleet()
        self._show_device_heading()
        if self.today_after_fleet:
            self.today_after_fleet = False
            self.load_today()

    def _show_fleet(self) -> None:
        today = self.options.today()
        tree = self.fleet_tree
        tree.clear()
        sites: dict[str, QTreeWidgetItem] = {}
        for device in sorted(
            self.devices, key=lambda d: (str(d.get("site")), str(d.get("device")))
        ):
            site = str(device.get("site", ""))
            if site not in sites:
                sites[site] = QTreeWidgetItem([self.t("site_heading", site=site)])
                tree.addTopLevelItem(sites[site])
            up = shapes.online(device)
            health = self.t("online" if up else "offline" if up is False else "unknown")
            readers = device.get("readers")
            item = QTreeWidgetItem(
                [
                    str(device.get("device", "")),
                    str(device.get("role", device.get("kind", ""))),
                    health,
                    "" if up else shapes.clock_text(shapes.offline_since(device), today),
                    shapes.parts_text(readers),
                    shapes.ils_text(device),
                    shapes.queue_text(device),
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, (site, str(device.get("device", ""))))
            item.setForeground(2, GOOD if up else BAD)
            if shapes.readers_ok(readers) is False:
                item.setForeground(4, BAD)
            sites[site].addChild(item)
        tree.expandAll()
        for column in range(tree.columnCount()):
            tree.resizeColumnToContents(column)
        self._show_bins()

    def _show_bins(self) -> None:
        rows = [(str(d.get("device", "")), *b) for d in self.devices for b in shapes.bins(d)]
        self.bins_table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            full = row[3] == "full"
            for column, value in enumerate(row):
                self.bins_table.setItem(index, column, _cell(value, BAD if full else None))
        self.bins_table.resizeColumnsToContents()

    def _device_chosen(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        chosen = item.data(0, Qt.ItemDataRole.UserRole)
        if chosen:
            self.show_device(*chosen)

    def show_device(self, site: str, device: str) -> None:
        if self.device != (site, device):
            # Not the last device's rows under this one's name while its own are on the way.
            self.events_table.setRowCount(0)
            self.commands_table.setRowCount(0)
        self.device = (site, device)
        self.command_panel.set_device(self.device)
        self._show_device_heading()
        central = self.central
        self._ask("events", lambda: central.events(device), self._events_answered)
        self._load_commands()
        self.tabs.setCurrentIndex(2)

    def _events_answered(self, answer: Answer) -> None:
        events: list[dict[str, Any]] = []
        if answer.get("ok"):
            events = answer.get("value") or []
            self.notes.pop("events", None)
        else:
            self._failed("events", answer)
        today = self.options.today()
        self.events_table.setRowCount(len(events))
        for index, event in enumerate(events):
            data = event.get("data")
            detail = event.get("item_id") or ""
            if isinstance(data, dict):
                detail = (
                    " ".join(
                        str(data[k])
                        for k in ("item_id", "title", "outcome", "part", "state")
                        if data.get(k)
                    )
                    or detail
                )
            for column, value in enumerate(
                (shapes.clock_text(event.get("time"), today), event.get("kind", ""), detail)
            ):
                self.events_table.setItem(index, column, _cell(value))
        # _stretch, not resizeColumnsToContents alone: the answer now comes while the table
        # shows, and a visible header would keep its last column at its contents' width.
        _stretch(self.events_table, 2)

    def _load_commands(self) -> None:
        """The chosen device's commands and their results, newest first, from the audit log."""
        if self.device is None:
            return
        central, device = self.central, self.device[1]
        self._ask("commands", lambda: central.commands(device), self._commands_answered)

    def _commands_answered(self, answer: Answer) -> None:
        commands: list[dict[str, Any]] = []
        if answer.get("ok"):
            commands = answer.get("value") or []
            self.notes.pop("commands", None)
        else:
            self._failed("commands", answer)
        today = self.options.today()
        self.commands_table.setRowCount(len(commands))
        for index, command in enumerate(commands):
            for column, value in enumerate(
                (
                    shapes.clock_text(command.get("time"), today),
                    command.get("command", ""),
                    command.get("actor", ""),
                    command.get("outcome") or self.t("pending"),
                )
            ):
                self.commands_table.setItem(index, column, _cell(value))
        _stretch(self.commands_table, 3)

    def _show_device_heading(self) -> None:
        if self.device is None:
            self.device_heading.setText(self.t("choose_device"))
            return
        site, name = self.device
        words = [name, self.t("site_heading", site=site)]
        for device in self.devices:
            if (device.get("site"), device.get("device")) == (site, name):
                up = shapes.online(device)
                words.append(self.t("online" if up else "offline" if up is False else "unknown"))
                words += [x for x in (shapes.parts_text(device.get("readers")),) if x]
        self.device_heading.setText(" — ".join(words))

    # --- statistics ----------------------------------------------------------------------

    def _site(self) -> str:
        site = self.site_edit.text().strip()
        if not site and self.devices:
            site = str(self.devices[0].get("site", ""))
            self.site_edit.setText(site)
        return site

    def load_today(self) -> None:
        site = self._site()
        if not site:
            return  # nothing to ask until a site is known (typed, or the fleet's first)
        central, day = self.central, self.options.today().isoformat()
        labels = [f"{h:02d}" for h in range(24)]
        self._ask(
            "stats",
            lambda: shapes.per_hour(central.stats(site, day)),
            lambda answer: self._stats_answered(answer, "hour", labels),
        )

    def load_period(self) -> None:
        start = self.from_edit.date().toPython()
        end = self.to_edit.date().toPython()
        site = self._site()
        if (
            not isinstance(start, date)
            or not isinstance(end, date)
            or not (0 <= (end - start).days < MAX_PERIOD_DAYS)
        ):
            self.tickets.redeem(self.tickets.issue("stats"))  # any answer still out is stale
            self.answers.pop("stats", None)
            self.chart_kind, self.chart_series, self.chart_labels = "day", {}, []
            self.notes["stats"] = ("bad_period", {})
            self._draw_charts()
            self._show_notes()
            return
        if not site:
            return
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        central = self.central

        def per_day() -> dict[str, list[int]]:
            series: dict[str, list[int]] = {name: [] for name in shapes.MEASURES}
            for day in days:
                total = shapes.totals(shapes.per_hour(central.stats(site, day.isoformat())))
                for name, values in series.items():
                    values.append(total[name])
            return series

        labels = [d.strftime("%d/%m") for d in days]
        self._ask("stats", per_day, lambda answer: self._stats_answered(answer, "day", labels))

    def _stats_answered(self, answer: Answer, kind: str, labels: list[str]) -> None:
        self.chart_kind, self.chart_series, self.chart_labels = kind, {}, []
        if answer.get("ok"):
            self.chart_series = answer.get("value") or {}
            self.chart_labels = labels
            self.notes.pop("stats", None)
        else:
            self._failed("stats", answer)
        self._draw_charts()

    def _draw_charts(self) -> None:
        axis = self.t("hour" if self.chart_kind == "hour" else "day")
        heading = "per_hour" if self.chart_kind == "hour" else "per_day"
        for plot, title, pairs in (
            (
                self.circulation_plot,
                self.t(heading),
                (("checkouts", "#1565c0"), ("returns", "#ef6c00")),
            ),
            (
                self.gate_plot,
                self.t("gate_counts"),
                (("people_in", "#2e7d32"), ("people_out", "#6a1b9a")),
            ),
        ):
            plot.clear()
            plot.setTitle(title)
            plot.setLabel("bottom", axis)
            legend = plot.plotItem.legend
            if legend is not None:
                legend.clear()
            ticks = [(i, label) for i, label in enumerate(self.chart_labels)]
            step = max(1, len(ticks) // 12)
            plot.getAxis("bottom").setTicks([ticks[::step], ticks])
            for offset, (name, color) in enumerate(pairs):
                values = self.chart_series.get(name)
                if not values:
                    continue
                bars = pg.BarGraphItem(
                    x=[i - 0.2 + 0.4 * offset for i in range(len(values))],
                    height=values,
                    width=0.4,
                    brush=color,
                    name=self.t(name),
                )
                plot.addItem(bars)
            # Headroom above the tallest bar, so the legend (top left) never hides a bar.
            top = max((max(self.chart_series.get(n) or [0]) for n, _ in pairs), default=0)
            plot.setYRange(0, max(top, 1) * 1.4, padding=0)
            plot.setXRange(-0.7, max(len(self.chart_labels), 1) - 0.3, padding=0)

    def closeEvent(self, event: Any) -> None:
        # Closing never waits for central: the answers still to come are dropped, the
        # requests still out hung up (their threads end at once and cannot hold the exit).
        self.requests.close()
        self.close_stream()
        self.command_panel.stop()
        self.central.abort()
        if self.signing is not None:
            self.signing.abort()
        super().closeEvent(event)
