"""Hostile tag memory: every decoder answers with its declared error, never anything else.

A tag is something anybody can write with a phone. What a decoder raises beyond
:class:`TagDataError` escapes the gate's and the pad's handling of a bad tag (issue 12,
item 3: plain ValueError from a type-of-usage element silenced a gate), so each
decoder is fuzzed on its own and through ``decode``: random bytes of every length
0-256, the same reversed block by block, valid encodings mutated, and memories built
to be as hostile as possible for each model (lengths beyond the memory, zero
lengths, huge sets, a part above its set's size) with valid CRCs so they get past
detection. What does decode is checked too: a set a kiosk can complete, an item id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.crc import CRC16_IBM_3740
from protocols.tags import (
    PRESETS,
    SecurityPolicy,
    TagData,
    TagDataError,
    compaction,
    decode,
    encode,
    isil_key,
    iso28560_2,
    iso28560_3,
    rfid501,
)
from protocols.tags.model import MAX_PARTS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sane(tag: TagData) -> None:
    """What the kiosk and the gate rely on in whatever a decoder returns."""
    assert tag.item_id and tag.item_id.isprintable()
    assert 1 <= tag.set_index <= tag.set_size <= MAX_PARTS
    assert 0 <= tag.type_of_usage <= 15
    assert isinstance(tag.owner_library, str)


def only_tag_data_error(decoder: Callable[[bytes], TagData | None], data: bytes) -> None:
    try:
        tag = decoder(data)
    except TagDataError:
        return
    if tag is not None:
        sane(tag)


DECODERS: dict[str, Callable[[bytes], TagData | None]] = {
    "decode": decode,
    "iso28560_3": iso28560_3.decode,
    "iso28560_2": iso28560_2.parse,
    "rfid501": rfid501.decode,
}


def with_crc(basic: bytearray) -> bytes:
    """A basic block whose CRC matches, so the bytes reach the ISO 28560-3 decoder."""
    crc = CRC16_IBM_3740(bytes(basic[:19] + basic[21:34].ljust(13, b"\0")))
    basic[19], basic[20] = crc & 0xFF, crc >> 8
    return bytes(basic)


@st.composite
def hostile_28560_3(draw: st.DrawFn) -> bytes:
    basic = bytearray(draw(st.binary(min_size=34, max_size=34)))
    basic[0] = draw(st.sampled_from([0x10, 0x11, 0x21, 0x27, 0x18])) | draw(st.integers(0, 15))
    basic[1] = draw(st.sampled_from([0, 1, 2, 3, 200, 255]))  # parts in item
    basic[2] = draw(st.sampled_from([0, 1, 2, 4, 254, 255]))  # part number, also > parts
    extensions = draw(st.binary(max_size=40))  # length bytes beyond the memory, zero, …
    memory = with_crc(basic) + extensions
    if draw(st.booleans()):
        memory = memory[: draw(st.integers(0, len(memory)))]
    return iso28560_3.reverse_blocks(memory) if draw(st.booleans()) else memory


@st.composite
def element(draw: st.DrawFn) -> bytes:
    oid = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 11, 15, 17, 0]))
    scheme = draw(st.integers(0, 7))
    offset = draw(st.booleans())
    head = bytes([offset << 7 | scheme << 4 | min(oid, 15)])
    if oid >= 15:
        head += bytes([draw(st.integers(0, 255))])
    if offset:
        head += bytes([draw(st.sampled_from([0, 1, 3, 255]))])
    if oid == 4 and draw(st.booleans()):  # set information: huge sets, part above the size
        text = draw(st.sampled_from(["0", "1", "12", "0503", "1203", "999999", "99" * 40]))
        raw = text.encode() if scheme == compaction.OCTETS else bytes([len(text)]) + text.encode()
        return head + bytes([len(raw) & 0xFF]) + raw
    if oid == 5 and draw(st.booleans()):  # type of usage: one or two bytes of any value
        data = draw(st.binary(min_size=1, max_size=2))
    else:
        data = draw(st.binary(max_size=20))
    length = draw(st.sampled_from([len(data), 0, len(data) + 1, 255]))  # also past the end
    return head + bytes([length]) + data


@st.composite
def hostile_28560_2(draw: st.DrawFn) -> bytes:
    dsfid = draw(st.sampled_from([b"", b"\x06", b"\x3e"]))
    first = bytes([draw(st.integers(0, 15)) << 4 | 1, draw(st.integers(0, 20))])
    body = b"".join(draw(st.lists(element(), max_size=6)))
    return dsfid + first + draw(st.binary(max_size=8)) + body + draw(st.sampled_from([b"", b"\0"]))


@st.composite
def hostile_rfid501(draw: st.DrawFn) -> bytes:
    memory = bytearray(draw(st.binary(min_size=32, max_size=32)))
    memory[0], memory[2] = 0x04, 0x00
    memory[1] = draw(st.integers(0, 255))  # part / parts nibbles, part above parts too
    barcode = draw(st.from_regex(rb"[!-~]{1,16}", fullmatch=True))
    memory[4:20] = barcode.ljust(16, b"\0")
    return bytes(memory)


TAGS = st.builds(
    TagData,
    model=st.sampled_from(["iso28560-3", "danish", "iso28560-2", "3m-rfid501"]),
    item_id=st.from_regex(r"[0-9A-Z]{1,16}", fullmatch=True),
    owner_library=st.sampled_from(["", "VN-HN0001", "DK718500"]),
    set_size=st.just(3),
    set_index=st.integers(1, 3),
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    tag = draw(TAGS)
    memory = bytearray(encode(tag))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(memory) - 1))
        memory[where] = draw(st.sampled_from([0x00, 0xFF, 0x7F, memory[where] ^ 0x01, 0x55]))
    memory = memory[: draw(st.integers(0, len(memory)))] if draw(st.booleans()) else memory
    return bytes(memory)


HOSTILE = st.one_of(
    st.binary(max_size=256),
    st.binary(max_size=256).map(iso28560_3.reverse_blocks),
    hostile_28560_3(),
    hostile_28560_2(),
    hostile_rfid501(),
    mutated(),
    mutated().map(iso28560_3.reverse_blocks),
)


@pytest.mark.parametrize("name", sorted(DECODERS))
@FUZZ
@given(memory=HOSTILE)
def test_every_decoder_raises_only_tag_data_error(name: str, memory: bytes) -> None:
    only_tag_data_error(DECODERS[name], memory)


@FUZZ
@given(memory=st.one_of(hostile_28560_2(), mutated()))
def test_what_decodes_writes_back_or_is_refused(memory: bytes) -> None:
    """A decoded hostile tag given to the encoder again (a programming station copying a
    tag): the same tag, or TagDataError for what the model cannot hold (OIDs above 127)."""
    try:
        tag = decode(memory)
    except TagDataError:
        return
    try:
        again = decode(encode(tag))
    except TagDataError:
        return
    assert (again.item_id, again.set_size, again.set_index) == (
        tag.item_id,
        tag.set_size,
        tag.set_index,
    )
    assert again.type_of_usage == tag.type_of_usage
    assert isil_key(again.owner_library) == isil_key(tag.owner_library)


@given(st.integers(0, 256).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
@FUZZ
def test_every_length_from_0_to_256(memory: bytes) -> None:
    for decoder in DECODERS.values():
        only_tag_data_error(decoder, memory)
        only_tag_data_error(decoder, iso28560_3.reverse_blocks(memory))


@FUZZ
@given(st.integers(0, 7), st.binary(max_size=300))
def test_every_compaction_scheme_decodes_or_refuses(scheme: int, data: bytes) -> None:
    with contextlib.suppress(TagDataError):
        assert isinstance(compaction.decode(scheme, data), str)
    with contextlib.suppress(TagDataError):
        assert compaction.isil_decode(data)


@FUZZ
@given(st.integers(0, 7), st.text(max_size=40))
def test_every_compaction_scheme_encodes_or_refuses(scheme: int, text: str) -> None:
    with contextlib.suppress(TagDataError):
        assert isinstance(compaction.encode(scheme, text), bytes)
    with contextlib.suppress(TagDataError):
        assert isinstance(compaction.isil_encode(text), bytes)


@FUZZ
@given(
    st.sampled_from(["iso28560-3", "danish", "iso28560-2", "3m-rfid501", "x"]),
    st.text(max_size=20),
    st.text(max_size=20),
    st.integers(-5, 1000),
    st.integers(-5, 1000),
    st.integers(-5, 300),
)
def test_encoders_refuse_what_they_cannot_write(
    model: str, item: str, owner: str, size: int, index: int, usage: int
) -> None:
    tag = TagData(model, item, owner, size, index, usage)
    with contextlib.suppress(TagDataError):
        sane(decode(encode(tag)))


@FUZZ
@given(st.booleans(), st.booleans(), st.integers(-300, 300), st.integers(-300, 300), st.booleans())
def test_security_policy_refuses_only_with_value_error(
    afi: bool, eas: bool, secured: int, unsecured: int, foreign: bool
) -> None:
    try:
        policy = SecurityPolicy(afi, eas, secured, unsecured, foreign)
    except ValueError:
        return
    for value in (None, 0, 0x07, 0xC2, 0xFF, secured & 0xFF):
        for bit in (None, False, True):
            assert isinstance(policy.alarms(value, bit), bool)
            assert policy.is_secured(value, bit) in (True, False, None)
    assert PRESETS["afi"].alarms(0x07, None)


# --- the cases that escaped before (issue 12, item 3), kept as fixed examples ---------------

# ISO 28560-2: item 1 (integer), then a type of usage element (OID 5) in octet string
# holding "zz". Before: ValueError from int("zz", 16) — not TagDataError — and a silent gate.
USAGE_NOT_HEX = bytes.fromhex("11 01 05  65 02 7A 7A  00")


def test_a_type_of_usage_that_is_not_a_number_is_a_tag_data_error() -> None:
    with pytest.raises(TagDataError, match="type of usage"):
        decode(USAGE_NOT_HEX)


def test_a_type_of_usage_byte_that_unicode_calls_a_digit() -> None:
    """Octet 0xB9 is "¹", which str.isdigit() accepts and int() refuses (found by fuzzing)."""
    assert decode(bytes.fromhex("11 01 05  65 01 B9  00 00")).type_of_usage == 0xB


@pytest.mark.parametrize(
    ("parts", "part"),
    [(3, 5), (3, 0), (2, 255)],
)
def test_a_part_outside_its_set_is_refused(parts: int, part: int) -> None:
    """ "Part 5 of 3" would keep a kiosk waiting for parts that do not exist."""
    basic = bytearray(34)
    basic[0], basic[1], basic[2] = 0x11, parts, part
    basic[3:8] = b"B0001"
    with pytest.raises(TagDataError, match="part"):
        decode(with_crc(basic))


def test_a_huge_set_in_iso28560_2_is_refused() -> None:
    # set information 999999 ... as 80 digits in 7-bit code: 10^40 parts
    raw = compaction.encode(compaction.BIT7, "9" * 80)
    memory = bytes.fromhex("11 01 05") + bytes([0x54, len(raw)]) + raw + b"\0"
    with pytest.raises(TagDataError, match="set information"):
        decode(memory)


def test_set_size_zero_means_a_single_item() -> None:
    basic = bytearray(34)
    basic[0], basic[1], basic[2] = 0x11, 0, 0
    basic[3:8] = b"B0001"
    tag = decode(with_crc(basic))
    assert (tag.set_size, tag.set_index, tag.item_id) == (1, 1, "B0001")
