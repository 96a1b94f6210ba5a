"""The bins: what each holds, when it is full, where its overflow goes, and emptying it.

A bin is full when its count reaches its capacity or its full sensor (a light
beam across the trolley) says so, whichever comes first: counts drift when
staff take an item out by hand, and sensors fail, so either is believed.
When the exception bin (with its overflow) cannot take another item the intake
must close: every item may end up there, and an item with nowhere to go would
be lost on the belt.

Pure bookkeeping: the sorter calls :meth:`Bins.place` when an item was diverted
and :meth:`Bins.empty` when staff empty a bin; this module never touches a
sensor or a printer.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sorter.reasons import ExceptionReason
from sorter.settings import SorterSettings
from sorter.texts import REASONS, SLIP_COUNT, SLIP_EMPTIED, SLIP_TITLE, SLIP_TO, Language

CSV_ENCODING = "utf-8-sig"
"""Encoding of a CSV manifest file: the BOM makes spreadsheets read Vietnamese as UTF-8."""
CSV_COLUMNS = ("bin", "emptied_at", "item_id", "title", "destination", "reason", "placed_at")
# A cell starting with one of these is a formula to a spreadsheet: a title such as
# "=HYPERLINK(…)" from the catalogue must stay text (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ManifestItem:
    """One item in a bin, as its slip and manifest list it. No patron data, by design."""

    item_id: str
    title: str
    destination: str
    """The transit destination (CT) where there is one, else empty."""
    placed_at: datetime
    reason: ExceptionReason | None = None
    """Why it is in the exception bin; None in any other bin."""


@dataclass(frozen=True, slots=True)
class BinLevel:
    """A bin's state for the staff screen and for MQTT."""

    bin_id: str
    count: int
    """Items in the bin (they landed there)."""
    capacity: int
    sensor_full: bool
    bound: int = 0
    """Items on the belt already bound for it: they will fill it as surely."""

    @property
    def full(self) -> bool:
        """It can take no further item: sensed full, or its room is taken (in it or coming)."""
        return self.sensor_full or self.count + self.bound >= self.capacity


@dataclass(frozen=True, slots=True)
class BinSlip:
    """What was in a bin when staff emptied it: printed as the slip, kept as CSV."""

    bin_id: str
    name_vi: str
    name_en: str
    emptied_at: datetime
    items: tuple[ManifestItem, ...]


