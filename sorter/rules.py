"""A site's local sort rules: their syntax, their parser and their matching.

One rule a line, conditions joined by ``and`` (or ``&``), an arrow (``→`` or
``->``) and a bin::

    # Vietnamese-language children's books to the children's room
    AQ=TN → bin 3
    CK=011,006 and owner=VN-HN0001 -> dvd
    location="Kho sách" & CS=8* -> 2      # call numbers starting with 8

Fields are the checkin answer's SIP2 field ids (any two letters: AQ, CK, CR,
CL, CV, CT, CS, BG…) or names: ``location`` (AQ), ``media`` (CK), ``collection``
(CR), ``call_number`` (CS), ``sort_bin`` (CL), ``alert_type`` (CV),
``destination`` (CT), ``institution`` (AO), and the tag's own ``owner`` (owner
library), ``item_type`` (RFID501 item type) and ``usage`` (type of usage).
``=`` matches one of the comma-separated values, ``!=`` none of them; a value
ending in ``*`` matches by prefix; ``""`` is the empty value, which an absent
field also has. The first rule whose conditions all hold wins.

The parser reports every mistake at once, each with its line and column, so
``muontra config check`` can show them the way a compiler does. Rules come from
a configuration file that staff edit by hand: anything the grammar does not
allow is an error, never a guess.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from protocols.sip2 import Message
from protocols.tags.isil import isil_key
from protocols.tags.model import TagData

MAX_LINE = 1000
"""Characters in one rule line at the most: a longer line is a pasted file, not a rule."""
MAX_RULES = 1000
"""Rules at the most: more than a sorter could ever mean, and bounded work per item."""

MAX_PROBLEMS = 50
"""Mistakes reported at the most: past that the text is likely not rules at all."""

ARROWS = ("->", "→")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_ANSWER_ID = re.compile(r"[A-Z]{2}")
# Characters refused anywhere in a rule: controls, and invisible ones that would make a
# rule read differently from what it does (bidi overrides, zero-width joiners).
_REFUSED = {
    "Cc": "control",
    "Cf": "invisible",
    "Zl": "invisible",
    "Zp": "invisible",
    "Cs": "invalid",
}
# Characters that end a bare value: space, list comma, quote, prefix star, comment, join.
_BARE_STOP = frozenset(' \t,"*#&')


class Source(StrEnum):
    """Where a rule's field is read: the ILS's checkin answer or the item's tag."""

    ANSWER = "answer"
    TAG = "tag"


@dataclass(frozen=True, slots=True)
class FieldRef:
    source: Source
    key: str
    """A SIP2 field id for the answer; ``owner``, ``item_type`` or ``usage`` for the tag."""


NAMED_FIELDS: dict[str, FieldRef] = {
    "location": FieldRef(Source.ANSWER, "AQ"),
    "permanent_location": FieldRef(Source.ANSWER, "AQ"),
    "media": FieldRef(Source.ANSWER, "CK"),
    "media_type": FieldRef(Source.ANSWER, "CK"),
    "collection": FieldRef(Source.ANSWER, "CR"),
    "call_number": FieldRef(Source.ANSWER, "CS"),
    "sort_bin": FieldRef(Source.ANSWER, "CL"),
    "alert_type": FieldRef(Source.ANSWER, "CV"),
    "destination": FieldRef(Source.ANSWER, "CT"),
    "institution": FieldRef(Source.ANSWER, "AO"),
    "owner": FieldRef(Source.TAG, "owner"),
    "owner_library": FieldRef(Source.TAG, "owner"),
    "item_type": FieldRef(Source.TAG, "item_type"),
    "usage": FieldRef(Source.TAG, "usage"),
}


_OWNER = NAMED_FIELDS["owner"]


class Op(StrEnum):
    EQ = "="
    NE = "!="


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    """NFC-normalised, so a value typed precomposed matches an ILS's decomposed text."""
    prefix: bool = False

    def matches(self, value: str) -> bool:
        return value.startswith(self.text) if self.prefix else value == self.text


@dataclass(frozen=True, slots=True)
class Condition:
    field: FieldRef
    op: Op
    patterns: tuple[Pattern, ...]
    # The patterns sorted for speed: every item may run through hundreds of conditions
    # before its diverter (a set lookup and one startswith instead of a loop).
    # (dataclasses.field: `field` is the attribute above.)
    _exact: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _prefixes: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_exact", frozenset(p.text for p in self.patterns if not p.prefix))
        object.__setattr__(self, "_prefixes", tuple(p.text for p in self.patterns if p.prefix))

    def holds(self, facts: ItemFacts) -> bool:
        # An absent field reads as empty: `CT=""` holds, `CT=HN*` does not.
        value = facts.value(self.field)
        if value is None:
            hit = "" in self._exact
        else:
            hit = value in self._exact or bool(self._prefixes and value.startswith(self._prefixes))
        return hit if self.op is Op.EQ else not hit


