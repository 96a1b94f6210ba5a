"""Import patrons and items into the ILS simulator from CSV files.

A library trying muontra usually has its own patron and item lists in a
spreadsheet; exporting them as CSV and importing them here gives a simulator
that answers with the library's own data.

Files are UTF-8 (a byte-order mark, as Excel writes, is fine) with a header
line naming the columns below, in any order; unknown columns are an error
(a misspelt column would otherwise be silently dropped). Values are stripped
of surrounding spaces but otherwise kept byte for byte, Unicode normal form
included. The whole file is checked first: any bad row stops the import
with :class:`CsvImportError` listing every problem by line and column, and
nothing is written. Branch codes must already exist (see
:func:`ilssim.seed.create_branches`).

Patron columns (``*`` required):

================  =============================================================
barcode*          card number
pin*              PIN
name*             full name (Vietnamese diacritics welcome)
email             e-mail address
patron_type       adult (default), student, child or staff
loan_limit        how many loans at once; default by type (10, 10, 5, 20)
blocked           yes/no (also true/false, 1/0, có/không); default no
block_reason      shown to the patron when blocked
card_lost         yes/no; default no
expires_on        card expiry date, YYYY-MM-DD
language          vi (default) or en
home_library*     branch code
================  =============================================================

Item columns (``*`` required):

================  =============================================================
barcode*          item barcode
title*            title
author            author
media_type        SIP2 code 000–010 or a name: other, book (default), magazine,
                  bound_journal, audio_tape, video_tape, cd, diskette,
                  book_with_diskette, book_with_cd, book_with_audio_tape
call_number       shelf mark
home_library*     branch code of the permanent location
current_location  branch code where the item is now; default home_library
sort_bin          return-machine bin overriding the branch's mapping
owner             institution code; default the home branch's institution
set_parts         number of pieces; default 1
status            available (default), on_order, in_process, lost, missing,
                  waiting_to_be_reshelved, other, or their SIP2 codes; statuses
                  that need a loan or a hold (charged, on hold shelf, in
                  transit…) come from circulation, not from a file
bib_id            groups copies of one title for title-level holds; default
                  one record per distinct title and author
security_marker   SIP2 code 00–03; default 02 (tattle-tape)
loan_fee          loan fee in VND; default 0
================  =============================================================
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ilssim.models import BlockSource, Branch, Institution, Item, Patron, PatronType
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus, MediaType, SecurityMarker

__all__ = [
    "ITEM_COLUMNS",
    "PATRON_COLUMNS",
    "CsvImportError",
    "ImportResult",
    "RowError",
    "import_items",
    "import_patrons",
]

_T = TypeVar("_T")

PATRON_COLUMNS = (
    "barcode",
    "pin",
    "name",
    "email",
    "patron_type",
    "loan_limit",
    "blocked",
    "block_reason",
    "card_lost",
    "expires_on",
    "language",
    "home_library",
)
PATRON_REQUIRED = frozenset({"barcode", "pin", "name", "home_library"})

ITEM_COLUMNS = (
    "barcode",
    "title",
    "author",
    "media_type",
    "call_number",
    "home_library",
    "current_location",
    "sort_bin",
    "owner",
    "set_parts",
    "status",
    "bib_id",
    "security_marker",
    "loan_fee",
)
ITEM_REQUIRED = frozenset({"barcode", "title", "home_library"})

_DEFAULT_LIMITS = {
    PatronType.ADULT: 10,
    PatronType.STUDENT: 10,
    PatronType.CHILD: 5,
    PatronType.STAFF: 20,
}
_TRUE = frozenset({"yes", "y", "true", "1", "có", "co", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "không", "khong", ""})

_MEDIA_NAMES = {
    "other": MediaType.OTHER,
    "book": MediaType.BOOK,
    "magazine": MediaType.MAGAZINE,
    "bound_journal": MediaType.BOUND_JOURNAL,
    "audio_tape": MediaType.AUDIO_TAPE,
    "video_tape": MediaType.VIDEO_TAPE,
    "cd": MediaType.CD_CDROM,
    "cdrom": MediaType.CD_CDROM,
    "cd_cdrom": MediaType.CD_CDROM,
    "diskette": MediaType.DISKETTE,
    "book_with_diskette": MediaType.BOOK_WITH_DISKETTE,
    "book_with_cd": MediaType.BOOK_WITH_CD,
    "book_with_audio_tape": MediaType.BOOK_WITH_AUDIO_TAPE,
}
_IMPORTABLE_STATUS = {
    "other": CirculationStatus.OTHER,
    "on_order": CirculationStatus.ON_ORDER,
    "available": CirculationStatus.AVAILABLE,
    "in_process": CirculationStatus.IN_PROCESS,
    "waiting_to_be_reshelved": CirculationStatus.WAITING_TO_BE_RESHELVED,
    "lost": CirculationStatus.LOST,
    "missing": CirculationStatus.MISSING,
}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in a CSV file. ``line`` counts from 1, the header being line 1."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.message}"


class CsvImportError(ValueError):
    """A CSV file was refused; ``errors`` lists every problem found, nothing was imported."""

    def __init__(self, source: str, errors: list[RowError]) -> None:
        self.source = source
        self.errors = tuple(errors)
        shown = "\n".join(f"  {error}" for error in errors[:50])
        more = f"\n  … and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{source}: {len(errors)} problem(s), nothing imported:\n{shown}{more}")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import created."""

    source: str
    created: int


