"""Patron after patron, the touchscreen keeps the same objects (issue 15).

Each transaction swaps screens (checkout, goodbye, return, checkout...) in the
window's Loader. The screen that leaves must be deleted, with its items, QML
contexts and delegates; one left behind per screen change would grow the
touchscreen for as long as the kiosk serves. The window is the real one,
offscreen, fed the events a checkout and a return bring (the sequence
bench/footprint.py drives through a real kiosk), and its live objects are
counted by type after a few cycles and after many more.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject

from tests.ui.flows import wait_screen

ITEM = {"title": "Dế Mèn phiêu lưu ký", "state": "done", "success": True}


@pytest.fixture
def screen(qapp: Any, tmp_path: Path) -> Iterator[Any]:
    from ui.app import Options, build

    app = build(Options(socket=tmp_path / "nobody.sock", size=(800, 1200)))
    app.link.stop()  # no engine here: the viewmodel is fed the engine's events by hand
    app.vm._send = lambda cmd, args, then=None: None
    app.vm.connection(True)
    app.vm.role = "both"
    yield app
    app.close()


def _cycle(qtbot: Any, app: Any, item: str) -> None:
    """A patron borrows ``item``, the receipt ends the session, the item comes back."""
    sequence = iter(range(10**9))

    def event(kind: str, /, **fields: Any) -> None:
        app.vm.event({"event": kind, "seq": next(sequence), "time": time.time(), **fields})

    event("patron_identified", patron_ref="p-0001", method="typed")
    event("session_started", name="Hương", offline=False, patron_ref="p-0001")
    wait_screen(qtbot, app, "checkout")
    event("item", outcome="processing", item_id=item, kind="checkout")
    lent = {"vi": "Đã mượn", "en": "Checked out"}
    due = "20261224    235959"
    event(
        "item",
        kind="checkout",
        item_id=item,
        outcome="checked_out",
        due_date=due,
        message=lent,
        **ITEM,
    )
    event("summary", checked_out=1, failed=0)
    event("session_ended", reason="done", session="s")
    wait_screen(qtbot, app, "goodbye")
    event("tag_removed", uid="E0040100000000001")
    event("mode", mode="return")
    event("item", outcome="processing", item_id=item, kind="checkin")
    back = {"vi": "Đã trả", "en": "Returned"}
    event("item", kind="checkin", item_id=item, outcome="returned", message=back, **ITEM)
    wait_screen(qtbot, app, "return")
    event("tag_removed", uid="E0040100000000001")


def _live(app: Any) -> Counter[str]:
    """The window's objects by class (QML types by their file: Checkout_QMLTYPE_12...)."""
    found: Counter[str] = Counter()
    for child in app.window.findChildren(QObject):
        name = child.metaObject().className()
        found[name.split("_QMLTYPE_")[0]] += 1
    return found


def test_screens_come_and_go_without_piling_up(qtbot: Any, screen: Any) -> None:
    items = ["B0001", "B0002", "B0003"]
    for n in range(3):
        _cycle(qtbot, screen, items[n % 3])
    # The screen that just left is deleted later (deleteLater): wait for the count to
    # come back down rather than read it while the old screen still exists.
    baseline: list[Counter[str]] = []

    def steady() -> bool:
        now = _live(screen)
        settled = bool(baseline) and now == baseline[-1]
        baseline.append(now)
        return settled

    qtbot.waitUntil(steady, timeout=10000)
    before = baseline[-1]
    assert before["Returns"] == 1  # the return screen is up, once

    for n in range(30):
        _cycle(qtbot, screen, items[n % 3])

    def back_to_baseline() -> bool:
        return _live(screen) == before

    try:
        qtbot.waitUntil(back_to_baseline, timeout=10000)
    except AssertionError:
        after = _live(screen)
        grown = {k: (before[k], after[k]) for k in after | before if after[k] != before[k]}
        raise AssertionError(f"objects left behind after 30 more cycles: {grown}") from None


def test_the_texts_are_sent_again_only_when_the_language_changes(qtbot: Any, screen: Any) -> None:
    """QML converts the whole text table at every binding that reads it: an engine event
    must not make the screen read it again, a language change must."""
    told: Counter[str] = Counter()
    bridge = screen.bridge
    for name in ("stateChanged", "trChanged", "itemsChanged", "returnsChanged"):
        getattr(bridge, name).connect(lambda name=name: told.update([name]))
    _cycle(qtbot, screen, "B0001")
    assert told["trChanged"] == 0
    assert told["stateChanged"] > 0 and told["itemsChanged"] > 0 and told["returnsChanged"] > 0

    screen.vm.home()
    wait_screen(qtbot, screen, "welcome")
    qtbot.waitUntil(lambda: _shown(screen, "Xin chào!"), timeout=10000)
    screen.bridge.chooseLanguage("en")
    assert told["trChanged"] == 1
    # The same screen now shows the English texts: its bindings followed the signal.
    qtbot.waitUntil(lambda: _shown(screen, "Welcome!"), timeout=10000)


def _shown(app: Any, text: str) -> bool:
    from PySide6.QtQuick import QQuickItem

    return any(
        item.property("text") == text
        for item in app.window.findChildren(QQuickItem)
        if item.isVisible()
    )
