"""ui.platform_probe: Qt's dying words and ldd's output read into one line, and the apt list.

The fixtures are what Qt 6.11 and Debian 12's ldd printed on the machine of issue 19.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui.platform_probe import (
    explain,
    missing_libraries,
    package_for,
    plugin_file,
    plugins_path,
)

APT_LIST = Path(__file__).resolve().parents[2] / "scripts" / "apt-packages.txt"

QT_XCB_FAILED = """\
qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb \
platform plugin.
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
This application failed to start because no Qt platform plugin could be initialized. \
Reinstalling the application may fix this problem.

Available platform plugins are: minimal, linuxfb, offscreen, xcb, wayland-brcm, wayland-egl, \
wayland, eglfs, vnc, vkkhrdisplay, minimalegl.

"""
QT_NO_SUCH = """\
qt.qpa.plugin: Could not find the Qt platform plugin "nosuch" in ""
This application failed to start because no Qt platform plugin could be initialized. \
Reinstalling the application may fix this problem.

Available platform plugins are: minimal, linuxfb, offscreen, xcb, wayland.

"""
QT_NO_SERVER = """\
qt.qpa.xcb: could not connect to display :97
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
This application failed to start because no Qt platform plugin could be initialized.
"""
QT_NO_COMPOSITOR = """\
Failed to create wl_display (No such file or directory)
qt.qpa.plugin: Could not load the Qt platform plugin "wayland" in "" even though it was found.
"""
LDD = """\
\tlinux-vdso.so.1 (0x00007f06c7660000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f06)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f06c752f000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f06c7527000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f06c7662000)
"""


def test_ldd_output_gives_each_missing_library_once_in_order() -> None:
    assert missing_libraries(LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_libraries("") == []


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libEGL.so.1", "libegl1"),
        ("libGL.so.1", "libgl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libwayland-egl.so.1", "libwayland-egl1"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libfreetype.so.6", "libfreetype6"),
        ("notalibrary", "notalibrary"),
    ],
)
def test_debian_package_for_a_library(soname: str, package: str) -> None:
    assert package_for(soname) == package


def test_missing_libraries_name_their_packages_in_one_line() -> None:
    verdict = explain(QT_XCB_FAILED, ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert not verdict.ok and verdict.platform == "xcb"
    assert verdict.reason == (
        "the touchscreen cannot start: Qt's xcb plugin needs libxcb-icccm.so.4, "
        "libxcb-keysyms.so.1, not installed here; install the Debian packages "
        "libxcb-icccm4 libxcb-keysyms1 (`sudo apt-get install libxcb-icccm4 libxcb-keysyms1`, "
        "or scripts/bootstrap.sh)"
    )


def test_a_platform_qt_lacks_lists_what_it_has() -> None:
    verdict = explain(QT_NO_SUCH, [])
    assert verdict.platform == "nosuch"
    assert verdict.reason == (
        'the touchscreen cannot start: Qt has no platform plugin "nosuch" '
        "(Qt has: minimal, linuxfb, offscreen, xcb, wayland); check QT_QPA_PLATFORM"
    )


def test_an_x_server_that_is_not_there() -> None:
    verdict = explain(QT_NO_SERVER, [])
    assert verdict.reason == (
        "the touchscreen cannot start: Qt cannot connect to the X display :97 "
        "(is the X server running, and may this user open it?)"
    )


def test_a_wayland_compositor_that_is_not_there() -> None:
    verdict = explain(QT_NO_COMPOSITOR, [])
    assert verdict.platform == "wayland"
    assert "cannot connect to the Wayland compositor" in verdict.reason
    assert "cage" in verdict.reason


def test_anything_else_quotes_qt_in_one_line() -> None:
    verdict = explain("Segmentation fault\nmore\n", [], "eglfs")
    assert verdict.platform == "eglfs"
    assert verdict.reason == "the touchscreen cannot start: Qt says: Segmentation fault"


@given(st.text(max_size=3000), st.lists(st.text(max_size=40), max_size=5), st.text(max_size=30))
def test_any_output_gives_one_line(output: str, missing: list[str], platform: str) -> None:
    verdict = explain(output, [m for m in missing if m.strip() and "\n" not in m], platform)
    assert not verdict.ok
    assert verdict.reason.startswith("the touchscreen cannot start: ")
    assert len(verdict.reason.splitlines()) == 1


@given(st.text(max_size=3000))
def test_any_ldd_output_parses(output: str) -> None:
    for name in missing_libraries(output):
        assert name and f"{name} => not found" in re.sub(r"[ \t]+", " ", output)


def test_the_plugin_files_are_found() -> None:
    plugins = plugins_path()
    xcb = plugin_file(plugins, "xcb")
    assert xcb is not None and xcb.name == "libqxcb.so"
    wayland = plugin_file(plugins, "wayland-egl")
    assert wayland is not None and wayland.name.startswith("libqwayland")
    assert plugin_file(plugins, "nosuch") is None


def needed(library: Path) -> list[str]:
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.fail("readelf is missing (binutils, which gcc from scripts/apt-packages.txt brings)")
    dynamic = subprocess.run(
        [readelf, "-d", str(library)], capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic)


# What Python itself runs on, or Qt ships inside the wheel: never an apt line of ours.
NOT_OURS = re.compile(r"^(libQt6|libc\.so|libm\.so|libstdc\+\+|libgcc_s|libpthread|libdl\.so)")


def test_the_apt_list_holds_every_library_qt_loads_for_x11_and_wayland() -> None:
    """Every system library the xcb and wayland plugins link to, by its Debian package."""
    listed = {
        line.split("#")[0].strip()
        for line in APT_LIST.read_text().splitlines()
        if line.split("#")[0].strip()
    }
    plugins = plugins_path()
    qt_lib = plugins.parent / "lib"
    libraries = [
        plugins / "platforms" / "libqxcb.so",
        qt_lib / "libQt6XcbQpa.so.6",
        plugins / "platforms" / "libqwayland.so",
        qt_lib / "libQt6WaylandClient.so.6",
        *sorted((plugins / "wayland-graphics-integration-client").glob("*.so")),
        *sorted((plugins / "xcbglintegrations").glob("*.so")),
    ]
    wanted: dict[str, str] = {}
    for library in libraries:
        if not library.exists():
            continue  # a PySide6 built without it
        for soname in needed(library):
            if not NOT_OURS.match(soname):
                wanted.setdefault(package_for(soname), soname)
    assert "libxcb-cursor0" in wanted and "libwayland-client0" in wanted
    assert {package: soname for package, soname in wanted.items() if package not in listed} == {}
