"""The SIP2 message value, and ``decode`` / ``encode`` between it and wire bytes.

Every message decodes to an instance of its typed class (``CheckoutResponse``,
…), which is also a plain ``Message``: ``command``, ``fixed`` (raw fixed-field
text by snake_case name), ``fields`` (every variable field as ``(id, value)``
in wire order, AY and AZ excluded), ``sequence`` and ``checksum_ok``.

Raw text is kept as it came, so a well-formed message encodes back to the very
same bytes, and nothing an ILS sent is lost to normalisation.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from protocols.sip2.checksum import checksum
from protocols.sip2.dates import looks_like_iso_date
from protocols.sip2.errors import SIP2Error
from protocols.sip2.layout import Fixed, Variable
from protocols.sip2.vietnamese import cp1258_form

# Requests answered without AY (the spec's own examples: "96AZFEF6").
_NO_SEQUENCE = frozenset({"96", "97"})
_TRAILING_JUNK = b"\r\n\x00"


@dataclass(frozen=True, slots=True)
class Message:
    """A SIP2 message. Equality ignores ``sequence`` and ``checksum_ok`` (transport details)."""

    command: str
    fixed_values: tuple[str, ...] = ()
    """The fixed-length fields' raw text, in wire order (see ``fixed`` for them by name)."""
    fields: tuple[tuple[str, str], ...] = ()
    sequence: int | None = field(default=None, compare=False)
    checksum_ok: bool | None = field(default=None, compare=False)

    NAME: ClassVar[str] = "Unknown message"
    COMMAND: ClassVar[str] = ""
    FIXED: ClassVar[tuple[Fixed[Any], ...]] = ()
    FIXED_NAMES: ClassVar[tuple[str, ...]] = ()
    VARIABLE: ClassVar[tuple[Variable[Any], ...]] = ()

    def __init_subclass__(cls) -> None:
        # No super() call: slots=True rebuilds this class, which breaks zero-argument
        # super(), and object.__init_subclass__ has nothing to do.
        cls.FIXED = tuple(v for v in vars(cls).values() if isinstance(v, Fixed))
        cls.FIXED_NAMES = tuple(spec.name for spec in cls.FIXED)
        for index, spec in enumerate(cls.FIXED):
            spec.index = index
        cls.VARIABLE = tuple(v for v in vars(cls).values() if isinstance(v, Variable))
        if cls.COMMAND:
            REGISTRY[cls.COMMAND] = cls
            _LAYOUTS[cls.COMMAND] = tuple((f.name, f.length, f.is_date) for f in cls.FIXED)
            _FIXED_LENGTHS[cls.COMMAND] = tuple(f.length for f in cls.FIXED)
            _FAST_LAYOUTS[cls.COMMAND] = _fast_layout(cls, cls.FIXED)

    # --- reading -----------------------------------------------------------------

    @property
    def fixed(self) -> dict[str, str]:
        """The fixed-length fields' raw text by snake_case spec name, in wire order."""
        return dict(zip(type(self).FIXED_NAMES, self.fixed_values, strict=False))

    @property
    def name(self) -> str:
        """The spec's name of this message ("Checkout Response")."""
        return type(self).NAME

    def get(self, field_id: str, default: str | None = None) -> str | None:
        """The first value of ``field_id``, or ``default``."""
        for fid, value in self.fields:
            if fid == field_id:
                return value
        return default

    def get_all(self, field_id: str) -> tuple[str, ...]:
        """Every value of ``field_id``, in wire order."""
        return tuple(value for fid, value in self.fields if fid == field_id)

    @property
    def screen_messages(self) -> tuple[str, ...]:
        """AF: what the ILS wants the patron to read, verbatim."""
        return self.get_all("AF")

    @property
    def print_lines(self) -> tuple[str, ...]:
        """AG: lines the ILS wants printed on the receipt."""
        return self.get_all("AG")

    # --- building ----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        extra: Iterable[tuple[str, str]] = (),
        sequence: int | None = None,
        **values: Any,
    ) -> Self:
        """Build a message from typed values named as the class's attributes.

        Fixed fields missing from ``values`` get their neutral default; required
        variable fields missing or None are sent empty (ILSs demand their
        presence); optional ones that are None are left out. ``extra`` appends
        fields the class does not declare (extensions).
        """
        fixed = tuple(spec.to_raw(values.pop(spec.name, spec.default)) for spec in cls.FIXED)
        fields: list[tuple[str, str]] = []
        for var in cls.VARIABLE:
            value = values.pop(var.name, None)
            if value is None:
                if var.required:
                    fields.append((var.field_id, ""))
                continue
            fields.extend((var.field_id, raw) for raw in var.to_raw(value))
        if values:
            raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(values))}")
        fields.extend(extra)
        return cls(cls.COMMAND, fixed, tuple(fields), sequence)

    def with_fields(self, *pairs: tuple[str, str], drop: Iterable[str] = ()) -> Self:
        """A copy with fields ``drop`` removed and ``pairs`` appended."""
        dropped = frozenset(drop)
        kept = tuple(p for p in self.fields if p[0] not in dropped)
        return type(self)(
            self.command, self.fixed_values, kept + pairs, self.sequence, self.checksum_ok
        )


