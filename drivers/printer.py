"""ESC/POS receipt printers through python-escpos: USB, serial, network, a device file, a dummy.

URLs::

    escpos+usb://04b8:0202               vendor:product in hex (needs pyusb)
    escpos+serial:///dev/ttyUSB0?baud=19200
    escpos+net://192.168.1.50:9100
    escpos+file:///dev/usb/lp0           any existing file or character device
    escpos+dummy://                      keeps the bytes (``output``) for tests and demos

Parameters: ``width=`` dots across the paper (384 for 58 mm, 576 for 80 mm;
default the profile's, else 576); ``profile=`` a python-escpos printer profile
(``TM-T88V``, ``TM-T20II``, …) naming what the printer can do;
``text=auto|image``; ``font=`` a TrueType file and ``font_size=`` pixels for
image receipts; ``timeout=`` seconds a write may take (default 10).

Vietnamese is the hard part. Most thermal printers have no Vietnamese code
page, and the ones that have CP1258 or TCVN-3 differ on combining marks. So
with ``text=auto`` a receipt goes out as text only when every character has a
single byte in a code page the printer is known to have, and that byte decodes
back to the same character; anything else (a combining mark, a character no
code page holds) sends the whole receipt as one raster image drawn with a
Vietnamese-capable font (:mod:`drivers.receipt_image`). Without ``profile=``
the printer is only trusted with CP437, which every ESC/POS printer has: a
Vietnamese receipt on an unknown printer is always an image, never mojibake.

Each receipt is composed in full into bytes first (a python-escpos Dummy)
and then written in one go, so a receipt is never half-composed when the
device fails and the code page python-escpos believes is selected always
matches the printer's, which ESC @ resets at the start of every receipt.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from drivers import escpos_cache
from drivers.interfaces import DeviceState, DeviceUnavailable
from drivers.receipt_image import DEFAULT_FONT, DEFAULT_FONT_SIZE, MARGIN, load_font, render_receipt
from drivers.registry import DeviceUrl, DeviceUrlError

if TYPE_CHECKING:
    from PIL import ImageFont

log = logging.getLogger(__name__)

DEFAULT_WIDTH = 576
TEXT_MODES = ("auto", "image")
QR_MODULE_DOTS = 6
"""Dots per QR module: a 33-module code is then about 25 mm wide, easy for a phone."""
SAFE_CODE_PAGES = {"CP437": "0"}
"""What a printer without ``profile=`` is trusted with: CP437 in slot 0 is universal."""


@functools.cache
def _escpos() -> Any:
    """python-escpos, imported on first use without the root log handler it installs.

    ``escpos.capabilities`` calls ``logging.basicConfig()`` at import. Were that
    to run before the engine configures logging, every record would also go to
    an unfiltered stderr handler: twice on screen, and without the masking of
    patron data. The handler is removed again straight after the import.
    """
    root = logging.getLogger()
    before = list(root.handlers)
    # First, and from our own pickle: its YAML parse would cost every daemon about 3 MB.
    escpos_cache.import_capabilities()
    import escpos.capabilities
    import escpos.codepages
    import escpos.exceptions
    import escpos.magicencode
    import escpos.printer

    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
    return escpos


class _Transport(Protocol):
    """Where the bytes of a receipt go; every failure is a DeviceUnavailable."""

    def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class _DummyTransport:
    """Keeps every byte; ``unplugged`` plays a printer that has gone away."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.unplugged = False

    def open(self) -> None:
        if self.unplugged:
            raise DeviceUnavailable("dummy printer unplugged")

    def write(self, data: bytes) -> None:
        if self.unplugged:
            raise DeviceUnavailable("dummy printer unplugged")
        self.output += data

    def close(self) -> None:
        pass


