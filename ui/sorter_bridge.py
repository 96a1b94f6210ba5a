"""The Qt side of the return machine's wall screen: properties for QML, slots for its touches.

The same shape as :class:`ui.bridge.KioskBridge` (a queued signal puts every
callback from the link's thread onto the GUI thread; ``state``, ``tr`` and
``rows`` are re-sent whole when they change, each with its own change signal raised
only when its value differs, so that an event does not make QML re-read the whole text
table at every binding), for the sorter's viewmodel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Property, QObject, Signal, Slot

from ui.viewmodels.sorter import SorterViewModel


class SorterBridge(QObject):
    changed = Signal()
    """Something the screen shows changed (for Python listeners; QML binds to the three below)."""
    stateChanged = Signal()
    trChanged = Signal()
    rowsChanged = Signal()
    _inbox = Signal(object)

    def __init__(self, vm: SorterViewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self._state: dict[str, Any] = {}
        self._tr: dict[str, str] = {}
        self._rows: list[dict[str, Any]] = []
        self._inbox.connect(self._run)
        vm.listeners.append(self._refresh)
        self._refresh()

    def post(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the GUI thread (safe from any thread)."""
        self._inbox.emit(call)

    @Slot(object)
    def _run(self, call: Callable[[], None]) -> None:
        call()

    def _refresh(self) -> None:
        state, tr, rows = self.vm.snapshot(), self.vm.texts(), self.vm.rendered_rows()
        # All three set before QML hears of any: a binding re-read on one may read the others.
        told = [
            signal
            for signal, old, new in (
                (self.stateChanged, self._state, state),
                (self.trChanged, self._tr, tr),
                (self.rowsChanged, self._rows, rows),
            )
            if new != old
        ]
        self._state, self._tr, self._rows = state, tr, rows
        for signal in told:
            signal.emit()
        self.changed.emit()

    def _get_state(self) -> dict[str, Any]:
        return self._state

    def _get_tr(self) -> dict[str, str]:
        return self._tr

    def _get_rows(self) -> list[dict[str, Any]]:
        return self._rows

    state = Property("QVariantMap", _get_state, notify=stateChanged)
    tr = Property("QVariantMap", _get_tr, notify=trChanged)
    rows = Property("QVariantList", _get_rows, notify=rowsChanged)

    # --- patron touches ---------------------------------------------------------------------

    @Slot(str)
    def chooseLanguage(self, language: str) -> None:
        self.vm.choose_language(language)

    @Slot(bool)
    def finish(self, want_receipt: bool) -> None:
        self.vm.finish(want_receipt)

    @Slot()
    def dropTimeout(self) -> None:
        self.vm.drop_timeout()

    @Slot(str)
    def receipt(self, how: str) -> None:
        self.vm.receipt(how)

    @Slot()
    def receiptBack(self) -> None:
        self.vm.receipt_back()

    @Slot(str)
    def emailKey(self, key: str) -> None:
        self.vm.email_key(key)

    @Slot()
    def home(self) -> None:
        self.vm.home()

    # --- staff touches ------------------------------------------------------------------------

    @Slot()
    def staffOpen(self) -> None:
        self.vm.staff_open()

    @Slot(str)
    def pinKey(self, key: str) -> None:
        self.vm.pin_key(key)

    @Slot()
    def pinClear(self) -> None:
        self.vm.pin_clear()

    @Slot()
    def staffSubmit(self) -> None:
        self.vm.staff_submit()

    @Slot()
    def staffRefresh(self) -> None:
        self.vm.staff_refresh()

    @Slot(str)
    def staffShow(self, screen: str) -> None:
        self.vm.staff_show(screen)

    @Slot(str)
    def askEmpty(self, bin_id: str) -> None:
        self.vm.ask_empty(bin_id)

    @Slot()
    def confirmEmpty(self) -> None:
        self.vm.confirm_empty()

    @Slot()
    def cancelEmpty(self) -> None:
        self.vm.cancel_empty()

    @Slot(bool)
    def staffPause(self, pause: bool) -> None:
        self.vm.staff_pause(pause)

    @Slot()
    def staffExit(self) -> None:
        self.vm.staff_exit()
