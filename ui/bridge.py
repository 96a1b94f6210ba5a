"""The thin Qt side of the viewmodels: properties for QML to bind to, slots for its touches.

Nothing here decides anything. Callbacks from the engine link's reader thread
are re-posted through a queued signal, so the viewmodel only ever runs on the
GUI thread. ``state``, ``tr``, ``items`` and ``returns`` are re-sent whole when
they change: a kiosk screen holds a few dozen rows, far below what would need a
list model.

Each has its own change signal, raised only when its value differs. QML reads a
map property whole at every binding that names it (``kiosk.tr.done`` converts
all 154 texts), so one signal for all four made every event of the engine
re-evaluate every binding of the screen: 270 conversions of the text table per
checkout-and-return, 32 now (the bindings of each new screen). That churn was
the touchscreen's largest memory cost over time (issue 15): fed a checkout and
a return 600 times, the window's process stood 17 MB above its size after the
first 25 with the free heap given back (mostly freed memory the allocator kept),
8 MB now. The texts change with the language only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Property, QObject, Signal, Slot

from ui.client import EngineLink
from ui.viewmodels.kiosk import KioskViewModel
from ui.viewmodels.theme import as_dict, theme_for


class KioskBridge(QObject):
    changed = Signal()
    """Something the screen shows changed (for Python listeners; QML binds to the four below)."""
    stateChanged = Signal()
    trChanged = Signal()
    itemsChanged = Signal()
    returnsChanged = Signal()
    _inbox = Signal(object)

    def __init__(self, vm: KioskViewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.link: EngineLink | None = None
        self.last_change = 0.0
        self._state: dict[str, Any] = {}
        self._tr: dict[str, str] = {}
        self._items: list[dict[str, Any]] = []
        self._returns: list[dict[str, Any]] = []
        self._inbox.connect(self._run)
        vm.listeners.append(self._refresh)
        self._refresh()

    # --- threads ----------------------------------------------------------------------------

    def post(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the GUI thread (safe from any thread)."""
        self._inbox.emit(call)

    @Slot(object)
    def _run(self, call: Callable[[], None]) -> None:
        call()

    def attach(self, link: EngineLink) -> None:
        self.link = link

    def _refresh(self) -> None:
        state, tr = self.vm.snapshot(), self.vm.texts()
        items, returns = self.vm.rendered_rows(), self.vm.rendered_rows(returns=True)
        # Set all four before telling QML anything: a binding re-evaluated on one signal
        # may read the others.
        told = [
            signal
            for signal, old, new in (
                (self.stateChanged, self._state, state),
                (self.trChanged, self._tr, tr),
                (self.itemsChanged, self._items, items),
                (self.returnsChanged, self._returns, returns),
            )
            if new != old
        ]
        self._state, self._tr, self._items, self._returns = state, tr, items, returns
        self.last_change = time.time()
        for signal in told:
            signal.emit()
        self.changed.emit()

    # --- what QML binds to --------------------------------------------------------------------

    def _get_state(self) -> dict[str, Any]:
        return self._state

    def _get_tr(self) -> dict[str, str]:
        return self._tr

    def _get_items(self) -> list[dict[str, Any]]:
        return self._items

    def _get_returns(self) -> list[dict[str, Any]]:
        return self._returns

    state = Property("QVariantMap", _get_state, notify=stateChanged)
    tr = Property("QVariantMap", _get_tr, notify=trChanged)
    items = Property("QVariantList", _get_items, notify=itemsChanged)
    returns = Property("QVariantList", _get_returns, notify=returnsChanged)

    # --- touches ------------------------------------------------------------------------------

    @Slot(str)
    def chooseLanguage(self, language: str) -> None:
        self.vm.choose_language(language)

    @Slot(str)
    def start(self, intent: str) -> None:
        self.vm.start(intent)

    @Slot()
    def startReturn(self) -> None:
        self.vm.start_return()

    @Slot(bool)
    def showKeyboard(self, shown: bool) -> None:
        self.vm.show_keyboard(shown)

    @Slot(str)
    def typeKey(self, key: str) -> None:
        self.vm.type_key(key)

    @Slot()
    def submitId(self) -> None:
        self.vm.submit_id()

    @Slot(str)
    def pinKey(self, key: str) -> None:
        self.vm.pin_key(key)

    @Slot()
    def pinClear(self) -> None:
        self.vm.pin_clear()

    @Slot()
    def submitPin(self) -> None:
        self.vm.submit_pin()

    @Slot()
    def openAccount(self) -> None:
        self.vm.open_account()

    @Slot()
    def toCheckout(self) -> None:
        self.vm.to_checkout()

    @Slot(str)
    def renew(self, item_id: str) -> None:
        self.vm.renew(item_id)

    @Slot()
    def finish(self) -> None:
        self.vm.finish()

    @Slot(str)
    def receipt(self, method: str) -> None:
        self.vm.receipt(method)

    @Slot()
    def cancel(self) -> None:
        self.vm.cancel()

    @Slot()
    def home(self) -> None:
        self.vm.home()

    @Slot()
    def stillHere(self) -> None:
        self.vm.still_here()

    @Slot()
    def staffOpen(self) -> None:
        self.vm.staff_open()

    @Slot()
    def staffSubmit(self) -> None:
        self.vm.staff_submit()

    @Slot(str)
    def staffAction(self, action: str) -> None:
        self.vm.staff_action(action)

    @Slot()
    def staffRefresh(self) -> None:
        self.vm.staff_refresh()

    @Slot()
    def staffExit(self) -> None:
        self.vm.staff_exit()


