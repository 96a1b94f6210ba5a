"""A real X server for the touchscreen's tests: Xvfb, and the X tools Debian ships with it.

Xvfb picks a free display itself and writes its number to a pipe (``-displayfd``),
so tests running side by side never fight over ``:0``. Windows are found with
``xwininfo`` (x11-utils) and grabbed with ``xwd`` (x11-apps), both from
scripts/apt-packages.txt. A window is closed as a window manager closes it: a
WM_DELETE_WINDOW client message, sent through libX11 with ctypes (no Debian tool
sends one without a window manager running).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

TOOLS = ("Xvfb", "xwininfo", "xwd")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


# Xvfb starting while another is still shutting down can take the display number the
# other is letting go; the one leaving then deletes the newcomer's socket, and clients of
# the newcomer find no server (seen with two pytest workers). Every start and stop on
# this machine, from any worktree's tests, therefore holds this lock.
LOCK = Path(tempfile.gettempdir()) / "muontra-xvfb.lock"


@contextmanager
def _machine_lock() -> Iterator[None]:
    # Opened for reading: a lock file another user made stays usable (flock needs no write).
    handle = os.open(LOCK, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def _answers(display: str) -> bool:
    done = subprocess.run(
        ["xwininfo", "-root", "-display", display], capture_output=True, check=False
    )
    return done.returncode == 0


@contextmanager
def xvfb(screen: str = "1600x1500x24", timeout: float = 30.0) -> Iterator[str]:
    """Start Xvfb on a display it picks; yields ":N" once it accepts clients."""
    with _machine_lock():
        read, write = os.pipe()
        server = subprocess.Popen(
            # -noreset: by default the server resets when its last client leaves, and a
            # client connecting during the reset is refused ("could not connect to
            # display"): the platform probe's child leaves just before the UI connects.
            [
                "Xvfb",
                "-displayfd",
                str(write),
                "-screen",
                "0",
                screen,
                "-nolisten",
                "tcp",
                "-noreset",
            ],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(write)
        try:
            number = b""
            deadline = time.monotonic() + timeout
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                ready, _, _ = select.select([read], [], [], max(left, 0))
                if not ready:
                    raise AssertionError(f"Xvfb did not name its display within {timeout:.0f} s")
                chunk = os.read(read, 16)
                if not chunk:
                    assert server.stderr is not None
                    raise AssertionError(f"Xvfb ended at start: {server.stderr.read()!r}")
                number += chunk
            display = ":" + number.decode().strip()
            assert _answers(display), f"Xvfb named {display} but does not answer there"
        except BaseException:
            server.kill()
            server.wait(timeout=timeout)
            raise
        finally:
            os.close(read)
    try:
        yield display
    finally:
        with _machine_lock():
            server.terminate()
            server.wait(timeout=timeout)


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Ask ``check`` until it answers; failing after ``timeout`` (X has no event for a pipe)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass(frozen=True)
class XWindow:
    wid: str
    title: str
    width: int
    height: int


_TREE_LINE = re.compile(r'^\s*(0x[0-9a-f]+) "(.*)": \(.*\)\s+(\d+)x(\d+)[+-]', re.MULTILINE)


def top_windows(display: str) -> list[XWindow]:
    """The root's children that have a name, as ``xwininfo -root -tree`` lists them."""
    done = subprocess.run(
        ["xwininfo", "-root", "-children", "-display", display],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        XWindow(wid, title, int(w), int(h)) for wid, title, w, h in _TREE_LINE.findall(done.stdout)
    ]


def is_viewable(display: str, wid: str) -> bool:
    done = subprocess.run(
        ["xwininfo", "-id", wid, "-display", display], capture_output=True, text=True, check=False
    )
    return "Map State: IsViewable" in done.stdout


@dataclass(frozen=True)
class Grab:
    width: int
    height: int
    pixels: list[int]  # 0xRRGGBB, row by row

    def colours(self) -> int:
        return len(set(self.pixels))


def grab(display: str, wid: str) -> Grab:
    """The window's pixels from the X server (xwd's format: a header, a colour map, ZPixmap)."""
    data = subprocess.run(
        ["xwd", "-silent", "-id", wid, "-display", display], capture_output=True, check=True
    ).stdout
    header = struct.unpack(">25I", data[:100])
    size, fmt, depth, width, height = header[0], header[2], header[3], header[4], header[5]
    byte_order, bits, per_line, ncolors = header[7], header[11], header[12], header[19]
    assert (fmt, depth, bits) == (2, 24, 32), f"unexpected xwd image {header}"
    start = size + ncolors * 12
    rows = data[start : start + per_line * height]
    assert len(rows) == per_line * height, "xwd image cut short"
    order = "<" if byte_order == 0 else ">"
    pixels: list[int] = []
    for y in range(height):
        row = struct.unpack_from(f"{order}{width}I", rows, y * per_line)
        pixels.extend(value & 0xFFFFFF for value in row)
    return Grab(width, height, pixels)


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _Event(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


CLIENT_MESSAGE = 33  # X.h


def close_window(display: str, wid: str) -> None:
    """Ask the window's client to close it (WM_DELETE_WINDOW), as a window manager's [x] does."""
    name = ctypes.util.find_library("X11")
    assert name is not None, "libX11 is missing (libx11-6)"
    x11 = ctypes.CDLL(name)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.POINTER(_Event),
    ]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = x11.XOpenDisplay(display.encode())
    assert connection, f"cannot open X display {display}"
    try:
        event = _Event()
        message = event.xclient
        message.type = CLIENT_MESSAGE
        message.window = int(wid, 16)
        message.message_type = x11.XInternAtom(connection, b"WM_PROTOCOLS", 0)
        message.format = 32
        message.data[0] = x11.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
        message.data[1] = 0  # CurrentTime
        assert x11.XSendEvent(connection, message.window, 0, 0, ctypes.byref(event))
        x11.XFlush(connection)
    finally:
        x11.XCloseDisplay(connection)