class _FileTransport:
    """An existing file or device node, opened for appending and never created.

    python-escpos's File printer opens with ``"wb"``, which creates a missing
    ``/dev/usb/lp0`` as a plain file (as root) and then "prints" into it for
    ever; here a missing path is an unplugged printer.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> None:
        self.close()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY)
        except OSError as error:
            raise DeviceUnavailable(f"cannot open {self.path}: {error.strerror}") from error

    def write(self, data: bytes) -> None:
        if self._fd is None:
            self.open()
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as error:
            raise DeviceUnavailable(f"cannot write to {self.path}: {error.strerror}") from error

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError:
                log.debug("closing %s failed", self.path, exc_info=True)


class _EscposTransport:
    """A python-escpos printer class (Usb, Serial, Network) used only to carry bytes."""

    def __init__(
        self,
        describe: str,
        build: Callable[[], Any],
        after_open: Callable[[Any], None] | None = None,
    ) -> None:
        self.describe = describe
        self._build = build
        self._after_open = after_open
        self._printer: Any = None

    def open(self) -> None:
        self.close()
        # RuntimeError: python-escpos's answer when pyusb or pyserial is not installed.
        caught = _escpos_errors(OSError, RuntimeError, ValueError)
        try:
            printer = self._build()
            printer.open()
            if self._after_open is not None:
                self._after_open(printer)
        except caught as error:
            raise DeviceUnavailable(f"cannot open {self.describe}: {_one_line(error)}") from error
        self._printer = printer

    def write(self, data: bytes) -> None:
        if self._printer is None:
            self.open()
        caught = _escpos_errors(OSError)
        try:
            self._printer._raw(data)
        except caught as error:
            raise DeviceUnavailable(
                f"cannot write to {self.describe}: {_one_line(error)}"
            ) from error

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except Exception:
                log.debug("closing %s failed", self.describe, exc_info=True)


def _escpos_errors(*others: type[Exception]) -> tuple[type[Exception], ...]:
    """python-escpos's exceptions and ``others``: what a transport reports as unavailable."""
    return (_escpos().exceptions.Error, *others)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _usb_transport(url: DeviceUrl, timeout: float) -> _Transport:
    vendor, _, product = url.target.partition(":")
    try:
        vendor_id, product_id = int(vendor, 16), int(product, 16)
    except ValueError:
        raise DeviceUrlError(
            f"{url.raw}: expected escpos+usb://VENDOR:PRODUCT in hex, e.g. escpos+usb://04b8:0202"
        ) from None
    in_ep, out_ep = url.integer("in_ep", 0x82), url.integer("out_ep", 0x01)

    def build() -> Any:
        usb = _escpos().printer.Usb
        if not usb.is_usable():
            raise RuntimeError("pyusb is not installed (pip install 'python-escpos[usb]')")
        return usb(vendor_id, product_id, timeout=int(timeout * 1000), in_ep=in_ep, out_ep=out_ep)

    return _EscposTransport(f"USB printer {vendor_id:04x}:{product_id:04x}", build)


def _serial_transport(url: DeviceUrl, timeout: float) -> _Transport:
    port, baud = url.target, url.integer("baud", 9600)
    if not port:
        raise DeviceUrlError(f"{url.raw}: expected escpos+serial:///dev/ttyUSB0")

    def build() -> Any:
        return _escpos().printer.Serial(port, baudrate=baud, timeout=timeout)

    def limit_writes(printer: Any) -> None:
        # python-escpos sets no write timeout: a stalled printer would block for ever.
        printer.device.write_timeout = timeout

    return _EscposTransport(f"serial printer {port}", build, limit_writes)


def _network_transport(url: DeviceUrl, timeout: float) -> _Transport:
    parts = urlsplit("//" + url.host)
    try:
        host, port = parts.hostname, parts.port or 9100
    except ValueError:
        host, port = None, 0
    if not host:
        raise DeviceUrlError(f"{url.raw}: expected escpos+net://HOST:PORT, e.g. 192.168.1.50:9100")

    def build() -> Any:
        return _escpos().printer.Network(host, port=port, timeout=timeout)

    return _EscposTransport(f"network printer {host}:{port}", build)


def _file_transport(url: DeviceUrl, timeout: float) -> _Transport:
    if not url.target:
        raise DeviceUrlError(f"{url.raw}: expected escpos+file:///dev/usb/lp0")
    return _FileTransport(url.target)


def _dummy_transport(url: DeviceUrl, timeout: float) -> _Transport:
    return _DummyTransport()


_TRANSPORTS: dict[str, Callable[[DeviceUrl, float], _Transport]] = {
    "escpos+usb": _usb_transport,
    "escpos+serial": _serial_transport,
    "escpos+net": _network_transport,
    "escpos+file": _file_transport,
    "escpos+dummy": _dummy_transport,
}


def _profile_class(url: DeviceUrl, name: str) -> Any:
    try:
        return _escpos().capabilities.get_profile_class(name)
    except KeyError:
        known = ", ".join(sorted(_escpos().capabilities.CAPABILITIES["profiles"]))
        raise DeviceUrlError(
            f"{url.raw}: unknown printer profile {name!r}; known: {known}"
        ) from None