@dataclass(frozen=True, slots=True)
class Rule:
    conditions: tuple[Condition, ...]
    bin: str
    line: int
    """1-based line of the rule in the text it was parsed from."""
    text: str
    """The rule as written (without its comment), for the staff screen and the journal."""

    def matches(self, facts: ItemFacts) -> bool:
        return all(condition.holds(facts) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()

    def first_match(self, facts: ItemFacts) -> Rule | None:
        """The first rule whose conditions all hold, or None."""
        for rule in self.rules:
            if rule.matches(facts):
                return rule
        return None


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the rules can read about one item: the checkin answer's fields and the tag's."""

    answer: Mapping[str, str]
    """The first value of each variable field of the checkin answer (empty offline)."""
    tag: Mapping[str, str]
    """``owner`` (as an ISIL key: upper case, no hyphen), ``item_type``, ``usage`` from the
    tag, where it has them."""

    def __post_init__(self) -> None:
        # Normalised once here rather than at each of possibly hundreds of conditions.
        for name in ("answer", "tag"):
            values: Mapping[str, str] = getattr(self, name)
            normal = {key: unicodedata.normalize("NFC", text) for key, text in values.items()}
            object.__setattr__(self, name, normal)

    def value(self, ref: FieldRef) -> str | None:
        source = self.answer if ref.source is Source.ANSWER else self.tag
        return source.get(ref.key)

    @classmethod
    def of(cls, answer: Message | None, tag: TagData | None) -> ItemFacts:
        fields: dict[str, str] = {}
        if answer is not None:
            for field_id, value in answer.fields:
                fields.setdefault(field_id, value)
        tag_values: dict[str, str] = {}
        if tag is not None:
            if tag.owner_library:
                tag_values["owner"] = isil_key(tag.owner_library)
            tag_values["usage"] = str(tag.type_of_usage)
            item_type = tag.fields.get("item_type")
            if isinstance(item_type, (int, str)):
                tag_values["item_type"] = str(item_type)
        return cls(fields, tag_values)


# -- errors ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One mistake in the rules, located like a compiler error."""

    line: int
    column: int
    """1-based, in characters (not bytes) of the line."""
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class RuleError(ValueError):
    """Rules that cannot be used; ``problems`` lists every mistake, in order."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


class _LineError(Exception):
    def __init__(self, column: int, message: str) -> None:
        self.column = column
        self.message = message


# -- the parser -----------------------------------------------------------------------


def parse_rules(text: str, known_bins: Collection[str] | None = None) -> RuleSet:
    """The rules of ``text``, or :class:`RuleError` naming every mistake.

    ``known_bins``, when given, are the configured bin ids: a rule sending items
    to any other bin is a mistake found here rather than at the first such item.
    """
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    # Split on LF only (CRLF tolerated): str.splitlines() also splits on form feeds and
    # U+2028, which would make the line numbers disagree with the editor's.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        try:
            rule = _parse_line(line, number, known_bins)
        except _LineError as exc:
            problems.append(RuleProblem(number, exc.column, exc.message))
            if len(problems) == MAX_PROBLEMS:
                break
            continue
        if rule is not None:
            rules.append(rule)
            if len(rules) > MAX_RULES:
                problems.append(RuleProblem(number, 1, f"more than {MAX_RULES} rules"))
                break
    if problems:
        raise RuleError(problems)
    return RuleSet(tuple(rules))


def _describe(char: str) -> str:
    if char.isprintable() and not char.isspace():
        return repr(char)
    return f"U+{ord(char):04X}"


class _Line:
    """A cursor over one line; every error carries the 1-based column where it is."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, at: int | None = None) -> _LineError:
        return _LineError((self.pos if at is None else at) + 1, message)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def at_end(self) -> bool:
        """True at the end of the line or at a comment."""
        return self.pos >= len(self.text) or self.text[self.pos] == "#"

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def arrow(self) -> bool:
        for arrow in ARROWS:
            if self.text.startswith(arrow, self.pos):
                self.pos += len(arrow)
                return True
        return False

    def join(self) -> bool:
        if self.peek() == "&":
            self.pos += 1
            return True
        match = _NAME.match(self.text, self.pos)
        if match and match.group().lower() == "and":
            self.pos = match.end()
            return True
        return False

    def found(self) -> str:
        return "the end of the line" if self.at_end() else _describe(self.peek())


def _parse_line(text: str, number: int, known_bins: Collection[str] | None) -> Rule | None:
    if len(text) > MAX_LINE:
        raise _LineError(MAX_LINE + 1, f"line longer than {MAX_LINE} characters")
    for index, char in enumerate(text):
        kind = _REFUSED.get(unicodedata.category(char))
        if kind is not None and char != "\t":
            raise _LineError(index + 1, f"{kind} character {_describe(char)}")
    line = _Line(text)
    line.skip_space()
    if line.at_end():
        return None
    start = line.pos
    conditions: list[Condition] = []
    while True:
        line.skip_space()
        if line.at_end() or line.text.startswith(ARROWS, line.pos):
            what = "a condition after 'and'" if conditions else "a condition such as AQ=TN"
            raise line.fail(f"expected {what}, found {line.found()}")
        conditions.append(_condition(line))
        line.skip_space()
        if line.arrow():
            break
        if not line.join():
            raise line.fail(f"expected 'and', '->' or '→', found {line.found()}")
    bin_id = _target(line, known_bins)
    end = text.find("#", line.pos)
    written = text[start : end if end >= 0 else len(text)].strip()
    return Rule(tuple(conditions), bin_id, number, written)


def _condition(line: _Line) -> Condition:
    name_at = line.pos
    match = _NAME.match(line.text, line.pos)
    if match is None:
        raise line.fail(f"expected a field name such as AQ or location, found {line.found()}")
    line.pos = match.end()
    ref = _field(match.group(), name_at)
    line.skip_space()
    if line.text.startswith("!=", line.pos):
        op, line.pos = Op.NE, line.pos + 2
    elif line.peek() == "=":
        op, line.pos = Op.EQ, line.pos + 1
    else:
        raise line.fail(f"expected '=' or '!=' after {match.group()}, found {line.found()}")
    patterns = [_value(line)]
    while True:
        line.skip_space()
        if line.peek() != ",":
            break
        line.pos += 1
        patterns.append(_value(line))
    if ref == _OWNER:
        # ISILs are one library with or without hyphen, in any case (see protocols.tags.isil).
        patterns = [Pattern(isil_key(p.text), p.prefix) for p in patterns]
    return Condition(ref, op, tuple(patterns))


def _field(name: str, at: int) -> FieldRef:
    known = NAMED_FIELDS.get(name.lower())
    if known is not None:
        return known
    if _ANSWER_ID.fullmatch(name.upper()):
        return FieldRef(Source.ANSWER, name.upper())
    names = ", ".join(sorted(NAMED_FIELDS))
    raise _LineError(at + 1, f"unknown field {name!r}; use a SIP2 field id (AQ, CK…) or {names}")


def _value(line: _Line) -> Pattern:
    line.skip_space()
    at = line.pos
    if line.peek() == '"':
        text = _quoted(line)
    else:
        while (
            line.pos < len(line.text)
            and line.text[line.pos] not in _BARE_STOP
            and not line.text.startswith(ARROWS, line.pos)
        ):
            line.pos += 1
        text = line.text[at : line.pos]
        if not text and line.peek() != "*":
            raise line.fail(f'expected a value (write "" for an empty one), found {line.found()}')
    prefix = line.peek() == "*"
    if prefix:
        line.pos += 1
    following = line.peek()
    if following and following not in " \t,#&" and not line.text.startswith(ARROWS, line.pos):
        raise line.fail(f'unexpected {_describe(following)} in a value (quote it: "…")')
    return Pattern(unicodedata.normalize("NFC", text), prefix)


def _quoted(line: _Line) -> str:
    opening = line.pos
    line.pos += 1
    chars: list[str] = []
    while line.pos < len(line.text):
        char = line.text[line.pos]
        if char == '"':
            line.pos += 1
            return "".join(chars)
        if char == "\\":
            escaped = line.text[line.pos + 1 : line.pos + 2]
            if escaped not in ('"', "\\"):
                raise line.fail('only \\" and \\\\ may follow a backslash')
            chars.append(escaped)
            line.pos += 2
            continue
        chars.append(char)
        line.pos += 1
    raise line.fail("a quoted value that is never closed", at=opening)


def _target(line: _Line, known_bins: Collection[str] | None) -> str:
    line.skip_space()
    match = _BIN.match(line.text, line.pos)
    if match and match.group().lower() == "bin":
        # "bin 3": the word is decoration; a bin may still be called "bin" ("-> bin").
        rest = match.end()
        while rest < len(line.text) and line.text[rest] in " \t":
            rest += 1
        after = _BIN.match(line.text, rest)
        if rest > match.end() and after is not None:
            match = after
    if match is None:
        raise line.fail(f"expected a bin after the arrow, found {line.found()}")
    bin_at, line.pos = match.start(), match.end()
    line.skip_space()
    if not line.at_end():
        raise line.fail(f"unexpected {line.found()} after the bin")
    bin_id = match.group()
    if known_bins is not None and bin_id not in known_bins:
        bins = ", ".join(sorted(known_bins)) or "none"
        raise line.fail(f"no bin {bin_id!r}; the bins are {bins}", at=bin_at)
    return bin_id
