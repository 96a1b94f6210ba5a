"""Devices opened by URL: the scheme names the implementation.

``open_device("feig+serial:///dev/ttyUSB0?baud=38400")`` finds the factory of
``feig+serial``, calls it with the parsed URL and returns the device unopened
(call ``open()``; drivers also open themselves on first use). Built-in schemes
are imported only when used, so a gate without PySide6, nfcpy or pyscard still
starts. Other packages add schemes through the ``muontra.drivers`` entry-point
group: ``myreader = "mypkg.reader:MyReader"`` makes ``myreader://…`` work.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from protocols.extras import MissingExtra, installed

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "muontra.drivers"

BUILTIN: dict[str, str] = {
    "sim": "drivers.sim.reader:SimReader",
    "feig+serial": "drivers.feig_reader:FeigReader",
    "3m+serial": "drivers.threem_reader:ThreeMReader",
    "pcsc": "drivers.pcsc_reader:PcscReader",
    "nfc": "drivers.nfc_card:NfcCardReader",
    "card+sim": "drivers.nfc_card:SimCardReader",
    "barcode+serial": "drivers.barcode:SerialBarcodeScanner",
    "barcode+evdev": "drivers.barcode:EvdevBarcodeScanner",
    "barcode+sim": "drivers.barcode:SimBarcodeScanner",
    "escpos+usb": "drivers.printer:EscposPrinter",
    "escpos+serial": "drivers.printer:EscposPrinter",
    "escpos+net": "drivers.printer:EscposPrinter",
    "escpos+file": "drivers.printer:EscposPrinter",
    "escpos+dummy": "drivers.printer:EscposPrinter",
    "gpio": "drivers.gpio:GpioOutputs",
    "gpio+in": "drivers.gpio:GpioInputs",
    "conveyor+sim": "drivers.sim.conveyor:SimConveyor",
    "gpio+conveyor": "drivers.conveyor_gpio:GpioConveyor",
    "modbus+tcp": "drivers.conveyor_modbus:ModbusConveyor",
}

EXTRA_OF_SCHEME: dict[str, tuple[str, str]] = {
    "pcsc": ("pcsc", "reader"),
    "nfc": ("nfc", "card reader"),
    "escpos+usb": ("printer", "printer"),
    "escpos+serial": ("printer", "printer"),
    "escpos+net": ("printer", "printer"),
    "escpos+file": ("printer", "printer"),
    "escpos+dummy": ("printer", "printer"),
    "gpio": ("gpio", "output"),
    "gpio+in": ("gpio", "input"),
    "gpio+conveyor": ("gpio", "conveyor"),
    "modbus+tcp": ("plc", "conveyor (a PLC)"),
}
"""Built-in schemes whose library is an extra (protocols/extras.py), and what they open.

Checked before the driver's module is imported, so the message is the same
whether the driver imports its library at module level or on first use; found,
not imported, so that a driver that loads its library late still can."""


class DeviceUrlError(ValueError):
    """A device URL that names no known scheme or carries a bad parameter."""


@dataclass(frozen=True, slots=True)
class DeviceUrl:
    """A parsed device URL; ``params`` holds the query string (last value wins)."""

    raw: str
    scheme: str
    host: str
    path: str
    params: dict[str, str]

    @property
    def target(self) -> str:
        """Host and path together: a device path (``/dev/ttyUSB0``) or a name (``pad``)."""
        return unquote(self.host + self.path) if self.host else unquote(self.path)

    def number(self, key: str, default: float) -> float:
        value = self.params.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise DeviceUrlError(f"{self.raw}: {key}={value!r} is not a number") from None

    def integer(self, key: str, default: int) -> int:
        value = self.params.get(key)
        if value is None:
            return default
        try:
            return int(value, 0)
        except ValueError:
            raise DeviceUrlError(f"{self.raw}: {key}={value!r} is not an integer") from None

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.params.get(key)
        if value is None:
            return default
        if value.lower() in {"1", "true", "yes", "on"}:
            return True
        if value.lower() in {"0", "false", "no", "off"}:
            return False
        raise DeviceUrlError(f"{self.raw}: {key}={value!r} is not yes/no")


def parse_url(url: str) -> DeviceUrl:
    # Split the scheme by hand: urllib refuses schemes that start with a digit ("3m+serial").
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme or not all(c.isalnum() or c in "+-." for c in scheme):
        raise DeviceUrlError(f"{url!r} is not a device URL (expected e.g. sim://pad)")
    parts = urlsplit("x://" + rest)
    return DeviceUrl(
        raw=url,
        scheme=scheme.lower(),
        host=parts.netloc,
        path=parts.path,
        params=dict(parse_qsl(parts.query, keep_blank_values=True)),
    )


def _plugins() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name.lower()] = entry
    return found


def schemes() -> list[str]:
    """Every scheme that can be opened: the built-in ones and those of installed plugins."""
    return sorted(set(BUILTIN) | set(_plugins()))


def factory_for(scheme: str) -> Callable[[DeviceUrl], Any]:
    plugins = _plugins()
    if scheme in plugins:
        loaded: Callable[[DeviceUrl], Any] = plugins[scheme].load()
        return loaded
    target = BUILTIN.get(scheme)
    if target is None:
        known = ", ".join(schemes())
        raise DeviceUrlError(f"unknown device scheme {scheme!r}; known: {known}")
    if scheme in EXTRA_OF_SCHEME:
        extra, noun = EXTRA_OF_SCHEME[scheme]
        if not installed(extra):
            raise MissingExtra(extra, f"the {scheme}:// {noun}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    built: Callable[[DeviceUrl], Any] = getattr(module, attribute)
    return built


def open_device(url: str) -> Any:
    """The device for ``url``, constructed but not yet connected."""
    parsed = parse_url(url)
    return factory_for(parsed.scheme)(parsed)