def _declared_width(profile: Any) -> int | None:
    pixels = profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    return pixels if isinstance(pixels, int) else None


@functools.cache
def _with_width(profile: Any, width: int) -> Any:
    """The profile class with the paper width of the URL.

    python-escpos refuses images wider than the profile's width and prints a
    warning to stdout for profiles of unknown width (the default one); the URL
    says what paper is loaded, so it wins. Made once per profile and width: the
    kiosk opens a printer object per receipt, and a class and a copy of the
    profile per receipt were garbage for the allocator to scatter (issue 15).
    """
    data = copy.deepcopy(profile.profile_data)
    data.setdefault("media", {}).setdefault("width", {})["pixels"] = width
    return type(profile.__name__, (profile,), {"profile_data": data})


def clean_lines(lines: Sequence[str]) -> list[str]:
    """Receipt lines in NFC, one per printed line, with no control characters.

    NFC because ILS records often arrive decomposed and both a code page and a
    font without a shaping engine need the precomposed letters; no control
    characters because a title from the catalogue must never become a printer
    command.
    """
    cleaned: list[str] = []
    for line in lines:
        text = unicodedata.normalize("NFC", line).expandtabs(4)
        for part in text.splitlines() or [""]:
            cleaned.append("".join(c for c in part if unicodedata.category(c) != "Cc").rstrip())
    return cleaned


class EscposPrinter:
    """A receipt printer by URL: opened on first print, reopened after it vanished."""

    def __init__(self, url: DeviceUrl) -> None:
        self.url = url.raw
        transport = _TRANSPORTS.get(url.scheme)
        if transport is None:
            raise DeviceUrlError(f"{url.raw}: not an ESC/POS printer scheme")
        self.text_mode = url.params.get("text", "auto")
        if self.text_mode not in TEXT_MODES:
            raise DeviceUrlError(f"{url.raw}: text={self.text_mode!r}; use one of {TEXT_MODES}")
        profile_name = url.params.get("profile")
        # A named profile is looked up now, so a wrong name fails the config; without
        # one, python-escpos (its capability database, about 8 MB resident) is left
        # until the first receipt: a return machine may print a slip once a day.
        profile = _profile_class(url, profile_name) if profile_name else None
        declared = _declared_width(profile) if profile is not None else None
        self.width = url.integer("width", declared or DEFAULT_WIDTH)
        if not 2 * MARGIN + 8 <= self.width <= 8 * 0xFFFF:
            raise DeviceUrlError(f"{url.raw}: width={self.width} dots is not a paper width")
        if declared and self.width > declared:
            log.warning(
                "%s: width %d is wider than the %d dots profile %s declares",
                url.raw,
                self.width,
                declared,
                profile_name,
            )
        self._url_parts = url
        self._profile: Any = _with_width(profile, self.width) if profile is not None else None
        # Only a named profile is a statement about the printer: python-escpos's
        # "default" lists every Epson code page and feature, real or not.
        self._code_pages: dict[str, Any] = (
            profile().get_code_pages() if profile is not None else dict(SAFE_CODE_PAGES)
        )
        self._native_qr = profile is not None and bool(profile().supports("qrCode"))
        self._font_path = Path(url.params.get("font") or DEFAULT_FONT)
        self._font_size = url.integer("font_size", DEFAULT_FONT_SIZE)
        self._transport = transport(url, url.number("timeout", 10.0))
        self._state = DeviceState.CLOSED
        self._lock = threading.Lock()

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        with self._lock:
            self._connect()

    def close(self) -> None:
        with self._lock:
            self._transport.close()
            self._state = DeviceState.CLOSED

    def print_receipt(self, lines: Sequence[str], qr: str | None = None) -> None:
        """Compose, then send; a vanished printer raises DeviceUnavailable and is retried next time.

        Composing comes first so that a missing font is not taken for a missing printer.
        """
        with self._lock:
            job = self.compose(lines, qr)
            if self._state is not DeviceState.READY:
                self._connect()
            try:
                self._transport.write(job)
            except DeviceUnavailable as error:
                self._transport.close()
                self._state = DeviceState.UNAVAILABLE
                log.warning("receipt printer %s lost: %s", self.url, error)
                raise DeviceUnavailable(f"receipt printer {self.url}: {error}") from error
            log.info("receipt printed on %s (%d bytes)", self.url, len(job))

    def compose(self, lines: Sequence[str], qr: str | None = None) -> bytes:
        """The ESC/POS bytes of one receipt: reset, text or image, QR code, feed and cut."""
        escpos = _escpos()
        cleaned = clean_lines(lines)
        as_text = self.text_mode == "auto" and all(self._fits_code_page(line) for line in cleaned)
        job = escpos.printer.Dummy(
            magic_encode_args={"encoder": escpos.magicencode.Encoder(self._code_pages)}
        )
        if self._profile is None:
            self._profile = _with_width(_profile_class(self._url_parts, "default"), self.width)
        job.profile = self._profile()
        job.hw("INIT")
        if as_text:
            for line in cleaned:
                job.textln(line)
        else:
            with _DRAWING:
                picture = render_receipt(
                    cleaned, self.width, _font(self._font_path, self._font_size)
                )
            job.image(picture, impl="bitImageRaster")
        if qr:
            if self._native_qr:
                job.set(align="center")
                job.qr(qr, native=True, size=QR_MODULE_DOTS)
                job.set(align="left")
                job.ln()
            else:
                job.qr(qr, size=QR_MODULE_DOTS, center=True)
        job.cut()
        log.debug("receipt composed as %s", "text" if as_text else "image")
        output: bytes = job.output
        return output

    def _fits_code_page(self, line: str) -> bool:
        """Whether python-escpos's magic encode would send ``line`` exactly as written.

        A combining mark fails even where a code page holds it (CP1258 does):
        printers do not agree on overlaying it on the letter before.
        """
        checker = _checker(tuple(sorted(self._code_pages.items())))
        for char in line:
            if char.isascii():
                continue
            if unicodedata.combining(char):
                return False
            encoding = checker.find_suitable_encoding(char)
            if encoding is None:
                return False
            encoded: bytes = checker.encode(char, encoding)
            if _decode(encoded, encoding) != char:
                return False
        return True

    def _connect(self) -> None:
        self._state = DeviceState.CONNECTING
        try:
            self._transport.open()
        except DeviceUnavailable as error:
            self._state = DeviceState.UNAVAILABLE
            log.warning("receipt printer %s unavailable: %s", self.url, error)
            raise DeviceUnavailable(f"receipt printer {self.url}: {error}") from error
        self._state = DeviceState.READY
        log.info("receipt printer %s ready", self.url)

    @property
    def output(self) -> bytes:
        """Every byte printed so far; only ``escpos+dummy`` keeps them."""
        if not isinstance(self._transport, _DummyTransport):
            raise TypeError(f"{self.url}: only escpos+dummy keeps its output")
        return bytes(self._transport.output)

    @property
    def unplugged(self) -> bool:
        """Fault switch of ``escpos+dummy``: True plays a printer switched off or unplugged."""
        return isinstance(self._transport, _DummyTransport) and self._transport.unplugged

    @unplugged.setter
    def unplugged(self, value: bool) -> None:
        if not isinstance(self._transport, _DummyTransport):
            raise TypeError(f"{self.url}: only escpos+dummy can be unplugged on purpose")
        self._transport.unplugged = value


