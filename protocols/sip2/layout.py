"""Descriptors that declare a message's wire layout and give typed access to it.

A message class lists its fixed-length fields and its variable fields as class
attributes, in wire order. That one declaration drives decoding, encoding,
``create()`` and typed reading (``response.due_date``), so the layout of each
message is written exactly once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from protocols.sip2.codes import PatronStatusFlag
from protocols.sip2.dates import BLANK_DATE, format_date, parse_date

if TYPE_CHECKING:
    from protocols.sip2.message import Message

T = TypeVar("T")


class Fixed(Generic[T]):
    """A fixed-length field; ``Message.fixed`` keeps its raw text under this attribute's name."""

    is_date = False

    def __init__(self, length: int, default: str) -> None:
        self.length = length
        self.default = default
        self.name = ""
        self.index = 0  # position among the message's fixed fields, set by Message

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Fixed[T]: ...
    @overload
    def __get__(self, obj: Message, owner: type) -> T: ...
    def __get__(self, obj: Message | None, owner: type) -> Fixed[T] | T:
        if obj is None:
            return self
        values = obj.fixed_values
        return self.parse(values[self.index] if self.index < len(values) else self.default)

    def parse(self, raw: str) -> T:
        raise NotImplementedError

    def to_raw(self, value: Any) -> str:
        """Wire text for ``value``: a raw string of the right length passes through."""
        if isinstance(value, str):
            if len(value) != self.length and not (self.is_date and len(value) == 19):
                raise ValueError(f"{self.name} must be {self.length} characters, got {value!r}")
            return value
        return self.format(value)

    def format(self, value: Any) -> str:
        raise TypeError(f"{self.name}: cannot encode {value!r}")


class Flag(Fixed[bool | None]):
    """Y / N, with U (unknown) read as None."""

    def __init__(self, default: str = "N") -> None:
        super().__init__(1, default)

    def parse(self, raw: str) -> bool | None:
        return True if raw == "Y" else False if raw == "N" else None

    def format(self, value: Any) -> str:
        return "U" if value is None else "Y" if value else "N"


class Bit(Fixed[bool]):
    """The ok fields of responses, written 1 / 0 (some servers write Y / N)."""

    def __init__(self, default: str = "0") -> None:
        super().__init__(1, default)

    def parse(self, raw: str) -> bool:
        return raw in ("1", "Y")

    def format(self, value: Any) -> str:
        return "1" if value else "0"


class Text(Fixed[str]):
    """Codes and other fixed text kept as they are (circulation status, language…)."""

    def parse(self, raw: str) -> str:
        return raw

    def format(self, value: Any) -> str:
        text = str(value.value if hasattr(value, "value") else value)
        return self.to_raw(text.zfill(self.length) if text.isdigit() else text)


class Count(Fixed[int | None]):
    """Zero-padded counts; blanks or letters (some servers send "    " or "UUUU") read as None."""

    def __init__(self, length: int) -> None:
        super().__init__(length, "0" * length)

    def parse(self, raw: str) -> int | None:
        stripped = raw.strip()
        return int(stripped) if stripped.isdigit() else None

    def format(self, value: Any) -> str:
        if value is None:
            return " " * self.length
        if not isinstance(value, int) or value < 0 or len(str(value)) > self.length:
            raise ValueError(f"{self.name} must be 0..{10**self.length - 1}, got {value!r}")
        return str(value).zfill(self.length)


class Date(Fixed[datetime | None]):
    """An 18-character date, parsed leniently; the raw text stays in ``Message.fixed``."""

    is_date = True

    def __init__(self) -> None:
        super().__init__(18, BLANK_DATE)

    def parse(self, raw: str) -> datetime | None:
        return parse_date(raw)

    def format(self, value: Any) -> str:
        if value is None or isinstance(value, datetime):
            return format_date(value)
        raise TypeError(f"{self.name}: expected a datetime, got {value!r}")


class Status(Fixed[frozenset[PatronStatusFlag]]):
    """The 14-character patron status: the set of flags marked 'Y'."""

    def __init__(self) -> None:
        super().__init__(14, " " * 14)

    def parse(self, raw: str) -> frozenset[PatronStatusFlag]:
        return frozenset(flag for flag in PatronStatusFlag if raw[flag : flag + 1] == "Y")

    def format(self, value: Any) -> str:
        flags = set(value)
        return "".join("Y" if flag in flags else " " for flag in PatronStatusFlag)


class Variable(Generic[T]):
    """A variable-length field ``IDvalue|`` identified by its two-character id."""

    def __init__(self, field_id: str, required: bool = False) -> None:
        self.field_id = field_id
        self.required = required
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Variable[T]: ...
    @overload
    def __get__(self, obj: Message, owner: type) -> T: ...
    def __get__(self, obj: Message | None, owner: type) -> Variable[T] | T:
        if obj is None:
            return self
        return self.read(obj)

    def read(self, message: Message) -> T:
        raise NotImplementedError

    def to_raw(self, value: Any) -> list[str]:
        """Wire values for ``value`` (a list for repeatable fields)."""
        return [str(value)]


class Field(Variable[str | None]):
    """The first occurrence of a field, or None when absent."""

    def read(self, message: Message) -> str | None:
        return message.get(self.field_id)


class Repeated(Variable[tuple[str, ...]]):
    """Every occurrence of a field that may repeat (AF, AG, AS, AU…), in wire order."""

    def read(self, message: Message) -> tuple[str, ...]:
        return message.get_all(self.field_id)

    def to_raw(self, value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value]


class YesNo(Variable[bool | None]):
    """A Y/N variable field (BL, CQ, BO, BI)."""

    def read(self, message: Message) -> bool | None:
        raw = message.get(self.field_id)
        return None if raw is None else raw.strip().upper().startswith("Y")

    def to_raw(self, value: Any) -> list[str]:
        return ["Y" if value else "N"]


class Number(Variable[int | None]):
    """A numeric variable field (limits, queue lengths); unreadable text reads as None."""

    def read(self, message: Message) -> int | None:
        raw = message.get(self.field_id)
        if raw is None:
            return None
        raw = raw.strip()
        return int(raw) if raw.isdigit() else None
