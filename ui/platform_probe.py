"""Can Qt open a window here? Asked in a child process, answered in one line.

When Qt cannot load its platform plugin (a library of Qt's xcb plugin not
installed, an X server that is not there, a QT_QPA_PLATFORM naming no plugin)
it prints a few lines and aborts the whole process: nothing in Python can catch
that. So ``muontra ui`` (and through it ``muontra demo``) first lets a throwaway
child start a QGuiApplication with the same environment. If the child dies, the
parent still stands and says why in one line, naming the Debian package to
install when a library is what is missing: Qt's own hint names libxcb-cursor0
even when another library is the one missing, so the libraries are read from
``ldd`` of the plugin instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The child: start the GUI side of Qt the way the touchscreen does, say which platform.
CHILD = (
    "from PySide6.QtGui import QGuiApplication\n"
    "app = QGuiApplication(['muontra-ui-check'])\n"
    "print(app.platformName(), flush=True)\n"
)
TIMEOUT = 60.0

# Debian names a library package after the soname: libfoo.so.3 -> libfoo3, and
# libfoo2.so.0 -> libfoo2-0 (a hyphen where two numbers would meet). These differ.
PACKAGE_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libstdc++.so.6": "libstdc++6",
    "libGLX.so.0": "libglx0",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)
_PLUGIN = re.compile(r'Could not (load|find) the Qt platform plugin "([^"]*)"')
_CONNECT = re.compile(r"could not connect to display\s*(\S*)", re.IGNORECASE)
_AVAILABLE = re.compile(r"Available platform plugins are:[ \t]*([^\n]*?)\.?[ \t]*$", re.MULTILINE)
_WAYLAND = re.compile(r"Failed to create wl_display", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    platform: str  # the platform Qt started, or the one it failed to load ("" if unknown)
    reason: str  # one line when not ok, naming what to install when that is the cure


def package_for(soname: str) -> str:
    """The Debian package that ships a shared library, by Debian's naming policy."""
    if soname in PACKAGE_EXCEPTIONS:
        return PACKAGE_EXCEPTIONS[soname]
    stem, sep, version = soname.partition(".so.")
    if not sep or not stem:
        return soname
    version = version.split(".")[0]
    stem = stem.lower()
    return f"{stem}-{version}" if stem[-1].isdigit() else f"{stem}{version}"


def missing_libraries(ldd_output: str) -> list[str]:
    """Sonames ``ldd`` could not resolve, each once, in the order it listed them."""
    seen: list[str] = []
    for name in _NOT_FOUND.findall(ldd_output):
        if name not in seen:
            seen.append(name)
    return seen


def plugin_file(plugins: Path, platform: str) -> Path | None:
    """The platform plugin's library: libqxcb.so for xcb; wayland-egl lives in libqwayland*."""
    folder = plugins / "platforms"
    exact = folder / f"libq{platform}.so"
    if exact.is_file():
        return exact
    family = platform.split("-", maxsplit=1)[0]
    candidates = sorted(folder.glob(f"libq{family}*.so")) if family else []
    return candidates[0] if candidates else None


def explain(qt_output: str, missing: list[str], environment_platform: str = "") -> Verdict:
    """One line from what the child printed and the libraries its plugin lacks."""
    verdict = _explain(qt_output, missing, environment_platform)
    # One line whatever Qt or QT_QPA_PLATFORM held: a caller prints it as one.
    return Verdict(False, verdict.platform, " ".join(verdict.reason.splitlines()))


def _explain(qt_output: str, missing: list[str], environment_platform: str) -> Verdict:
    match = _PLUGIN.search(qt_output)
    platform = match.group(2) if match else environment_platform
    if missing:
        packages = " ".join(dict.fromkeys(package_for(name) for name in missing))
        return Verdict(
            False,
            platform,
            f"the touchscreen cannot start: Qt's {platform or 'platform'} plugin needs "
            f"{', '.join(missing)}, not installed here; install the Debian "
            f"package{'s' if ' ' in packages else ''} {packages} "
            f"(`sudo apt-get install {packages}`, or scripts/bootstrap.sh)",
        )
    connect = _CONNECT.search(qt_output)
    if connect:
        where = connect.group(1) or "(none)"
        return Verdict(
            False,
            platform or "xcb",
            f"the touchscreen cannot start: Qt cannot connect to the X display {where} "
            "(is the X server running, and may this user open it?)",
        )
    if _WAYLAND.search(qt_output):
        return Verdict(
            False,
            platform or "wayland",
            "the touchscreen cannot start: Qt cannot connect to the Wayland compositor "
            "(is cage or the desktop session running, with WAYLAND_DISPLAY and "
            "XDG_RUNTIME_DIR set?)",
        )
    if match and match.group(1) == "find":
        available = _AVAILABLE.search(qt_output)
        names = f" (Qt has: {available.group(1)})" if available else ""
        return Verdict(
            False,
            platform,
            f'the touchscreen cannot start: Qt has no platform plugin "{platform}"{names}; '
            "check QT_QPA_PLATFORM",
        )
    lines = [line.strip() for line in qt_output.splitlines() if line.strip()]
    said = lines[0] if lines else "no message"
    if match:
        said = match.group(0)
    return Verdict(False, platform, f"the touchscreen cannot start: Qt says: {said[:300]}")


def plugins_path() -> Path:
    """Where this PySide6 keeps Qt's plugins (imports QtCore only: no GUI is started)."""
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))


def ldd(library: Path) -> str:
    tool = shutil.which("ldd")
    if tool is None:
        return ""
    try:
        done = subprocess.run(
            [tool, str(library)], capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def probe(environment_platform: str = "") -> Verdict:
    """Start Qt's GUI in a child with this environment; explain in one line if it dies."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Verdict(
            False,
            environment_platform,
            f"the touchscreen cannot start: Qt did not open its platform within {TIMEOUT:.0f} s",
        )
    if done.returncode == 0:
        return Verdict(True, done.stdout.strip(), "")
    output = done.stderr + done.stdout
    match = _PLUGIN.search(output)
    platform = match.group(2) if match else environment_platform
    missing: list[str] = []
    if match and match.group(1) == "load":
        plugin = plugin_file(plugins_path(), platform)
        if plugin is not None:
            missing = missing_libraries(ldd(plugin))
    return explain(output, missing, environment_platform)