_FONTS: dict[tuple[Path, int], ImageFont.FreeTypeFont] = {}
_DRAWING = threading.Lock()
"""One receipt image drawn at a time in a process: the fonts are shared by every printer
object (the kiosk opens one per receipt), and a FreeType face is not for two threads."""


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """The receipt font, loaded once per process (call with ``_DRAWING`` held)."""
    font = _FONTS.get((path, size))
    if font is None:
        font = _FONTS[(path, size)] = load_font(path, size)
    return font


@functools.cache
def _checker(code_pages: tuple[tuple[str, Any], ...]) -> Any:
    """python-escpos's encoder for these code pages, asked only which page holds a
    character: shared, as its tables of each page's characters are the same for all."""
    return _escpos().magicencode.Encoder(dict(code_pages))


def _decode(encoded: bytes, encoding: str) -> str | None:
    """``encoded`` read back through the code page table the printer uses."""
    if len(encoded) != 1:
        return None
    if encoded[0] < 0x80:
        return chr(encoded[0])
    page = _escpos().codepages.CodePages.get_encoding(encoding)
    if "data" in page:
        table = "".join(page["data"])
        return table[encoded[0] - 0x80] if len(table) == 0x80 else None
    if "python_encode" in page:
        try:
            decoded: str = encoded.decode(page["python_encode"])
        except (UnicodeDecodeError, LookupError):
            return None
        return decoded
    return None