_SETTERS = tuple(
    Message.__dict__[name].__set__
    for name in ("command", "fixed_values", "fields", "sequence", "checksum_ok")
)


def _build(  # noqa: PLR0917 - mirrors the five dataclass fields, plus the class
    cls: type[Message],
    command: str,
    fixed: tuple[str, ...],
    fields: tuple[tuple[str, str], ...],
    sequence: int | None,
    checksum_ok: bool | None,
) -> Message:
    """``cls(...)`` without the frozen dataclass's per-field ``object.__setattr__`` calls.

    Decoding is the hot path of every kiosk and gate; this halves the cost of
    making the value. The slots are set once, exactly as ``__init__`` would.
    """
    message = object.__new__(cls)
    set_command, set_fixed, set_fields, set_sequence, set_checksum_ok = _SETTERS
    set_command(message, command)
    set_fixed(message, fixed)
    set_fields(message, fields)
    set_sequence(message, sequence)
    set_checksum_ok(message, checksum_ok)
    return message


REGISTRY: dict[str, type[Message]] = {}
_LAYOUTS: dict[str, tuple[tuple[str, int, bool], ...]] = {}
_FIXED_LENGTHS: dict[str, tuple[int, ...]] = {}
# Per command: field names, their (start, end) spans, where dates start, and
# where the variable part starts, when every date has the standard 18 characters.
_FastLayout = tuple[type[Message], re.Pattern[str]]
_FAST_LAYOUTS: dict[str, _FastLayout] = {}


def _fast_layout(cls: type[Message], specs: tuple[Fixed[Any], ...]) -> _FastLayout:
    """One pattern for a whole message: a group per fixed field, one for the variable part.

    A date group refuses a '-' after the year, so an ISO date ("2024-05-01 …",
    one character longer) falls to the lenient path instead of being cut short.
    """
    groups = "".join(
        r"(.{4}(?!-).{14})" if spec.is_date else f"(.{{{spec.length}}})" for spec in specs
    )
    return cls, re.compile(f"(?s){groups}({_VARIABLE_PART.pattern})")


_KNOWN_ENCODINGS: set[str] = set()

# The variable part: segments of a two-character id (ASCII letters or digits) and
# a value, separated by '|' (empty segments allowed). Possessive quantifiers keep
# a hostile input from backtracking; findall then yields (id, value) pairs in C.
_VARIABLE_PART = re.compile(r"(?:\|*[A-Za-z0-9]{2}[^|]*+)*+\|*")
_FIELD = re.compile(r"([A-Za-z0-9]{2})([^|]*)")


def _check_encoding(encoding: str) -> None:
    if encoding in _KNOWN_ENCODINGS:
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SIP2Error(f"unknown text encoding {encoding!r}") from None
    _KNOWN_ENCODINGS.add(encoding)


