"""The local-rule syntax: what it accepts, where it points at mistakes, and fuzzing."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sort_fixtures import EVERGREEN_CHILDREN, KOHA_CL, answer, tag

from sorter.rules import (
    MAX_LINE,
    MAX_PROBLEMS,
    MAX_RULES,
    NAMED_FIELDS,
    Condition,
    FieldRef,
    ItemFacts,
    Op,
    Pattern,
    Rule,
    RuleError,
    RuleSet,
    Source,
    parse_rules,
)

AQ = FieldRef(Source.ANSWER, "AQ")


def one(text: str) -> Rule:
    rules = parse_rules(text).rules
    assert len(rules) == 1
    return rules[0]


def facts(**answer_fields: str) -> ItemFacts:
    return ItemFacts(answer_fields, {})


def test_the_issue_example_with_either_arrow() -> None:
    for text in ("AQ=TN → bin 3", "AQ=TN -> bin 3", "aq = TN->3", "  AQ=TN→3  # children"):
        rule = one(text)
        assert rule.conditions == (Condition(AQ, Op.EQ, (Pattern("TN"),)),)
        assert rule.bin == "3"
    assert one("  AQ=TN→3  # children").text == "AQ=TN→3"


def test_several_conditions_lists_prefixes_and_negation() -> None:
    rule = one('CK=011,006 and owner!=VN-HN0001 & CS=8*,"Thiếu nhi"* -> dvd')
    assert rule.conditions == (
        Condition(FieldRef(Source.ANSWER, "CK"), Op.EQ, (Pattern("011"), Pattern("006"))),
        Condition(FieldRef(Source.TAG, "owner"), Op.NE, (Pattern("VNHN0001"),)),  # ISIL key
        Condition(
            FieldRef(Source.ANSWER, "CS"),
            Op.EQ,
            (Pattern("8", prefix=True), Pattern("Thiếu nhi", prefix=True)),
        ),
    )
    assert rule.bin == "dvd"


def test_names_and_field_ids() -> None:
    for name, ref in NAMED_FIELDS.items():
        assert one(f"{name}=x -> 1").conditions[0].field == ref
    assert one("zy=1 -> 1").conditions[0].field == FieldRef(Source.ANSWER, "ZY")


def test_quoted_values_with_escapes_and_a_bin_called_bin() -> None:
    rule = one(r'AJ="say \"hi\" \\ # not a comment" -> bin')
    assert rule.conditions[0].patterns == (Pattern('say "hi" \\ # not a comment'),)
    assert rule.bin == "bin"


def test_blank_lines_comments_crlf_and_line_numbers() -> None:
    rules = parse_rules("# header\r\n\r\nAQ=TN -> 2\r\n   \t\nCK=001 -> 3 # books\n").rules
    assert [(r.line, r.bin) for r in rules] == [(3, "2"), (5, "3")]
    assert parse_rules("").rules == ()


def test_first_match_wins_and_an_absent_field_is_empty() -> None:
    rules = parse_rules('CT="" -> none\nAQ=TN -> 2\nAQ=* -> 3')
    assert rules.first_match(facts(AQ="TN")) == rules.rules[0]
    assert rules.first_match(facts(AQ="TN", CT="BR2")) == rules.rules[1]
    assert rules.first_match(facts(AQ="X", CT="BR2")) == rules.rules[2]
    assert rules.first_match(facts(CT="BR2")) is None  # AQ=* needs an AQ
    negated = one("CT!=BR2 -> 1")
    assert negated.matches(facts()) and not negated.matches(facts(CT="BR2"))


def test_facts_from_a_decoded_answer_and_a_tag() -> None:
    known = ItemFacts.of(answer(KOHA_CL), tag("39999000001234", owner="VN-HN0001"))
    assert known.answer["CL"] == "A" and known.answer["CK"] == "001"
    assert known.tag == {"owner": "VNHN0001", "usage": "1"}  # ISIL key form
    assert one("owner=vn-hn0001 -> 1").matches(known)
    assert one("owner=VNHN* -> 1").matches(known)
    evergreen = ItemFacts.of(answer(EVERGREEN_CHILDREN), None)
    assert one('AJ="Tiếng Việt" -> 1').matches(evergreen)  # NFD answer, NFC rule
    assert ItemFacts.of(None, None).answer == {}


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("AQ TN -> 3", 1, 4, "expected '=' or '!=' after AQ, found 'T'"),
        ("AQ=TN", 1, 6, "expected 'and', '->' or '→', found the end of the line"),
        ("AQ=TN 3", 1, 7, "expected 'and', '->' or '→', found '3'"),
        ("-> 3", 1, 1, "expected a condition such as AQ=TN, found '-'"),
        ("AQ=TN and -> 3", 1, 11, "expected a condition after 'and', found '-'"),
        ("AQ= -> 3", 1, 5, "expected a value (write \"\" for an empty one), found '-'"),
        ("AQ=TN ->", 1, 9, "expected a bin after the arrow, found the end of the line"),
        ("AQ=TN -> 3 4", 1, 12, "unexpected '4' after the bin"),
        ('\nAQ="TN -> 3', 2, 4, "a quoted value that is never closed"),
        ('AQ="a\\n" -> 3', 1, 6, 'only \\" and \\\\ may follow a backslash'),
        ("AQ=T*N -> 3", 1, 6, "unexpected 'N' in a value (quote it: \"…\")"),
        ("AQ=TN -> 3\x07", 1, 11, "control character U+0007"),
        ("AQ=\u202eNT -> 3", 1, 4, "invisible character U+202E"),
        ("1Q=TN -> 3", 1, 1, "expected a field name such as AQ or location, found '1'"),
    ],
)
def test_mistakes_are_located(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules(text)
    [problem] = caught.value.problems
    assert (problem.line, problem.column, problem.message) == (line, column, message)
    assert str(problem) == f"line {line}, column {column}: {message}"


def test_every_mistake_is_reported_at_once_with_unknown_fields_and_bins() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules("shelf=3 -> 1\nAQ=TN -> 2\nAQ=TK -> 9", known_bins={"1", "2"})
    first, second = caught.value.problems
    assert (first.line, first.column) == (1, 1)
    assert first.message.startswith("unknown field 'shelf'; use a SIP2 field id")
    assert (second.line, second.column, second.message) == (3, 10, "no bin '9'; the bins are 1, 2")


def test_size_limits() -> None:
    with pytest.raises(RuleError, match=f"longer than {MAX_LINE}"):
        parse_rules("AQ=" + "x" * MAX_LINE + " -> 1")
    with pytest.raises(RuleError, match=f"more than {MAX_RULES} rules"):
        parse_rules("AQ=x -> 1\n" * (MAX_RULES + 1))
    assert len(parse_rules("AQ=x -> 1\n" * MAX_RULES).rules) == MAX_RULES
    with pytest.raises(RuleError) as caught:
        parse_rules("nonsense\n" * 100_000)
    assert len(caught.value.problems) == MAX_PROBLEMS
    assert caught.value.problems[-1].line == MAX_PROBLEMS


# -- properties --------------------------------------------------------------------------

# Not owner: its values are compared as ISIL keys (test_facts_from_a_decoded_answer_and_a_tag).
_FIELDS = st.sampled_from(["AQ", "CK", "CR", "CT", "CV", "location", "usage", "item_type"])
_VALUE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Co", "Cn")), max_size=10
).map(lambda text: unicodedata.normalize("NFC", text))
_PATTERNS = st.builds(Pattern, _VALUE_TEXT, st.booleans())
_BINS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,8}", fullmatch=True)


def _quote(pattern: Pattern) -> str:
    escaped = pattern.text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"' + ("*" if pattern.prefix else "")


@st.composite
def rules(draw: st.DrawFn) -> list[tuple[list[tuple[str, Op, list[Pattern]]], str]]:
    return draw(
        st.lists(
            st.tuples(
                st.lists(
                    st.tuples(
                        _FIELDS,
                        st.sampled_from(list(Op)),
                        st.lists(_PATTERNS, min_size=1, max_size=3),
                    ),
                    min_size=1,
                    max_size=3,
                ),
                _BINS,
            ),
            max_size=5,
        )
    )


@hsettings(max_examples=150)
@given(rules(), st.sampled_from([" -> ", "→", " → bin "]), st.sampled_from([" and ", "&", " AND "]))
def test_written_rules_parse_back_to_what_was_written(
    written: list[tuple[list[tuple[str, Op, list[Pattern]]], str]], arrow: str, join: str
) -> None:
    lines = [
        join.join(
            f"{name}{op.value}{','.join(map(_quote, values))}" for name, op, values in conditions
        )
        + arrow
        + bin_id
        for conditions, bin_id in written
    ]
    parsed = parse_rules("\n".join(lines))
    assert [rule.bin for rule in parsed.rules] == [bin_id for _, bin_id in written]
    for rule, (conditions, _) in zip(parsed.rules, written, strict=True):
        assert [(c.op, list(c.patterns)) for c in rule.conditions] == [
            (op, values) for _, op, values in conditions
        ]


@hsettings(
    max_examples=200,
)
@given(_VALUE_TEXT, _VALUE_TEXT)
def test_equal_and_not_equal_are_opposites(value: str, other: str) -> None:
    equal = one(f"AQ={_quote(Pattern(value))} -> 1")
    unequal = one(f"AQ!={_quote(Pattern(value))} -> 1")
    for candidate in (value, other):
        assert equal.matches(facts(AQ=candidate)) == (candidate == value)
        assert unequal.matches(facts(AQ=candidate)) != equal.matches(facts(AQ=candidate))


_HOSTILE = st.one_of(
    st.text(max_size=200),
    st.text(st.sampled_from(list('AQCK=!,"*#&-> →\\\tbin3\r\n\x00é')), max_size=80),
)


@hsettings(
    max_examples=1000,
)
@given(_HOSTILE)
def test_hostile_text_parses_or_raises_a_located_rule_error(text: str) -> None:
    lines = text.split("\n")
    try:
        parsed = parse_rules(text, known_bins={"3", "bin3"})
    except RuleError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert 1 <= problem.line <= len(lines)
            length = len(lines[problem.line - 1].removesuffix("\r"))
            assert 1 <= problem.column <= min(length, MAX_LINE) + 1
    else:
        assert isinstance(parsed, RuleSet)
        for rule in parsed.rules:
            assert rule.bin in {"3", "bin3"} and rule.conditions
            rule.matches(facts(AQ="x"))


def test_the_documented_examples_parse() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "sorter.md").read_text("utf-8")
    block = docs.split("and a bin, written `bin 3` or just `3`. `#` starts a comment. Examples:")[1]
    examples = block.split("```\n")[1]
    parsed = parse_rules(examples, known_bins={"3", "2", "media", "children", "transit"})
    assert len(parsed.rules) == 6


@hsettings(max_examples=300)
@given(
    st.lists(_PATTERNS, min_size=1, max_size=4),
    st.one_of(st.none(), _VALUE_TEXT, st.sampled_from(["", "a", "ab", "abc"])),
    st.sampled_from(list(Op)),
)
def test_a_condition_holds_exactly_when_one_of_its_patterns_matches(
    patterns: list[Pattern], value: str | None, op: Op
) -> None:
    condition = Condition(AQ, op, tuple(patterns))
    facts_ = facts() if value is None else facts(AQ=value)
    text = "" if value is None else value
    hit = any(p.matches(text) and (value is not None or not p.prefix) for p in patterns)
    assert condition.holds(facts_) == (hit if op is Op.EQ else not hit)
