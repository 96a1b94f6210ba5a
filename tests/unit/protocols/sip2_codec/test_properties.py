"""Hypothesis: round trips for every message type, and decoding fuzzed input."""

from __future__ import annotations

import contextlib
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.sip2 import REGISTRY, Message, SIP2Error, decode, encode
from protocols.sip2.layout import Repeated
from tests.unit.protocols.sip2_codec.fixtures import EVERY_MESSAGE

# Field text: anything but the separator and control characters (which encode
# refuses, see test_injection.py), Vietnamese included.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="|"),
    max_size=30,
)
VIETNAMESE = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậđèẻẽéẹ ", max_size=20)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    cls = draw(st.sampled_from(sorted(REGISTRY.values(), key=lambda c: c.COMMAND)))
    values: dict[str, Any] = {}
    for var in cls.VARIABLE:
        if draw(st.booleans()):
            text = draw(st.one_of(TEXT, VIETNAMESE))
            values[var.name] = [text, draw(TEXT)] if isinstance(var, Repeated) else text
    extra = draw(st.lists(st.tuples(st.sampled_from(["ZZ", "XA", "PB"]), TEXT), max_size=2))
    return cls.create(extra=extra, **values)


@settings(max_examples=300)
@given(messages(), st.integers(0, 9), st.sampled_from([b"\r", b"\n", b"\r\n"]))
def test_round_trip_every_message_type(message: Message, sequence: int, terminator: bytes) -> None:
    raw = encode(message, sequence=sequence, terminator=terminator)
    decoded = decode(raw)
    assert decoded == message
    assert decoded.sequence == (None if message.command in ("96", "97") else sequence)
    assert decoded.checksum_ok is True
    assert encode(decoded, sequence=sequence, terminator=terminator) == raw


@settings(max_examples=200)
@given(messages())
def test_round_trip_without_error_detection_and_in_cp1258(message: Message) -> None:
    try:
        raw = encode(message, "cp1258", error_detection=False)
    except SIP2Error:
        return  # text cp1258 cannot carry is refused, never mangled
    decoded = decode(raw, "cp1258")
    assert decoded.command == message.command and decoded.fixed == message.fixed
    # cp1258 carries tone marks as combining characters: equal up to composition
    assert [(f, unicodedata.normalize("NFC", v)) for f, v in decoded.fields] == [
        (f, unicodedata.normalize("NFC", v)) for f, v in message.fields
    ]


def _safe_decode(data: bytes | str, encoding: str = "utf-8") -> None:
    with contextlib.suppress(SIP2Error):
        decode(data, encoding)


@settings(max_examples=1500)
@given(st.binary(max_size=300), st.sampled_from(["utf-8", "cp850", "latin-1", "cp1258"]))
def test_random_bytes_raise_only_sip2_error(data: bytes, encoding: str) -> None:
    _safe_decode(data, encoding)


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_random_text_raises_only_sip2_error(text: str) -> None:
    _safe_decode(text)


@settings(max_examples=1500)
@given(
    st.sampled_from(sorted(EVERY_MESSAGE.values())),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
    st.integers(0, 400),
    st.binary(max_size=20),
)
def test_mutated_real_messages_raise_only_sip2_error(
    raw: bytes, flips: list[tuple[int, int]], cut: int, insert: bytes
) -> None:
    data = bytearray(raw)
    for position, value in flips:
        data[position % len(data)] = value
    mutated = bytes(data[:cut]) + insert + bytes(data[cut:])
    try:
        message = decode(mutated)
    except SIP2Error:
        return
    with contextlib.suppress(SIP2Error):
        encode(message)  # whatever decoded must encode, or refuse with SIP2Error