def decode(raw: bytes | str, encoding: str = "utf-8") -> Message:
    """Decode one SIP2 message, as tolerantly as real ILSs require.

    Accepts CR, LF, CRLF or no terminator, a missing ``|`` before AY, repeated
    and empty fields, and dates in the wild's other formats. Bytes that are not
    valid in ``encoding`` become U+FFFD instead of failing. Raises
    :class:`SIP2Error`, and nothing else, for what cannot be decoded.
    """
    # Every kiosk and gate decodes on its hot path; this function is written flat
    # for speed (bench/sip2_codec.py), the unusual cases go to helpers.
    if encoding not in _KNOWN_ENCODINGS:
        _check_encoding(encoding)
    if type(raw) is bytes:
        data = raw
    elif isinstance(raw, str):
        try:
            data = raw.encode(encoding)
        except UnicodeEncodeError as exc:
            raise SIP2Error(f"text cannot be encoded as {encoding}: {exc.reason}") from None
    elif isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
    else:
        raise SIP2Error(f"expected bytes or str, got {type(raw).__name__}")
    data = data.strip(_TRAILING_JUNK)
    end = len(data)
    if end < 2:
        raise SIP2Error("message too short: no command id")

    sequence: int | None = None
    checksum_ok: bool | None = None
    # A checksum never holds the field separator: "…|AAZ|AC|" ends in fields, not in
    # "AZ|AC|" (a message sent without error detection whose last value ends in "A").
    if data.startswith(b"AZ", end - 6, end - 4) and b"|" not in data[end - 4 :]:
        digits = data[end - 4 :]
        checksum_ok = (
            digits.isalnum() and b"%04X" % (-sum(data[: end - 4]) & 0xFFFF) == digits.upper()
        )
        end -= 6
        # The usual "AYn" right before AZ, read without searching.
        if data.startswith(b"AY", end - 3, end - 1) and 48 <= data[end - 1] <= 57:
            sequence = data[end - 1] - 48
            end -= 3
    if sequence is None:
        sequence, end = _loose_sequence(data, end, checksum_ok is not None)

    try:
        text = data[:end].decode(encoding, "replace")
    except Exception as exc:  # a codec that fails in ways "replace" does not cover
        raise SIP2Error(f"cannot decode bytes as {encoding}: {exc}") from None
    command = text[:2]
    layout = _FAST_LAYOUTS.get(command)
    if layout is None:
        raise SIP2Error(f"unknown command id {command!r}")
    cls, whole = layout
    # The common case in one match: every fixed field in place with standard dates,
    # then a well-formed variable part.
    match = whole.fullmatch(text, 2)
    if match is not None:
        groups = match.groups()
        rest = groups[-1]
        fields = tuple(_FIELD.findall(rest)) if rest else ()
        return _build(cls, command, groups[:-1], fields, sequence, checksum_ok)
    fixed, pos = _fixed_lenient(cls, command, text)
    rest = text[pos:]
    if _VARIABLE_PART.fullmatch(rest) is None:
        bad = next((s[:2] for s in rest.split("|") if s and _FIELD.match(s) is None), rest[:2])
        raise SIP2Error(f"{cls.NAME} ({command}): bad field id {bad!r}")
    return _build(cls, command, fixed, tuple(_FIELD.findall(rest)), sequence, checksum_ok)


def _loose_sequence(data: bytes, end: int, had_checksum: bool) -> tuple[int | None, int]:
    """An AY sequence number in an unusual place (two digits, no AZ after it)."""
    # Without AZ, only trust an AY that follows a field separator, so that a title
    # ending in "...AY5" stays intact.
    ay = data.rfind(b"AY", max(2, end - 4), end)
    trusted = had_checksum or data[ay - 1 : ay] == b"|"
    if ay >= 2 and trusted and data[ay + 2 : end].isdigit():
        return int(data[ay + 2 : end]), ay
    return None, end


def _fixed_lenient(cls: type[Message], command: str, text: str) -> tuple[tuple[str, ...], int]:
    """Fixed fields one by one, allowing 19-character ISO dates; errors say which field."""
    fixed: list[str] = []
    pos = 2
    size = len(text)
    for name, length, is_date in _LAYOUTS[command]:
        if is_date and text[pos + 4 : pos + 5] == "-" and looks_like_iso_date(text, pos):
            length = 19  # noqa: PLW2901 - a wild "YYYY-MM-DD HH:MM:SS" is one longer
        if pos + length > size:
            raise SIP2Error(
                f"{cls.NAME} ({command}) too short: fixed field {name} needs "
                f"{length} characters at position {pos}, message has {size}"
            )
        fixed.append(text[pos : pos + length])
        pos += length
    return tuple(fixed), pos


