"""Putting the return machine's wall screen together: Qt, the sorter link, viewmodel, QML.

The sorter's counterpart of :func:`ui.app.build`, sharing its pieces (the Qt
application and fonts, the theme, the reconnecting link); ``muontra ui``
calls it when the device says it is a sorter, and the tests call it too, so
they run the very window on the wall. The default size is a small landscape
wall panel (1024 × 600, a 7-inch screen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtQml import QQmlApplicationEngine
from PySide6.QtQuick import QQuickWindow

from ui.app import QML, Options, application
from ui.bridge import Startup, ThemeBridge
from ui.client import EngineLink, Message
from ui.sorter_bridge import SorterBridge
from ui.viewmodels.sorter import SorterViewModel
from ui.viewmodels.staff import StaffGate

WALL_SIZE = (1024, 600)


@dataclass
class SorterApp:
    qt: QGuiApplication
    engine: QQmlApplicationEngine
    window: QQuickWindow
    bridge: SorterBridge
    vm: SorterViewModel
    link: EngineLink

    def close(self) -> None:
        """Stop the link and tear QML down before the Python objects it binds to go away."""
        self.link.stop()
        self.window.setProperty("locked", False)  # the machine's own close is allowed
        self.window.close()
        self.window.deleteLater()
        self.engine.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def build_sorter(options: Options) -> SorterApp:
    qt = application()
    holder: list[EngineLink] = []
    bridges: list[SorterBridge] = []

    def send(cmd: str, args: Message, then: Callable[[Message], None] | None = None) -> None:
        # Answers arrive on the link's thread; the viewmodel hears them on the GUI thread.
        on_gui = None if then is None else (lambda answer: bridges[0].post(lambda: then(answer)))
        holder[0].send(cmd, args, on_gui)

    vm = SorterViewModel(send, StaffGate.from_environment(options.staff_pin_file))
    bridge = SorterBridge(vm)
    bridges.append(bridge)
    link = EngineLink(
        options.socket,
        on_event=lambda event: bridge.post(lambda: vm.event(event)),
        on_connection=lambda up: bridge.post(lambda: vm.connection(up)),
    )
    holder.append(link)

    screen = qt.primaryScreen()
    dpi = screen.physicalDotsPerInch() if screen is not None else 96.0
    theme = ThemeBridge(dpi, options.large_text, options.high_contrast, bridge)

    engine = QQmlApplicationEngine()
    context = engine.rootContext()
    context.setContextProperty("sorter", bridge)
    context.setContextProperty("theme", theme)
    context.setContextProperty("startup", Startup(options.windowed, False, options.size, bridge))
    engine.load(QUrl.fromLocalFile(str(QML / "SorterMain.qml")))
    windows = [obj for obj in engine.rootObjects() if isinstance(obj, QQuickWindow)]
    if not windows:
        raise RuntimeError("the QML window failed to load (see the messages above)")
    link.start()
    return SorterApp(qt, engine, windows[0], bridge, vm, link)


def wall_options(socket: Path, **values: object) -> Options:
    """Options for a wall screen: its size unless told otherwise."""
    options = Options(socket=socket, size=WALL_SIZE)
    for key, value in values.items():
        setattr(options, key, value)
    return options
