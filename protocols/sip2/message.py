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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from protocols.sip2.checksum import checksum, checksum_matches
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
    fixed: Mapping[str, str] = field(default_factory=dict, hash=False)
    fields: tuple[tuple[str, str], ...] = ()
    sequence: int | None = field(default=None, compare=False)
    checksum_ok: bool | None = field(default=None, compare=False)

    NAME: ClassVar[str] = "Unknown message"
    COMMAND: ClassVar[str] = ""
    FIXED: ClassVar[tuple[Fixed[Any], ...]] = ()
    VARIABLE: ClassVar[tuple[Variable[Any], ...]] = ()

    def __init_subclass__(cls) -> None:
        # No super() call: slots=True rebuilds this class, which breaks zero-argument
        # super(), and object.__init_subclass__ has nothing to do.
        cls.FIXED = tuple(v for v in vars(cls).values() if isinstance(v, Fixed))
        cls.VARIABLE = tuple(v for v in vars(cls).values() if isinstance(v, Variable))
        if cls.COMMAND:
            REGISTRY[cls.COMMAND] = cls
            _LAYOUTS[cls.COMMAND] = tuple((f.name, f.length, f.is_date) for f in cls.FIXED)

    # --- reading -----------------------------------------------------------------

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
        fixed = {spec.name: spec.to_raw(values.pop(spec.name, spec.default)) for spec in cls.FIXED}
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
        return type(self)(self.command, self.fixed, kept + pairs, self.sequence, self.checksum_ok)


REGISTRY: dict[str, type[Message]] = {}
_LAYOUTS: dict[str, tuple[tuple[str, int, bool], ...]] = {}


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SIP2Error(f"unknown text encoding {encoding!r}") from None


def decode(raw: bytes | str, encoding: str = "utf-8") -> Message:
    """Decode one SIP2 message, as tolerantly as real ILSs require.

    Accepts CR, LF, CRLF or no terminator, a missing ``|`` before AY, repeated
    and empty fields, and dates in the wild's other formats. Bytes that are not
    valid in ``encoding`` become U+FFFD instead of failing. Raises
    :class:`SIP2Error`, and nothing else, for what cannot be decoded.
    """
    _check_encoding(encoding)
    if isinstance(raw, str):
        try:
            data = raw.encode(encoding)
        except UnicodeEncodeError as exc:
            raise SIP2Error(f"text cannot be encoded as {encoding}: {exc.reason}") from None
    elif isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
    else:
        raise SIP2Error(f"expected bytes or str, got {type(raw).__name__}")
    data = data.strip(_TRAILING_JUNK)
    if len(data) < 2:
        raise SIP2Error("message too short: no command id")

    end = len(data)
    sequence: int | None = None
    checksum_ok: bool | None = None
    if end >= 6 and data[end - 6 : end - 4] == b"AZ":
        checksum_ok = checksum_matches(data[: end - 4], data[end - 4 :])
        end -= 6
    # AY is one digit (some servers send two); without AZ, only trust an AY that
    # follows a field separator, so a title ending in "...AY5" stays intact.
    ay = data.rfind(b"AY", max(2, end - 4), end)
    trusted = checksum_ok is not None or data[ay - 1 : ay] == b"|"
    if ay >= 2 and trusted and data[ay + 2 : end].isdigit():
        sequence = int(data[ay + 2 : end])
        end = ay

    try:
        text = data[:end].decode(encoding, "replace")
    except Exception as exc:  # a codec that fails in ways "replace" does not cover
        raise SIP2Error(f"cannot decode bytes as {encoding}: {exc}") from None

    command = text[:2]
    cls = REGISTRY.get(command)
    if cls is None:
        raise SIP2Error(f"unknown command id {command!r}")
    fixed: dict[str, str] = {}
    pos = 2
    for name, spec_length, is_date in _LAYOUTS[command]:
        length = 19 if is_date and looks_like_iso_date(text, pos) else spec_length
        if pos + length > len(text):
            raise SIP2Error(
                f"{cls.NAME} ({command}) too short: fixed field {name} needs "
                f"{length} characters at position {pos}, message has {len(text)}"
            )
        fixed[name] = text[pos : pos + length]
        pos += length

    fields: list[tuple[str, str]] = []
    if pos < len(text):
        for segment in text[pos:].split("|"):
            if not segment:
                continue
            field_id = segment[:2]
            if len(segment) < 2 or not (field_id.isascii() and field_id.isalnum()):
                raise SIP2Error(f"{cls.NAME} ({command}): bad field id {field_id!r}")
            fields.append((field_id, segment[2:]))
    return cls(command, fixed, tuple(fields), sequence, checksum_ok)


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
    layout = _LAYOUTS.get(message.command)
    names = [name for name, _, _ in layout] if layout is not None else list(message.fixed)
    parts = [message.command]
    parts.extend(message.fixed.get(name, "") for name in names)
    for field_id, value in message.fields:
        parts.append(field_id)
        parts.append(value)
        parts.append("|")
    text = "".join(parts)
    if codecs.lookup(encoding).name == "cp1258":
        text = cp1258_form(text)
    try:
        data = text.encode(encoding, errors)
    except UnicodeEncodeError:
        bad = next(
            (fid for fid, value in message.fields if not _encodable(value, encoding)), "fixed part"
        )
        raise SIP2Error(f"field {bad} cannot be encoded as {encoding}") from None
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


def _encodable(value: str, encoding: str) -> bool:
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