class SimBridge(QObject):
    """The simulator panel's buttons: ``sim_*`` commands, for demos and tests only."""

    answered = Signal(str)

    def __init__(self, send: Callable[..., None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._send = send

    def _do(self, cmd: str, args: dict[str, Any]) -> None:
        def done(answer: dict[str, Any]) -> None:
            error = answer.get("error") or {}
            self.answered.emit("ok" if answer.get("ok") else str(error.get("en") or error))

        self._send(cmd, args, done)

    @Slot(str, int, int)
    def place(self, item_id: str, size: int, index: int) -> None:
        if item_id:
            self._do("sim_place", {"item_id": item_id, "set_size": size, "set_index": index})

    @Slot(str, int, int)
    def remove(self, item_id: str, size: int, index: int) -> None:
        if item_id:
            self._do("sim_remove", {"item_id": item_id, "set_size": size, "set_index": index})

    @Slot()
    def clear(self) -> None:
        self._do("sim_clear", {})

    @Slot(str)
    def card(self, text: str) -> None:
        self._do("sim_card", {"text": text} if text else {})

    @Slot()
    def cardRemove(self) -> None:
        self._do("sim_card_remove", {})

    @Slot(str)
    def scan(self, code: str) -> None:
        if code:
            self._do("sim_scan", {"code": code})

    @Slot(bool)
    def unplug(self, unplugged: bool) -> None:
        self._do("sim_fault", {"name": "unplugged", "value": unplugged})

    @Slot(bool)
    def ils(self, down: bool) -> None:
        self._do("sim_ils", {"down": down})


class ThemeBridge(QObject):
    """Sizes and colours for QML; the window reports its size and they follow."""

    changed = Signal()

    def __init__(
        self,
        dots_per_inch: float,
        large_text: bool,
        high_contrast: bool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.dpi = dots_per_inch
        self.large_text = large_text
        self.high_contrast = high_contrast
        self._values: dict[str, object] = {}
        self.fit(1080, 1920)

    @Slot(float, float)
    def fit(self, width: float, height: float) -> None:
        theme = theme_for(
            width,
            height,
            self.dpi,
            large_text=self.large_text,
            high_contrast=self.high_contrast,
        )
        values = as_dict(theme)
        if values != self._values:
            self._values = values
            self.changed.emit()

    def _get(self) -> dict[str, object]:
        return self._values

    values = Property("QVariantMap", _get, notify=changed)


class Startup(QObject):
    """How the window starts (full screen or not, its size, the simulator panel).

    A QObject rather than plain context values: PySide6 mishandles the reference
    count of Python bools set directly as context properties.
    """

    def __init__(
        self, windowed: bool, sim_panel: bool, size: tuple[int, int], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._windowed = windowed
        self._sim_panel = sim_panel
        self._width, self._height = size

    def _get_windowed(self) -> bool:
        return self._windowed

    def _get_sim_panel(self) -> bool:
        return self._sim_panel

    def _get_width(self) -> int:
        return self._width

    def _get_height(self) -> int:
        return self._height

    windowed = Property(bool, _get_windowed, constant=True)
    simPanel = Property(bool, _get_sim_panel, constant=True)
    width = Property(int, _get_width, constant=True)
    height = Property(int, _get_height, constant=True)
