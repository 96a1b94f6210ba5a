"""The optional parts of muontra (pip extras) and the one-line error when one is missing.

A gate or a sorter on a Raspberry Pi should not pull Qt, and a kiosk without a
PC/SC reader should not need pcscd's headers to install: the core installs the
daemons and protocols, and each heavy or native library comes as an extra
(pyproject.toml's ``[project.optional-dependencies]``). When a configuration
asks for something whose extra is not installed, the user gets one line naming
the extra (``the pcsc:// reader needs `pip install muontra[pcsc]```), not a
traceback ending in ``No module named 'smartcard'``.

It lives in ``protocols`` because that is the one package every layer may
import (drivers, the engine, central and ui alike); it holds a table and an
import, nothing of the devices themselves.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

EXTRAS: dict[str, tuple[str, ...]] = {
    "ui": ("PySide6", "pyqtgraph"),
    "pcsc": ("smartcard",),
    "nfc": ("nfc",),
    "gpio": ("gpiozero",),
    "printer": ("escpos", "usb", "PIL"),
    "postgres": ("psycopg",),
    "plc": ("pymodbus",),
}
"""Each extra and the top-level modules it provides (what the code imports)."""


class MissingExtra(ImportError):
    """A feature was asked for whose extra is not installed; the message is the one line."""

    def __init__(self, extra: str, what: str) -> None:
        self.extra = extra
        self.what = what
        super().__init__(f"{what} needs `pip install muontra[{extra}]`")


def extra_of(module: str) -> str | None:
    """The extra that provides ``module`` (a dotted name), or None when none does."""
    top = module.partition(".")[0]
    for extra, modules in EXTRAS.items():
        if top in modules:
            return extra
    return None


def installed(extra: str) -> bool:
    """Whether every module of ``extra`` can be found, without importing any of them.

    For configuration checks: finding is cheap, while importing python-escpos or
    nfcpy only to validate a file would cost the daemon their memory before it
    needs them.
    """
    for name in EXTRAS[extra]:
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except ModuleNotFoundError:  # an import hook that hides it says so by raising
            return False
    return True


def require(extra: str, what: str, modules: tuple[str, ...] | None = None) -> list[ModuleType]:
    """Import the modules of ``extra`` (or just ``modules`` of it); :class:`MissingExtra` if absent.

    ``what`` names the feature for the message: "the pcsc:// reader",
    "muontra ui (the touchscreen)". Any module not found on the way counts
    (pyqtgraph without numpy is fixed by the same pip command); an ImportError
    of another kind (a native library missing) is raised as it is, since the
    fix is then outside pip.
    """
    wanted = modules if modules is not None else EXTRAS[extra]
    loaded: list[ModuleType] = []
    for name in wanted:
        try:
            loaded.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            raise MissingExtra(extra, what) from error
    return loaded
