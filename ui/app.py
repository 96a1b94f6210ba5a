"""Putting the touchscreen together: Qt application, engine link, viewmodel, QML window.

:func:`build` is what both ``muontra ui`` and the tests call, so the tests run
the very window a patron sees (offscreen). Fonts are loaded by family from the
system (fonts-noto-core or fonts-dejavu-core): both cover Vietnamese, and
nothing large is bundled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QUrl
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtQml import QQmlApplicationEngine
from PySide6.QtQuick import QQuickWindow

from ui.bridge import KioskBridge, SimBridge, Startup, ThemeBridge
from ui.client import EngineLink, Message
from ui.sound import SoundCues
from ui.viewmodels.kiosk import KioskViewModel
from ui.viewmodels.staff import StaffGate

log = logging.getLogger(__name__)

QML = Path(__file__).with_name("qml")
FONT_FAMILIES = ("Noto Sans", "DejaVu Sans")


@dataclass
class Options:
    socket: Path
    windowed: bool = True
    large_text: bool = False
    high_contrast: bool = False
    sim_panel: bool = False
    sound: bool = False
    staff_pin_file: str | None = None
    size: tuple[int, int] = (1080, 1920)
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class KioskApp:
    qt: QGuiApplication
    engine: QQmlApplicationEngine
    window: QQuickWindow
    sim_window: QQuickWindow | None
    bridge: KioskBridge
    vm: KioskViewModel
    link: EngineLink

    def close(self) -> None:
        """Stop the link and tear QML down before the Python objects it binds to go away."""
        self.link.stop()
        self.window.setProperty("locked", False)  # the kiosk's own close is allowed
        for window in (self.window, self.sim_window):
            if window is not None:
                window.close()
                window.deleteLater()
        self.engine.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def application() -> QGuiApplication:
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        app = QGuiApplication(["muontra-ui"])
    app.setApplicationName("muontra-ui")
    family = pick_font()
    if family:
        app.setFont(QFont(family))
    return app


def pick_font() -> str | None:
    families = set(QFontDatabase.families())
    for family in FONT_FAMILIES:
        if family in families:
            return family
    log.warning("neither Noto Sans nor DejaVu Sans is installed: Vietnamese may not render")
    return None


def build(options: Options) -> KioskApp:
    qt = application()
    link_holder: list[EngineLink] = []
    bridge_holder: list[KioskBridge] = []

    def on_gui(then: Callable[[Message], None] | None) -> Callable[[Message], None] | None:
        """Answers arrive on the link's thread; the viewmodel hears them on the GUI thread."""
        if then is None:
            return None
        return lambda answer: bridge_holder[0].post(lambda: then(answer))

    def send(cmd: str, args: Message, then: Callable[[Message], None] | None = None) -> None:
        link_holder[0].send(cmd, args, on_gui(then))

    vm = KioskViewModel(send, StaffGate.from_environment(options.staff_pin_file))
    bridge = KioskBridge(vm)
    bridge_holder.append(bridge)
    link = EngineLink(
        options.socket,
        on_event=lambda event: bridge.post(lambda: vm.event(event)),
        on_connection=lambda up: bridge.post(lambda: vm.connection(up)),
    )
    link_holder.append(link)
    bridge.attach(link)

    screen = qt.primaryScreen()
    dpi = screen.physicalDotsPerInch() if screen is not None else 96.0
    theme = ThemeBridge(dpi, options.large_text, options.high_contrast, bridge)
    sim = SimBridge(send, bridge)
    sound = SoundCues(options.sound, bridge)
    vm.listeners.append(sound.follow(vm))

    engine = QQmlApplicationEngine()
    context = engine.rootContext()
    context.setContextProperty("kiosk", bridge)
    context.setContextProperty("theme", theme)
    context.setContextProperty("sim", sim)
    context.setContextProperty(
        "startup", Startup(options.windowed, options.sim_panel, options.size, bridge)
    )
    engine.load(QUrl.fromLocalFile(str(QML / "Main.qml")))
    windows = [obj for obj in engine.rootObjects() if isinstance(obj, QQuickWindow)]
    if not windows:
        raise RuntimeError("the QML window failed to load (see the messages above)")
    window = windows[0]
    sim_window = window.findChild(QQuickWindow, "simPanel")
    link.start()
    return KioskApp(qt, engine, window, sim_window, bridge, vm, link)
