"""Field injection: nothing handed to ``encode`` can add a field or a second message.

A patron id from an NFC card's text or a barcode goes into SIP2 as it is: a CR
or LF there would end the message (the ILS reads the rest as a new one) and a
'|' would start a new field. ``encode`` refuses such values, whatever the
caller; ``decode`` stays as tolerant as received traffic needs.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.sip2 import (
    REGISTRY,
    CheckinRequest,
    Message,
    PatronInformationRequest,
    SIP2Error,
    decode,
    encode,
)
from protocols.sip2.framing import Framer

CLASSES = sorted(REGISTRY.values(), key=lambda cls: cls.COMMAND)
# Every (message class, variable field) and (message class, fixed field) pair.
VARIABLES = [(cls, var) for cls in CLASSES for var in cls.VARIABLE]
FIXED = [(cls, spec) for cls in CLASSES for spec in cls.FIXED]

# C0 controls (CR and LF among them), DEL, C1 controls, and the field separator.
HOSTILE = [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)] + ["|"]
SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="|"),
    max_size=24,
)


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """Safe text with at least one forbidden character somewhere in it."""
    before, after = draw(SAFE_TEXT), draw(SAFE_TEXT)
    bad = draw(st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=3))
    return before + "".join(bad) + after


def _safe_values(draw: st.DrawFn, cls: type[Message]) -> dict[str, Any]:
    return {var.name: draw(SAFE_TEXT) for var in cls.VARIABLE if draw(st.booleans())}


def _one_message(data: bytes) -> bytes:
    frames = Framer().feed(data)
    assert len(frames) == 1, frames
    return frames[0]


@settings(max_examples=600)
@given(st.data())
def test_a_hostile_variable_field_is_refused_in_every_message_type(data: st.DataObject) -> None:
    cls, var = data.draw(st.sampled_from(VARIABLES), label="field")
    hostile = data.draw(hostile_text(), label="value")
    # The raw wire value: typed fields (Y/N, numbers) would otherwise be normalised.
    message = cls.create(**_safe_values(data.draw, cls)).with_fields(
        (var.field_id, hostile), drop=[var.field_id]
    )
    encoding = data.draw(st.sampled_from(["utf-8", "cp1258", "latin-1", "cp850"]))
    with pytest.raises(SIP2Error, match=f"field {var.field_id} carries"):
        encode(message, encoding, errors="replace")


@settings(max_examples=400)
@given(st.data())
def test_a_hostile_fixed_field_is_refused_in_every_message_type(data: st.DataObject) -> None:
    cls, spec = data.draw(st.sampled_from(FIXED), label="fixed field")
    bad = data.draw(st.sampled_from(HOSTILE), label="character")
    at = data.draw(st.integers(0, spec.length - 1), label="position")
    fixed = list(cls.create().fixed_values)
    value = fixed[spec.index]
    fixed[spec.index] = value[:at] + bad + value[at + 1 :]
    message = cls(cls.COMMAND, tuple(fixed), ())
    with pytest.raises(SIP2Error, match=f"fixed field {spec.name} carries"):
        encode(message)


@settings(max_examples=600)
@given(st.data())
def test_safe_values_make_exactly_one_message_with_the_same_fields(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(CLASSES), label="message type")
    message = cls.create(**_safe_values(data.draw, cls))
    terminator = data.draw(st.sampled_from([b"\r", b"\n", b"\r\n"]))
    error_detection = data.draw(st.booleans())
    raw = encode(message, error_detection=error_detection, terminator=terminator)
    frame = _one_message(raw)
    decoded = decode(frame)
    assert decoded.command == message.command
    assert decoded.fixed_values == message.fixed_values
    assert decoded.fields == message.fields  # no field added, none lost, none changed
    if error_detection and message.command not in ("96", "97"):
        assert decoded.checksum_ok is True


@settings(max_examples=300)
@given(st.sampled_from(CLASSES), st.text(max_size=4), SAFE_TEXT)
def test_an_extension_field_id_that_is_not_two_letters_or_digits_is_refused(
    cls: type[Message], field_id: str, value: str
) -> None:
    message = cls.create(extra=[(field_id, value)])
    if len(field_id) == 2 and field_id.isascii() and field_id.isalnum():
        assert len(Framer().feed(encode(message))) == 1
    else:
        with pytest.raises(SIP2Error, match="field id must be two letters or digits"):
            encode(message)


def test_the_reported_attacks_are_refused_with_exact_bytes_for_the_honest_one() -> None:
    def patron_information(patron_id: str) -> PatronInformationRequest:
        return PatronInformationRequest.create(
            language="001",
            transaction_date="20261202    101500",
            institution_id="MUONTRA",
            patron_id=patron_id,
            patron_password="0000",
        )

    assert encode(patron_information("P0001"), sequence=1) == (
        b"63001" + b"20261202    101500" + b"          " + b"AOMUONTRA|AAP0001|AD0000|AY1AZF228\r"
    )
    forged_checkin = encode(CheckinRequest.create(item_id="B0002", institution_id="MUONTRA"))
    for patron_id in (
        "P0001\rX",  # a second message after the CR
        "P0001\nX",
        "P0001|XZ0",  # an extra field
        "P0001\r" + forged_checkin.decode(),  # a whole 09 checkin
        "P0001\x00",
        "P0001\x1b[2J",
        "P0001\x85",  # NEL, a C1 control
    ):
        with pytest.raises(SIP2Error, match="field AA carries"):
            encode(patron_information(patron_id))


def test_wrong_layout_is_refused_as_it_would_shift_the_fields() -> None:
    good = CheckinRequest.create(item_id="B0002")
    longer = (good.fixed_values[0], good.fixed_values[1] + "AB", good.fixed_values[2])
    with pytest.raises(SIP2Error, match="must be 18 characters"):
        encode(CheckinRequest("09", longer, good.fields))
    with pytest.raises(SIP2Error, match="3 fixed fields expected, got 2"):
        encode(CheckinRequest("09", good.fixed_values[:2], good.fields))
    with pytest.raises(SIP2Error, match="command id"):
        encode(Message("0\r", (), ()))


def test_a_code_page_cannot_smuggle_a_separator_in_a_multibyte_character() -> None:
    # Shift-JIS trail bytes include 0x7C ('|'): such a character must not pass.
    smuggler = next(
        chr(c)
        for c in range(0x3000, 0xA000)
        if b"|" in chr(c).encode("shift_jis", "ignore") and chr(c) != "|"
    )
    message = PatronInformationRequest.create(patron_id="P" + smuggler)
    with pytest.raises(SIP2Error, match="separator or a control byte"):
        encode(message, "shift_jis")


def test_decoding_received_messages_stays_tolerant_of_control_characters() -> None:
    # An ILS that puts a tab or a bell in a screen message is still read, as today.
    raw = b"24" + b" " * 14 + b"001" + b"20261202    101500" + b"AOX|AAP1|AEA\tB|AFhi\x07|"
    message = decode(raw)
    assert message.get("AE") == "A\tB" and message.screen_messages == ("hi\x07",)


def test_values_that_are_not_text_are_refused_and_iso_dates_still_pass() -> None:
    good = CheckinRequest.create(item_id="B0002")
    with pytest.raises(SIP2Error, match="field AB is not text"):
        encode(good.with_fields(("AB", 5), drop=["AB"]))  # type: ignore[arg-type]
    with pytest.raises(SIP2Error, match="fixed field no_block is not text"):
        encode(CheckinRequest("09", (None, *good.fixed_values[1:]), good.fields))  # type: ignore[arg-type]
    iso = CheckinRequest.create(item_id="B0002", transaction_date="2026-12-02 10:15:00")
    assert decode(encode(iso)).fixed["transaction_date"] == "2026-12-02 10:15:00"