class Bins:
    """Counts, full flags and contents of every bin of one machine."""

    def __init__(self, settings: SorterSettings) -> None:
        self._settings = settings
        self._items: dict[str, list[ManifestItem]] = {b.id: [] for b in settings.bins}
        self._sensor: dict[str, bool] = {b.id: False for b in settings.bins}
        self._bound: dict[str, list[ManifestItem]] = {b.id: [] for b in settings.bins}

    def level(self, bin_id: str) -> BinLevel:
        return BinLevel(
            bin_id,
            len(self._items[bin_id]),
            self._settings.bin(bin_id).capacity,
            self._sensor[bin_id],
            len(self._bound[bin_id]),
        )

    def levels(self) -> tuple[BinLevel, ...]:
        """Every bin, in the configured order."""
        return tuple(self.level(b.id) for b in self._settings.bins)

    def is_full(self, bin_id: str) -> bool:
        return self.level(bin_id).full

    def set_sensor(self, bin_id: str, full: bool) -> None:
        """Record the full sensor's state (its events come from the driver)."""
        if bin_id not in self._sensor:
            raise KeyError(bin_id)
        self._sensor[bin_id] = full

    def destination(self, bin_id: str) -> str | None:
        """``bin_id`` if it can take an item, else the first of its overflow chain that
        can; None when none can (the item must go to the exception bin)."""
        seen: set[str] = set()
        current: str | None = bin_id
        while current is not None and current not in seen:
            if not self.is_full(current):
                return current
            seen.add(current)
            current = self._settings.bin(current).overflow
        return None

    @property
    def intake_open(self) -> bool:
        """Whether the intake may take another item: the exception bin, or its overflow,
        has room (any item may end there)."""
        return self.destination(self._settings.exception_bin) is not None

    def place(self, bin_id: str, item: ManifestItem) -> None:
        """Count an item that went into ``bin_id``.

        Counted even past the capacity: the item is physically there, and a count
        that refused it would disagree with the trolley.
        """
        self._items[bin_id].append(item)

    def bind(self, bin_id: str, item: ManifestItem) -> None:
        """An item on the belt is bound for ``bin_id``: not in it yet, but its room is taken,
        so the next decision sees the bin as full as it is about to be."""
        self._bound[bin_id].append(item)

    def land(self, item: ManifestItem, bound_for: str, landed_in: str) -> None:
        """The item bound for ``bound_for`` is in ``landed_in`` (the same bin, or the
        exception bin when it missed its diverter): counted there from now on."""
        if landed_in not in self._items:
            raise KeyError(landed_in)
        bound = self._bound[bound_for]
        for index, entry in enumerate(bound):
            if entry is item:
                del bound[index]
                break
        self._items[landed_in].append(item)

    def unland(self, item: ManifestItem, landed_in: str, bound_for: str) -> None:
        """An item counted as landed was not (its diverter fired at nothing while a jam held
        it): out of the bin's count, bound for ``bound_for`` again."""
        items = self._items[landed_in]
        for index, entry in enumerate(items):
            if entry is item:
                del items[index]
                self._bound[bound_for].append(item)
                return

    def move(self, item_id: str, to_bin: str) -> str | None:
        """Move the last record of ``item_id`` to ``to_bin`` (an item that slipped past its
        diverter and was found elsewhere); the bin it was counted in, or None."""
        if to_bin not in self._items:
            raise KeyError(to_bin)
        for bin_id, items in self._items.items():
            for index in range(len(items) - 1, -1, -1):
                if items[index].item_id == item_id:
                    self._items[to_bin].append(items.pop(index))
                    return bin_id
        return None

    def contents(self, bin_id: str) -> tuple[ManifestItem, ...]:
        return tuple(self._items[bin_id])

    def empty(self, bin_id: str, at: datetime) -> BinSlip:
        """Staff emptied ``bin_id``: its count starts again from 0; the slip lists what was in it.

        The full sensor's state is left alone: it clears itself when the trolley
        is back empty, and a bin whose beam still reads blocked is not empty.
        """
        settings = self._settings.bin(bin_id)
        items = tuple(self._items[bin_id])
        self._items[bin_id] = []
        return BinSlip(bin_id, settings.name_vi, settings.name_en, at, items)


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def manifest_csv(slip: BinSlip) -> str:
    """The slip as CSV text (a header line, then one line per item), for the manifest file.

    Write it with :data:`CSV_ENCODING`. Times are ISO 8601 as stored (with their
    offset when they carry one); text from the catalogue that a spreadsheet would
    run as a formula is prefixed with ``'``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in slip.items:
        writer.writerow(
            (
                _cell(slip.bin_id),
                slip.emptied_at.isoformat(),
                _cell(item.item_id),
                _cell(item.title),
                _cell(item.destination),
                item.reason.value if item.reason is not None else "",
                item.placed_at.isoformat(),
            )
        )
    return out.getvalue()


def slip_lines(slip: BinSlip, language: Language) -> list[str]:
    """The slip's lines for the receipt printer, in ``language``."""
    name = slip.name_vi if language == "vi" else slip.name_en
    lines = [
        SLIP_TITLE.format(language, bin=slip.bin_id, name=name),
        SLIP_EMPTIED.format(language, when=slip.emptied_at.strftime("%Y-%m-%d %H:%M")),
        SLIP_COUNT.format(language, count=len(slip.items)),
        "",
    ]
    for item in slip.items:
        lines.append(f"{item.item_id}  {item.title}".rstrip())
        if item.destination:
            lines.append("    " + SLIP_TO.format(language, destination=item.destination))
        if item.reason is not None:
            lines.append("    " + REASONS[item.reason].name.in_language(language))
    return lines
