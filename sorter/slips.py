"""A bin's slip on paper and its manifest on disk, made when staff empty the bin.

The slip goes out through the engine's receipt printer, so Vietnamese reaches
the paper the way the kiosk's receipts do (a raster image wherever the
printer has no code page for it: :mod:`drivers.printer`). Titles come from
the catalogue and are cleaned to one line of NFC text first, so a title cannot
add lines or printer commands of its own.

The manifest is :func:`sorter.bins.manifest_csv` written with a BOM
(:data:`~sorter.bins.CSV_ENCODING`, for spreadsheets in Vietnam) under a dated
name, atomically: it is written to a hidden temporary name, synced, then linked
under its real name, so a power cut leaves either the whole file or none, and a
second bin emptied in the same second gets a name of its own instead of
replacing the first one's manifest.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.interfaces import DeviceError, ReceiptPrinter
from engine.private_files import sync_directory
from engine.receipts.model import ReceiptDeliveryError
from engine.receipts.templates import DEFAULT_WIDTH, clean, clean_title, format_when
from sorter.bins import CSV_ENCODING, Bins, BinSlip, manifest_csv
from sorter.texts import REASONS, SLIP_COUNT, SLIP_EMPTIED, SLIP_TITLE, SLIP_TO, Language, Text

if TYPE_CHECKING:
    from engine.mqtt.commands import EmptiedBin

__all__ = [
    "SLIP_ITEM_ID",
    "SLIP_NOT_PRINTED",
    "SLIP_PRINTED",
    "SLIP_STAFF",
    "emptied_bin",
    "empty_bin_keep_manifest",
    "empty_bin_with_slip",
    "manifest_name",
    "print_bin_slip",
    "print_slip_if_it_can",
    "slip_text_lines",
    "write_manifest",
]

log = logging.getLogger(__name__)

SLIP_STAFF = Text("Thủ thư: {staff}", "Staff: {staff}")
SLIP_PRINTED = Text("In lúc {when}", "Printed at {when}")
SLIP_ITEM_ID = Text("Mã tài liệu: {item}", "Item: {item}")
SLIP_NOT_PRINTED = Text(
    "Không in được phiếu thùng {bin}; danh sách tài liệu vẫn được lưu trong tệp CSV.",
    "The slip of bin {bin} could not be printed; its list of items is kept as a CSV file.",
)
"""For the staff screen when the printer fails: nothing is lost, the manifest has it all."""

MANIFEST_MODE = 0o640
"""Owner and the service's group (a staff export job) read it; no patron data is in it."""
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def slip_text_lines(
    slip: BinSlip,
    language: Language,
    printed_at: datetime,
    *,
    staff: str | None = None,
    width_chars: int = DEFAULT_WIDTH,
) -> list[str]:
    """The slip as lines of at most ``width_chars`` characters, in ``language``."""
    name = slip.name_vi if language == "vi" else slip.name_en
    lines: list[str] = []

    def add(text: str, indent: str = "") -> None:
        lines.extend(
            textwrap.wrap(
                text,
                width_chars,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            or [""]
        )

    add(SLIP_TITLE.format(language, bin=clean(slip.bin_id), name=clean(name)))
    add(SLIP_EMPTIED.format(language, when=format_when(language, slip.emptied_at)))
    if staff:
        add(SLIP_STAFF.format(language, staff=clean(staff)))
    add(SLIP_COUNT.format(language, count=len(slip.items)))
    lines.append("-" * width_chars)
    for number, item in enumerate(slip.items, start=1):
        first = f"{number}. "
        indent = " " * len(first)
        title = clean_title(item.title) if item.title else ""
        wrapped = textwrap.wrap(
            title or clean(item.item_id),
            width_chars,
            initial_indent=first,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
        lines.extend(wrapped)
        if title:
            add(SLIP_ITEM_ID.format(language, item=clean(item.item_id)), indent)
        if item.destination:
            add(SLIP_TO.format(language, destination=clean(item.destination)), indent)
        if item.reason is not None:
            add(REASONS[item.reason].name.in_language(language), indent)
    lines.append("-" * width_chars)
    add(SLIP_PRINTED.format(language, when=format_when(language, printed_at)))
    return lines


def print_bin_slip(
    printer: ReceiptPrinter,
    slip: BinSlip,
    language: Language,
    clock: Callable[[], datetime],
    *,
    staff: str | None = None,
    width_chars: int = DEFAULT_WIDTH,
) -> None:
    """Print ``slip``; :class:`ReceiptDeliveryError` (with the staff's words) if the printer fails.

    ``clock`` gives the time printed at the foot (a slip may be printed again
    later); ``staff`` the display name of who emptied the bin, if known.
    """
    lines = slip_text_lines(slip, language, clock(), staff=staff, width_chars=width_chars)
    try:
        printer.print_receipt(lines)
    except DeviceError as error:
        detail = f"{type(error).__name__}: {error}"
        log.warning("slip of bin %s not printed on %s: %s", slip.bin_id, printer.url, detail)
        raise ReceiptDeliveryError(
            SLIP_NOT_PRINTED.format(language, bin=clean(slip.bin_id)),
            channel="paper",
            detail=detail,
        ) from error
    log.info("slip of bin %s printed on %s (%d items)", slip.bin_id, printer.url, len(slip.items))


def manifest_name(slip: BinSlip, written_at: datetime, attempt: int = 0) -> str:
    """``bin-{id}-{YYYYmmdd-HHMMSS}.csv`` (``-2``, ``-3``… on a clash); the id made safe."""
    safe = _UNSAFE_IN_NAME.sub("_", slip.bin_id)[:32] or "_"
    suffix = f"-{attempt + 1}" if attempt else ""
    return f"bin-{safe}-{written_at.strftime('%Y%m%d-%H%M%S')}{suffix}.csv"


def write_manifest(directory: Path, slip: BinSlip, clock: Callable[[], datetime]) -> Path:
    """Write the slip's CSV manifest into ``directory`` under a dated name; its path.

    Never replaces a file: a name already taken gets the next suffix.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written_at = clock()
    data = manifest_csv(slip).encode(CSV_ENCODING)
    temporary = directory / f".bin-manifest.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, MANIFEST_MODE)
    try:
        try:
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        for attempt in range(1000):
            path = directory / manifest_name(slip, written_at, attempt)
            try:
                os.link(temporary, path)  # unlike a rename, a link never replaces
            except FileExistsError:
                continue
            sync_directory(directory)
            log.info("manifest of bin %s: %s (%d items)", slip.bin_id, path.name, len(slip.items))
            return path
        raise FileExistsError(f"no free manifest name for bin {slip.bin_id} in {directory}")
    finally:
        temporary.unlink(missing_ok=True)


def empty_bin_with_slip(
    bins: Bins,
    bin_id: str,
    *,
    staff: str | None,
    directory: Path,
    printer: ReceiptPrinter | None,
    language: Language,
    clock: Callable[[], datetime],
) -> EmptiedBin:
    """Empty ``bin_id`` as staff asked: count to 0, manifest kept, slip printed if it can be.

    The manifest is written before the slip is printed, and a printer that fails
    does not undo the emptying (the trolley has been taken away): ``printed`` is
    then False, and the manifest still lists every item. :class:`UnknownBin` for
    a bin the machine does not have; OSError, with the bin as it was, when the
    manifest cannot be written. This is what the sorter's ``empty_bin``
    (staff screen and the MQTT command's :class:`~engine.mqtt.commands.BinEmptier`)
    does, in two parts (:func:`empty_bin_keep_manifest` under the machine's lock,
    :func:`print_slip_if_it_can` outside it); announcing it (``bin_emptied``) is the
    caller's.
    """
    slip, manifest = empty_bin_keep_manifest(bins, bin_id, directory=directory, clock=clock)
    printed = printer is not None and print_slip_if_it_can(
        printer, slip, language, clock, staff=staff
    )
    return emptied_bin(slip, manifest, printed)


def empty_bin_keep_manifest(
    bins: Bins, bin_id: str, *, directory: Path, clock: Callable[[], datetime]
) -> tuple[BinSlip, Path]:
    """Count ``bin_id`` to 0 and write its manifest; the slip to print and the manifest.

    :class:`UnknownBin` for a bin the machine does not have; OSError, with the bin as it
    was, when the manifest cannot be written.
    """
    try:
        slip = bins.empty(bin_id, clock())
    except KeyError:
        from engine.mqtt.commands import UnknownBin

        raise UnknownBin(bin_id) from None
    try:
        manifest = write_manifest(directory, slip, clock)
    except OSError:
        # The disk refused (full, read-only): the bin counts as not emptied, so its list
        # is not lost, and staff see the error and can try again.
        for item in slip.items:
            bins.place(bin_id, item)
        raise
    return slip, manifest


def print_slip_if_it_can(
    printer: ReceiptPrinter,
    slip: BinSlip,
    language: Language,
    clock: Callable[[], datetime],
    *,
    staff: str | None = None,
) -> bool:
    """Print the slip of an emptied bin; False when the printer failed (logged by
    :func:`print_bin_slip`; the manifest has it all)."""
    try:
        print_bin_slip(printer, slip, language, clock, staff=staff)
    except ReceiptDeliveryError:
        return False
    return True


def emptied_bin(slip: BinSlip, manifest: Path, printed: bool) -> EmptiedBin:
    """What staff and the fleet are told of an emptied bin."""
    # Imported here: engine.mqtt.commands brings the MQTT link (paho), which a machine
    # without [mqtt] never needs to hold in memory.
    from engine.mqtt.commands import EmptiedBin

    return EmptiedBin(slip.bin_id, len(slip.items), manifest, printed)
