"""Identifiers at the engine's edge: the fixed refusals no setting can widen, the site's pattern,
the PIN, the lockout key, and the two config keys."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import ConfigError, parse_config
from engine.config.model import DEFAULT_ID_PATTERN
from engine.identifiers import (
    MAX_LENGTH,
    IdentifierRules,
    InvalidIdentifier,
    check_pin,
    lock_key,
)
from engine.patron_ref import PatronRefs
from kiosk.patrons import PatronSession, PinLockout, pin_lock_refs

FORBIDDEN = [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)] + ["|"]
DEFAULT = IdentifierRules.from_patterns()
# A site that allows anything at all still cannot let a separator through.
ANYTHING = IdentifierRules.from_patterns("(?s).*", "(?s).*")


@settings(max_examples=400)
@given(
    st.text(max_size=20),
    st.sampled_from(FORBIDDEN),
    st.text(min_size=1, max_size=20).filter(lambda t: t.strip() == t and t.strip()),
)
def test_a_separator_or_control_character_inside_is_refused_whatever_the_pattern(
    before: str, bad: str, after: str
) -> None:
    value = "P" + before + bad + after  # inside: not removed as surrounding space
    for rules in (DEFAULT, ANYTHING):
        with pytest.raises(InvalidIdentifier):
            rules.patron_id(value)
        with pytest.raises(InvalidIdentifier):
            rules.item_id(value)


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1))
def test_the_default_takes_printable_ascii_up_to_64_characters(value: str) -> None:
    if "|" in value or len(value) > 64:
        with pytest.raises(InvalidIdentifier):
            DEFAULT.patron_id(value)
    else:
        assert DEFAULT.patron_id(value) == value
        assert DEFAULT.item_id(value) == value


def test_surrounding_space_is_dropped_and_the_message_never_repeats_the_value() -> None:
    assert DEFAULT.patron_id("  P0001\r\n") == "P0001"  # a scanner's CR LF suffix
    assert DEFAULT.patron_id("\tP0001 ") == "P0001"
    for value in ("", "   ", "P 0001", "Hương", "P0001\rX", "x" * 65, 5, None):
        with pytest.raises(InvalidIdentifier) as refused:
            DEFAULT.patron_id(value)
        assert "0001" not in str(refused.value) and "Hương" not in str(refused.value)
    with pytest.raises(InvalidIdentifier, match="longer than"):
        ANYTHING.patron_id("x" * (MAX_LENGTH + 1))


def test_a_site_pattern_is_matched_in_full() -> None:
    rules = IdentifierRules.from_patterns(r"P\d{4}", r"\d{14}")
    assert rules.patron_id("P0001") == "P0001"
    for value in ("P00011", "XP0001", "P001"):
        with pytest.raises(InvalidIdentifier, match="site's pattern"):
            rules.patron_id(value)
    assert rules.item_id("31234000012345") == "31234000012345"
    with pytest.raises(InvalidIdentifier):
        rules.item_id("B0001")


def test_a_pin_goes_into_sip2_too() -> None:
    assert check_pin("1234") == "1234"
    for pin in ("", "12|34", "12\r34", "1234\n", "\x00", "9" * 33, 1234):
        with pytest.raises(InvalidIdentifier):
            check_pin(pin)


REFS = PatronRefs(b"k" * 32)
"""A site key as a test gives it (the refs are keyed like every other reference)."""


def test_the_lockout_key_folds_spellings_of_one_patron() -> None:
    assert lock_key("P0001") == lock_key("p0001") == lock_key(" Ｐ０００１ ")
    assert lock_key("P0001") != lock_key("P0002")
    assert pin_lock_refs(REFS, "P0001", "p0001") == pin_lock_refs(REFS, "P0001")
    assert len(pin_lock_refs(REFS, "P0001", "CARD0001")) == 2
    assert all("0001" not in ref for ref in pin_lock_refs(REFS, "P0001", "CARD0001"))


class FakeLocks:
    """The journal's PIN-lock table, in memory."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.until: dict[str, datetime] = {}

    def locked_until(self, patron_ref: str) -> datetime | None:
        return self.until.get(patron_ref)

    def failed_pin(self, patron_ref: str, limit: int, lock_for: timedelta) -> int:
        self.failures[patron_ref] = self.failures.get(patron_ref, 0) + 1
        left = max(0, limit - self.failures[patron_ref])
        if left == 0:
            self.until[patron_ref] = datetime(2030, 1, 1)
        return left

    def good_pin(self, patron_ref: str) -> None:
        self.failures.pop(patron_ref, None)


def session(patron_id: str, answered: str | None = None) -> PatronSession:
    return PatronSession(
        "s", patron_id, "vi", "nfc", datetime(2026, 1, 1), REFS, ils_patron_id=answered
    )


def test_wrong_pins_under_two_identifiers_of_one_patron_add_up() -> None:
    lockout = PinLockout(FakeLocks(), 3, timedelta(minutes=15))
    assert lockout.failed(session("P0001", "P0001").lock_refs) == 2
    assert lockout.failed(session("CARD0001", "P0001").lock_refs) == 1
    assert not lockout.locked(pin_lock_refs(REFS, "P0001"))
    assert lockout.failed(session("p0001").lock_refs) == 0
    assert lockout.locked(pin_lock_refs(REFS, "P0001"))
    assert lockout.locked(session("CARD0001", "P0001").lock_refs)
    assert not lockout.locked(pin_lock_refs(REFS, "P0002"))


def test_config_keys_default_and_refuse_a_broken_pattern() -> None:
    base = (
        '[device]\nid = "kiosk-01"\nsite = "VN-HN0001"\n\n'
        '[ils]\nurl = "sip2+sim://?institution=MUONTRA"\n\n[devices]\npad = "sim://pad"\n'
    )
    config = parse_config(base)
    assert config.patron.id_pattern == config.tags.item_id_pattern == DEFAULT_ID_PATTERN
    custom = parse_config(base + '\n[patron]\nid_pattern = "P\\\\d{4}"\n')
    assert custom.patron.id_pattern == r"P\d{4}"
    with pytest.raises(ConfigError) as broken:
        parse_config(base + '\n[patron]\nid_pattern = "P[0-9"\n\n[tags]\nitem_id_pattern = ""\n')
    found = {(p.key, p.line) for p in broken.value.problems}
    assert found == {("patron.id_pattern", 12), ("tags.item_id_pattern", 15)}
    assert "not a regular expression" in str(broken.value)
