"""Helpers for driving the real window: wait for a screen, press what QML's buttons press."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPointF, Qt
from PySide6.QtQuick import QQuickItem
from PySide6.QtTest import QTest


def loaded_screen(app: Any) -> str:
    loader = app.window.findChild(QObject, "screenLoader")
    item = loader.property("item") if loader is not None else None
    return str(item.objectName()) if item is not None else ""


def wait_screen(qtbot: Any, app: Any, name: str, timeout: int = 10000) -> None:
    """The viewmodel says ``name`` and QML has loaded that screen's file."""

    def shown() -> bool:
        return app.vm.visible_screen == name and loaded_screen(app) == f"screen-{name}"

    qtbot.waitUntil(shown, timeout=timeout)


def find_item(app: Any, name: str) -> QQuickItem:
    found = app.window.findChild(QQuickItem, name)
    # Right after a screen change the old screen's item can still exist (not yet
    # deleted, no longer in the window): take only one that is on screen now.
    if found is not None and found.window() is app.window and found.isVisible():
        return found
    for item in _walk(app.window.contentItem()):
        if item.objectName() == name and item.isVisible():
            return item
    raise AssertionError(f"no item {name!r} on screen")


def _walk(item: QQuickItem) -> Any:
    yield item
    for child in item.childItems():
        yield from _walk(child)


def tap(app: Any, name: str) -> None:
    """A real click in the middle of the named item, as a finger would.

    The window is drawn first: a finger taps what the screen shows, and drawing lays the
    scene out (a Column places a button that just became visible only when polished), so
    the item's position is where it is drawn, not where it was before the last change."""
    app.window.grabWindow()
    item = find_item(app, name)
    centre = item.mapToScene(QPointF(item.width() / 2, item.height() / 2)).toPoint()
    QTest.mouseClick(app.window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)


def log_in(qtbot: Any, app: Any, patron: str = "P0001", pin: str = "1234") -> None:
    wait_screen(qtbot, app, "welcome")
    app.bridge.start("checkout")
    wait_screen(qtbot, app, "identify")
    app.bridge.showKeyboard(True)
    for key in patron:
        app.bridge.typeKey(key)
    app.bridge.submitId()
    wait_screen(qtbot, app, "pin")
    for key in pin:
        app.bridge.pinKey(key)
    app.bridge.submitPin()
    wait_screen(qtbot, app, "checkout")


def row(app: Any, key: str) -> dict[str, Any] | None:
    for r in app.bridge.items + app.bridge.returns:
        if r["key"] == key:
            return r
    return None
