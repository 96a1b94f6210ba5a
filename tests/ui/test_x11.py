"""`muontra demo` and `muontra ui` on a real X server, with Qt's default platform (xcb).

The other touchscreen tests run offscreen, which loads none of the libraries Qt's
xcb plugin needs: a desktop without them aborted at once (issue 19) and nothing
noticed. Here each command runs as a person starts it, under Xvfb, with neither
QT_QPA_PLATFORM nor QT_QUICK_BACKEND set; both windows must map and draw (grabbed
from the X server), and closing the main window as a window manager does must end
the command with status 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import Station
from tests.ui.xserver import (
    Grab,
    XWindow,
    close_window,
    grab,
    is_viewable,
    missing_tools,
    top_windows,
    wait_for,
    xvfb,
)
from ui.i18n import tr

SIZE = (900, 1400)
TITLES = {"main": tr("app_title", "vi"), "panel": tr("sim_panel", "vi")}
PANEL_SIZE = (520, 560)  # SimPanel.qml


@pytest.fixture
def display() -> Iterator[str]:
    missing = missing_tools()
    if "Xvfb" in missing:
        pytest.skip("Xvfb is absent: install the Debian package xvfb (scripts/bootstrap.sh does)")
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: scripts/bootstrap.sh installs them")
    with xvfb() as name:
        yield name


def desktop(display: str) -> dict[str, str]:
    """This environment as a desktop session has it: Qt chooses its platform and renderer."""
    env = dict(os.environ)
    for name in ("QT_QPA_PLATFORM", "QT_QUICK_BACKEND", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    env["DISPLAY"] = display
    return env


def start(command: list[str], display: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    log = (tmp_path / "stderr.txt").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "muontra", *command],
        env=desktop(display),
        stdout=(tmp_path / "stdout.txt").open("wb"),
        stderr=log,
    )


def shown(display: str, process: subprocess.Popen[bytes], tmp_path: Path) -> dict[str, XWindow]:
    """Both windows, once mapped and drawn; fails if the command ends first."""

    def both() -> dict[str, XWindow] | None:
        if process.poll() is not None:
            raise AssertionError(
                f"ended with status {process.returncode} before showing its windows: "
                + (tmp_path / "stderr.txt").read_text(errors="replace")[-2000:]
            )
        by_title = {w.title: w for w in top_windows(display)}
        found = {role: by_title.get(title) for role, title in TITLES.items()}
        if any(w is None or not is_viewable(display, w.wid) for w in found.values()):
            return None
        return {role: w for role, w in found.items() if w is not None}

    windows = wait_for("the touchscreen and the simulator panel to map", both)
    assert (windows["main"].width, windows["main"].height) == SIZE
    assert (windows["panel"].width, windows["panel"].height) == PANEL_SIZE

    def painted(role: str) -> tuple[XWindow, Grab] | None:
        # Found by title on every try: a window Qt maps again has a new id.
        now = both()
        window = now.get(role) if now is not None else None
        picture = drawn(display, window) if window is not None else None
        return (window, picture) if window is not None and picture is not None else None

    for role in windows:
        window, picture = wait_for(f"the {role} window to draw", lambda r=role: painted(r))
        assert (picture.width, picture.height) == (window.width, window.height)
        windows[role] = window
    return windows


def drawn(display: str, window: XWindow) -> Grab | None:
    """The window's picture once painted: a QML screen's text and buttons give many
    colours (anti-aliased text alone gives dozens); an unpainted window has one or two.
    None also while xwd cannot grab it (unmapped for a moment: it failed a loaded run)."""
    try:
        picture = grab(display, window.wid)
    except subprocess.CalledProcessError:
        return None
    return picture if picture.colours() > 50 else None


def close_and_wait(display: str, process: subprocess.Popen[bytes], main: XWindow) -> int:
    close_window(display, main.wid)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("closing the touchscreen's window did not end the command") from None


def test_demo_shows_the_touchscreen_and_the_simulator_panel_on_x(
    display: str, tmp_path: Path
) -> None:
    demo = start(["demo"], display, tmp_path)
    try:
        windows = shown(display, demo, tmp_path)
        assert close_and_wait(display, demo, windows["main"]) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    said = (tmp_path / "stdout.txt").read_text()
    assert "Close the window to stop." in said
    assert "── 1. " not in said  # the touchscreen, not the text session
    assert not [w for w in top_windows(display) if w.title in TITLES.values()]


def test_ui_against_an_engine_on_x(display: str, station: Station, tmp_path: Path) -> None:
    ui = start(
        ["ui", "--windowed", "--sim-panel", "--socket", str(station.socket), "--size", "900x1400"],
        display,
        tmp_path,
    )
    try:
        windows = shown(display, ui, tmp_path)
        assert close_and_wait(display, ui, windows["main"]) == 0
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait()
    assert not [w for w in top_windows(display) if w.title in TITLES.values()]