def encode(
    message: Message,
    encoding: str = "utf-8",
    error_detection: bool = True,
    sequence: int | None = None,
    terminator: bytes = b"\r",
    *,
    errors: str = "strict",
) -> bytes:
    """The wire bytes of ``message``, with AY/AZ when ``error_detection``.

    ``sequence`` defaults to the message's own, else 0. The checksum is computed
    over the encoded bytes. Text that ``encoding`` cannot represent raises
    :class:`SIP2Error` naming the field, rather than silently sending '?';
    ``errors="replace"`` sends '?' instead, as legacy ILSs do (the simulator).
    """
    _check_encoding(encoding)
    command, fixed, fields = message.command, message.fixed_values, message.fields
    parts = [command, *fixed]
    ids_ok = True
    for field_id, value in fields:
        ids_ok = ids_ok and field_id in _GOOD_IDS
        parts.append(field_id)
        parts.append(value)
        parts.append("|")
    # The usual case checked in a few C calls; anything odd goes to the thorough
    # check, which names what is wrong (or lets a 19-character ISO date through).
    try:
        text = "".join(parts)
    except TypeError:
        text = ""
        ids_ok = False
    if (
        not ids_ok
        or command not in _GOOD_IDS
        or _CONTROL.search(text) is not None
        or text.count("|") != len(fields)
        or tuple(map(len, fixed)) != _FIXED_LENGTHS.get(command, ())
    ):
        _check_injection(message)
    if codecs.lookup(encoding).name == "cp1258":
        text = cp1258_form(text)
    try:
        data = text.encode(encoding, errors)
    except UnicodeEncodeError:
        bad = next(
            (fid for fid, value in message.fields if not _encodable(value, encoding)), "fixed part"
        )
        raise SIP2Error(f"field {bad} cannot be encoded as {encoding}") from None
    if codecs.lookup(encoding).name not in _SAFE_CODECS:
        _check_bytes(data, len(fields))
    if error_detection:
        if message.command in _NO_SEQUENCE:
            data += b"AZ"
        else:
            seq = sequence if sequence is not None else message.sequence or 0
            if not 0 <= seq <= 9:
                raise SIP2Error(f"sequence number must be 0-9, got {seq}")
            data += b"AY%dAZ" % seq
        data += checksum(data).encode("ascii")
    return data + terminator


# What may never travel inside a value we send: a CR or LF ends the message (the
# rest would be read as a new one), '|' starts a new field, and every other
# control character (C0, DEL, C1) is no part of any identifier or text an ILS
# expects and is how terminal-style injections begin. Received messages are
# not held to this: ``decode`` stays as tolerant as real ILSs require.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f|]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_FIELD_ID = re.compile("[A-Za-z0-9]{2}")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_GOOD_IDS = frozenset(a + b for a in _ALNUM for b in _ALNUM)
# Codecs in which only a control character encodes to a control byte and only
# '|' to 0x7C: for these the check on the text is the check on the bytes.
_SAFE_CODECS = frozenset(
    codecs.lookup(name).name
    for name in ("utf-8", "ascii", "latin-1", "cp1252", "cp1258", "cp850", "cp437")
)


def _describe(char: str) -> str:
    return "'|'" if char == "|" else f"control character U+{ord(char):04X}"


def _check_injection(message: Message) -> None:
    """Refuse a message whose values would change the message's shape on the wire.

    Whatever the caller (kiosk, gate, ILS simulator), a value carrying a
    terminator, a field separator or a control character would let text from a
    card, a barcode or a tag add a field or a whole second message. The layout
    is checked too: a fixed value of the wrong length would shift every field
    after it.
    """
    command = message.command
    if not isinstance(command, str) or _FIELD_ID.fullmatch(command) is None:
        raise SIP2Error(f"command id must be two letters or digits, got {command!r}")
    layout = _LAYOUTS.get(command)
    values = message.fixed_values
    if layout is not None and len(values) != len(layout):
        raise SIP2Error(f"{command}: {len(layout)} fixed fields expected, got {len(values)}")
    for index, value in enumerate(values):
        name = layout[index][0] if layout is not None else f"#{index + 1}"
        if not isinstance(value, str):
            raise SIP2Error(f"{command}: fixed field {name} is not text")
        bad = _FORBIDDEN.search(value)
        if bad is not None:
            raise SIP2Error(f"{command}: fixed field {name} carries {_describe(bad.group())}")
        if layout is not None:
            _, length, is_date = layout[index]
            if len(value) != length and not (is_date and len(value) == 19):
                raise SIP2Error(
                    f"{command}: fixed field {name} must be {length} characters, got {len(value)}"
                )
    for field_id, value in message.fields:
        if not isinstance(field_id, str) or _FIELD_ID.fullmatch(field_id) is None:
            raise SIP2Error(f"{command}: field id must be two letters or digits, got {field_id!r}")
        if not isinstance(value, str):
            raise SIP2Error(f"{command}: field {field_id} is not text")
        bad = _FORBIDDEN.search(value)
        if bad is not None:
            raise SIP2Error(f"{command}: field {field_id} carries {_describe(bad.group())}")


def _check_bytes(data: bytes, fields: int) -> None:
    """The encoded bytes hold exactly one message of ``fields`` fields.

    Checked after encoding too, for a code page whose multi-byte characters
    could carry a '|' or a control byte (Shift-JIS trail bytes include 0x7C).
    """
    if data.count(b"|") != fields or _CONTROL_BYTE.search(data) is not None:
        raise SIP2Error("text in this encoding would carry a separator or a control byte")


_CONTROL_BYTE = re.compile(b"[\x00-\x1f\x7f]")


def _encodable(value: str, encoding: str) -> bool:
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
