"""Where each key of a TOML document is written, so a problem can name its line.

``tomllib`` gives values, not positions, and a configuration check that says
only "patron.pin_attempts: too large" sends an installer hunting through the
file. This is a small scanner for *valid* TOML (the document has already been
parsed by ``tomllib`` when we look up lines): it follows table headers, dotted
keys, multi-line strings and arrays, and inline tables, and records the line
where every key path first appears. Array elements are recorded by index, so
``gate.readers.1`` is the line of the second reader of a multi-line array.

When the scanner meets something it does not follow it stops and keeps what it
has found: a missing line degrades a message, it must never break the check.
"""

from __future__ import annotations

import bisect
import contextlib
import json
from collections.abc import Mapping, Sequence

KeyPath = tuple[str, ...]

# Arrays and inline tables nested deeper than this are refused: a device
# configuration needs three levels at most, and a value nested thousands deep
# overflows the stack of the TOML parser (and of this scanner).
MAX_DEPTH = 32

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Stop(Exception):
    """The scanner lost its way; the lines found so far stand."""


class TooDeep(ValueError):
    """A value nested deeper than :data:`MAX_DEPTH`: where it starts."""

    def __init__(self, key: KeyPath, line: int) -> None:
        super().__init__(f"{'.'.join(key)} (line {line}) nests more than {MAX_DEPTH} levels")
        self.key = key
        self.line = line


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.found: dict[KeyPath, int] = {}
        self.depth = 0
        self.outermost: KeyPath = ()  # the key whose value the current nesting is
        self._newlines = [i for i, char in enumerate(text) if char == "\n"]

    # -- positions -------------------------------------------------------------

    def line(self) -> int:
        return bisect.bisect_left(self._newlines, self.pos) + 1

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def record(self, path: KeyPath) -> None:
        line = self.line()
        # A key implies its parents ("a.b.c = 1" defines table a and a.b there).
        for end in range(1, len(path) + 1):
            self.found.setdefault(path[:end], line)

    # -- skipping --------------------------------------------------------------

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def skip_space(self) -> None:
        """Blanks, newlines and comments: what may stand between array items."""
        while self.pos < len(self.text):
            char = self.peek()
            if char in (" ", "\t", "\r", "\n"):
                self.pos += 1
            elif char == "#":
                self.skip_comment()
            else:
                return

    def expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise _Stop
        self.pos += len(token)

    # -- keys ------------------------------------------------------------------

    def key(self) -> KeyPath:
        parts: list[str] = []
        while True:
            self.skip_blanks()
            char = self.peek()
            if char == '"':
                parts.append(self.basic_string())
            elif char == "'":
                parts.append(self.literal_string())
            else:
                start = self.pos
                while self.peek() and self.peek() in _BARE:
                    self.pos += 1
                if self.pos == start:
                    raise _Stop
                parts.append(self.text[start : self.pos])
            self.skip_blanks()
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    # -- strings ---------------------------------------------------------------

    def basic_string(self) -> str:
        self.expect('"')
        start = self.pos
        while True:
            char = self.peek()
            if not char or char == "\n":
                raise _Stop
            if char == "\\":
                self.pos += 2
                continue
            if char == '"':
                raw = self.text[start : self.pos]
                self.pos += 1
                try:
                    decoded: str = json.loads(f'"{raw}"')
                except ValueError:
                    return raw  # a TOML-only escape such as \e: the raw text will do
                return decoded
            self.pos += 1

    def literal_string(self) -> str:
        self.expect("'")
        end = self.text.find("'", self.pos)
        if end < 0:
            raise _Stop
        value = self.text[self.pos : end]
        self.pos = end + 1
        return value

    def multiline_string(self, quote: str) -> None:
        self.pos += 3
        while True:
            if self.pos >= len(self.text):
                raise _Stop
            if quote == '"' and self.peek() == "\\":
                self.pos += 2
                continue
            if self.text.startswith(quote * 3, self.pos):
                self.pos += 3
                # Up to two more quotes may close the string ("""a"""" is 'a"').
                for _ in range(2):
                    if self.peek() == quote:
                        self.pos += 1
                return
            self.pos += 1

    # -- values ----------------------------------------------------------------

    def value(self, path: KeyPath) -> None:
        self.skip_blanks()
        char = self.peek()
        if self.peek(3) in ('"""', "'''"):
            self.multiline_string(char)
        elif char == '"':
            self.basic_string()
        elif char == "'":
            self.literal_string()
        elif char in "[{" and char:
            self.depth += 1
            if self.depth == 1:
                self.outermost = path
            elif self.depth > MAX_DEPTH:
                key = self.outermost
                raise TooDeep(key, self.found.get(key, self.line()))
            if char == "[":
                self.array(path)
            else:
                self.inline_table(path)
            self.depth -= 1
        else:
            start = self.pos
            while self.peek() and self.peek() not in ",]}#\r\n":
                self.pos += 1
            if self.pos == start:
                raise _Stop

    def array(self, path: KeyPath) -> None:
        self.expect("[")
        index = 0
        while True:
            self.skip_space()
            if self.peek() == "]":
                self.pos += 1
                return
            item = (*path, str(index))
            self.record(item)
            self.value(item)
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                index += 1
            elif self.peek() != "]":
                raise _Stop

    def inline_table(self, path: KeyPath) -> None:
        self.expect("{")
        while True:
            self.skip_space()
            if self.peek() == "}":
                self.pos += 1
                return
            key = (*path, *self.key())
            self.record(key)
            self.expect("=")
            self.value(key)
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                raise _Stop

    # -- the document ----------------------------------------------------------

    def document(self) -> None:
        table: KeyPath = ()
        array_tables: dict[KeyPath, int] = {}
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                return
            if self.peek(2) == "[[":
                self.pos += 2
                name = self.key()
                self.expect("]]")
                index = array_tables.get(name, -1) + 1
                array_tables[name] = index
                table = (*name, str(index))
                self.record(table)
            elif self.peek() == "[":
                self.pos += 1
                table = self.key()
                self.expect("]")
                self.record(table)
            else:
                key = (*table, *self.key())
                self.record(key)
                self.expect("=")
                self.value(key)
            self.skip_blanks()
            self.skip_comment()


def key_lines(text: str) -> dict[KeyPath, int]:
    """Every key path of a TOML document → the 1-based line where it first appears.

    Raises :class:`TooDeep` for a value nested deeper than :data:`MAX_DEPTH`.
    """
    scanner = _Scanner(text)
    with contextlib.suppress(_Stop, IndexError):
        scanner.document()
    return scanner.found


def find_line(lines: Mapping[KeyPath, int], key: str | Sequence[str | int]) -> int | None:
    """The line of ``key`` (dotted, or a pydantic ``loc``), else of its nearest parent.

    A missing key is reported at its section's header, where it belongs; a key
    of a section that is not in the file at all has no line (None).
    """
    path = tuple(key.split(".")) if isinstance(key, str) else tuple(str(part) for part in key)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def line_of(text: str, key: str | Sequence[str | int]) -> int | None:
    """One-off lookup: the line of ``key`` in ``text`` (see :func:`find_line`)."""
    return find_line(key_lines(text), key)
