"""When Qt cannot open a window, `muontra ui` says why in one line and the demo plays text.

Two real failures, no stand-ins: QT_QPA_PLATFORM naming a plugin Qt does not
have, and issue 19 itself, a library of Qt's xcb plugin missing. The library is
hidden in a private mount namespace (``unshare``, no root needed): the system's
library folder is replaced, for the child only, by a folder of links to every
file but that library, so the loader truly cannot find it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.xserver import missing_tools, xvfb
from ui.platform_probe import ldd, plugin_file, plugins_path

HIDDEN = "libxcb-icccm.so.4"  # one of the libraries missing on the machine of issue 19

# Runs as root of a new user and mount namespace: the library folder becomes links to
# the real files (kept reachable through a second mount) minus the hidden library.
HIDE = r"""
set -e
lib=$1; hidden=$2; shift 2
work=$(mktemp -d)
mkdir "$work/real" "$work/links"
mount --bind "$lib" "$work/real"
mount -t tmpfs links "$work/links"
for entry in "$work/real"/*; do
    name=${entry##*/}
    case "$name" in "$hidden"*) continue ;; esac
    ln -s "$entry" "$work/links/$name"
done
mount --bind "$work/links" "$lib"
exec "$@"
"""


@pytest.fixture
def display() -> Iterator[str]:
    """A running X server, as on the desktop of issue 19."""
    if "Xvfb" in missing_tools():
        pytest.skip("Xvfb is absent: install the Debian package xvfb (scripts/bootstrap.sh does)")
    with xvfb() as name:
        yield name


def environment(**values: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("QT_QPA_PLATFORM", "QT_QUICK_BACKEND", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    env.update(values)
    return env


def muontra(*args: str, env: dict[str, str], wrap: list[str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [*(wrap or []), sys.executable, "-m", "muontra", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def ours(stderr: str, command: str) -> list[str]:
    """The lines the command itself printed (log lines start with a date)."""
    return [line for line in stderr.splitlines() if line.startswith(f"muontra {command}:")]


def test_ui_with_a_platform_qt_does_not_have_exits_4_with_one_line() -> None:
    code, out, err = muontra("ui", env=environment(DISPLAY=":0", QT_QPA_PLATFORM="nosuchscreen"))
    assert code == 4, err
    assert err.count("\n") == 1 and out == ""
    assert err.startswith(
        'muontra ui: the touchscreen cannot start: Qt has no platform plugin "nosuchscreen" '
    )
    assert "xcb" in err and "QT_QPA_PLATFORM" in err  # what Qt has instead, and what to check


def test_demo_with_a_platform_qt_does_not_have_plays_the_text_session() -> None:
    code, out, err = muontra("demo", env=environment(DISPLAY=":0", QT_QPA_PLATFORM="nosuchscreen"))
    assert code == 0, err
    [line] = ours(err, "demo")
    assert 'Qt has no platform plugin "nosuchscreen"' in line
    assert line.endswith("— playing the session as text")
    assert "── 9. " in out  # the whole text session, returns included


def hiding(library: str) -> list[str]:
    """The command prefix that runs a child with ``library`` gone from the system."""
    plugin = plugin_file(plugins_path(), "xcb")
    assert plugin is not None, "PySide6 has no xcb platform plugin"
    resolved = [
        line.split("=>")[1].split("(")[0].strip()
        for line in ldd(plugin).splitlines()
        if line.strip().startswith(library + " =>")
    ]
    if not resolved or resolved[0] == "not found":
        pytest.fail(f"{library} is not installed: scripts/bootstrap.sh installs it")
    folder = str(Path(resolved[0]).resolve().parent)
    prefix = ["unshare", "--map-root-user", "--mount", "sh", "-c", HIDE, "hide", folder, library]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here to hide {library}: {probe.stderr.strip()}")
    return prefix


def test_ui_names_the_missing_package_and_exits_4(display: str) -> None:
    code, out, err = muontra("ui", env=environment(DISPLAY=display), wrap=hiding(HIDDEN))
    assert out == ""
    assert code == 4, err
    assert err == (
        "muontra ui: the touchscreen cannot start: Qt's xcb plugin needs libxcb-icccm.so.4, "
        "not installed here; install the Debian package libxcb-icccm4 "
        "(`sudo apt-get install libxcb-icccm4`, or scripts/bootstrap.sh)\n"
    )


def test_demo_names_the_missing_package_and_plays_the_text_session(display: str) -> None:
    code, out, err = muontra("demo", env=environment(DISPLAY=display), wrap=hiding(HIDDEN))
    assert code == 0, err
    [line] = ours(err, "demo")
    assert line == (
        "muontra demo: the touchscreen cannot start: Qt's xcb plugin needs libxcb-icccm.so.4, "
        "not installed here; install the Debian package libxcb-icccm4 "
        "(`sudo apt-get install libxcb-icccm4`, or scripts/bootstrap.sh) "
        "— playing the session as text"
    )
    assert "── 9. " in out
    assert "Could not load the Qt platform plugin" not in err  # no bare Qt abort