Source = str | Path | TextIO


@contextmanager
def _open(source: Source) -> Iterator[tuple[str, TextIO]]:
    if isinstance(source, str | Path):
        with Path(source).open(encoding="utf-8-sig", newline="") as handle:
            yield str(source), handle
    else:
        yield getattr(source, "name", "<csv>"), source


class _Rows:
    """Reads a CSV file and collects errors for the whole file."""

    def __init__(
        self, name: str, handle: TextIO, columns: tuple[str, ...], required: frozenset[str]
    ) -> None:
        self.name = name
        self.errors: list[RowError] = []
        text = handle.read()
        if text.startswith("\ufeff"):
            text = text[1:]
        self.reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [column.strip() for column in (self.reader.fieldnames or [])]
        self.reader.fieldnames = header
        if not header:
            self.errors.append(RowError(1, None, "the file is empty (no header line)"))
            return
        for column in header:
            if column not in columns:
                self.errors.append(
                    RowError(1, column, f"unknown column; expected some of: {', '.join(columns)}")
                )
        for column in sorted(required - set(header)):
            self.errors.append(RowError(1, column, "required column missing"))
        seen: set[str] = set()
        for column in header:
            if column in seen:
                self.errors.append(RowError(1, column, "column appears twice"))
            seen.add(column)

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        if self.errors:
            return
        for row in self.reader:
            line = self.reader.line_num
            if None in row:
                self.errors.append(RowError(line, None, "more values than columns"))
                continue
            values = {key: (value or "").strip() for key, value in row.items()}
            if not any(values.values()):
                continue  # blank line
            yield line, values

    def error(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(RowError(line, column, message))

    def required(self, line: int, row: dict[str, str], column: str) -> str:
        value = row.get(column, "")
        if not value:
            self.error(line, column, "a value is required")
        return value

    def parse(
        self, line: int, row: dict[str, str], column: str, parse: Callable[[str], _T], default: _T
    ) -> _T:
        value = row.get(column, "")
        if not value:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            self.error(line, column, str(exc))
            return default


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{value!r} is not yes or no")


def _count(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value.replace(".", "").replace(",", "").replace(" ", ""))
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if number < minimum:
            raise ValueError(f"must be at least {minimum}")
        return number

    return parse


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date like 2027-12-31") from None


def _patron_type(value: str) -> PatronType:
    try:
        return PatronType(value.lower())
    except ValueError:
        names = ", ".join(member.value for member in PatronType)
        raise ValueError(f"{value!r} is not a patron type ({names})") from None


def _language(value: str) -> str:
    if value.lower() not in ("vi", "en"):
        raise ValueError(f"{value!r} is not a supported language (vi, en)")
    return value.lower()


def _media(value: str) -> MediaType:
    key = value.lower().replace(" ", "_").replace("-", "_").replace("/", "_")
    if key in _MEDIA_NAMES:
        return _MEDIA_NAMES[key]
    try:
        return MediaType(value.zfill(3))
    except ValueError:
        raise ValueError(f"{value!r} is not a SIP2 media type (000–010 or a name)") from None


def _status(value: str) -> CirculationStatus:
    key = value.lower().replace(" ", "_")
    if key in _IMPORTABLE_STATUS:
        return _IMPORTABLE_STATUS[key]
    by_name = {member.name.lower(): member for member in CirculationStatus}
    try:
        status = by_name.get(key) or CirculationStatus(value.zfill(2))
    except ValueError:
        raise ValueError(f"{value!r} is not a circulation status") from None
    if status not in _IMPORTABLE_STATUS.values():
        raise ValueError(
            f"status {status.value} ({status.name.lower()}) comes from circulation, "
            "not from an import"
        )
    return status


def _security(value: str) -> SecurityMarker:
    try:
        return SecurityMarker(value.zfill(2))
    except ValueError:
        raise ValueError(f"{value!r} is not a SIP2 security marker (00–03)") from None


def _save(store: Store, name: str, rows: _Rows, build: Callable[[Session], list[object]]) -> int:
    try:
        with store.write() as session:
            records = build(session)
            if rows.errors:
                raise CsvImportError(name, rows.errors)
            session.add_all(records)
            session.flush()
            return len(records)
    except IntegrityError as exc:
        # Only a concurrent writer can get here; checks above cover the file itself.
        error = RowError(0, None, f"database refused the rows: {exc.orig}")
        raise CsvImportError(name, [error]) from exc


def import_patrons(store: Store, source: Source) -> ImportResult:
    """Import patrons from a CSV file or text stream; all rows or none."""
    with _open(source) as (name, handle):
        rows = _Rows(name, handle, PATRON_COLUMNS, PATRON_REQUIRED)

        def build(session: Session) -> list[object]:
            branches = set(session.scalars(select(Branch.code)))
            existing = set(session.scalars(select(Patron.barcode)))
            seen: dict[str, int] = {}
            patrons: list[object] = []
            for line, row in rows:
                barcode = rows.required(line, row, "barcode")
                pin = rows.required(line, row, "pin")
                full_name = rows.required(line, row, "name")
                home = rows.required(line, row, "home_library")
                if barcode in existing:
                    rows.error(line, "barcode", f"patron {barcode!r} already exists")
                elif barcode and barcode in seen:
                    rows.error(line, "barcode", f"duplicate of line {seen[barcode]}")
                seen.setdefault(barcode, line)
                if home and home not in branches:
                    rows.error(line, "home_library", f"unknown branch {home!r}")
                patron_type = rows.parse(line, row, "patron_type", _patron_type, PatronType.ADULT)
                card_lost = rows.parse(line, row, "card_lost", _bool, False)
                # A lost card is a block too; either was set by staff, not by a kiosk.
                blocked = rows.parse(line, row, "blocked", _bool, False) or card_lost
                patrons.append(
                    Patron(
                        barcode=barcode,
                        pin=pin,
                        name=full_name,
                        email=row.get("email") or None,
                        patron_type=patron_type,
                        loan_limit=rows.parse(
                            line, row, "loan_limit", _count(0), _DEFAULT_LIMITS[patron_type]
                        ),
                        blocked=blocked,
                        block_reason=row.get("block_reason") or None,
                        block_source=BlockSource.STAFF if blocked else None,
                        card_lost=card_lost,
                        expires_on=rows.parse(line, row, "expires_on", _date, None),
                        language=rows.parse(line, row, "language", _language, "vi"),
                        home_branch_code=home,
                    )
                )
            return patrons

        return ImportResult(name, _save(store, name, rows, build))


def import_items(store: Store, source: Source) -> ImportResult:
    """Import items from a CSV file or text stream; all rows or none."""
    with _open(source) as (name, handle):
        rows = _Rows(name, handle, ITEM_COLUMNS, ITEM_REQUIRED)

        def build(session: Session) -> list[object]:
            branches = {b.code: b.institution_code for b in session.scalars(select(Branch))}
            institutions = set(session.scalars(select(Institution.code)))
            existing = set(session.scalars(select(Item.barcode)))
            seen: dict[str, int] = {}
            items: list[object] = []
            for line, row in rows:
                barcode = rows.required(line, row, "barcode")
                if len(barcode) > 64:
                    rows.error(line, "barcode", "longer than 64 characters")
                title = rows.required(line, row, "title")
                home = rows.required(line, row, "home_library")
                if barcode in existing:
                    rows.error(line, "barcode", f"item {barcode!r} already exists")
                elif barcode and barcode in seen:
                    rows.error(line, "barcode", f"duplicate of line {seen[barcode]}")
                seen.setdefault(barcode, line)
                if home and home not in branches:
                    rows.error(line, "home_library", f"unknown branch {home!r}")
                current = row.get("current_location") or home
                if current != home and current not in branches:
                    rows.error(line, "current_location", f"unknown branch {current!r}")
                owner = row.get("owner") or branches.get(home, "")
                if row.get("owner") and owner not in institutions:
                    rows.error(line, "owner", f"unknown institution {owner!r}")
                author = row.get("author", "")
                if len(row.get("bib_id", "")) > 32:
                    rows.error(line, "bib_id", "longer than 32 characters")
                bib_id = (
                    row.get("bib_id")
                    or "csv-"
                    + hashlib.sha1(
                        f"{title}\x1f{author}".encode(), usedforsecurity=False
                    ).hexdigest()[:12]
                )
                items.append(
                    Item(
                        barcode=barcode,
                        bib_id=bib_id,
                        title=title,
                        author=author,
                        media_type=rows.parse(line, row, "media_type", _media, MediaType.BOOK),
                        call_number=row.get("call_number", ""),
                        home_branch_code=home,
                        current_branch_code=current,
                        destination_branch_code=None,
                        sort_bin=row.get("sort_bin") or None,
                        owner_code=owner,
                        set_parts=rows.parse(line, row, "set_parts", _count(1), 1),
                        status=rows.parse(
                            line, row, "status", _status, CirculationStatus.AVAILABLE
                        ),
                        security_marker=rows.parse(
                            line, row, "security_marker", _security, SecurityMarker.TATTLE_TAPE
                        ),
                        loan_fee=rows.parse(line, row, "loan_fee", _count(0), 0),
                        properties="",
                    )
                )
            return items

        return ImportResult(name, _save(store, name, rows, build))
