"""ISO 28560-2 and ISO 15962 compaction: the standard's worked examples, then properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.tags import TagData, TagDataError, compaction, decode, encode, iso28560_2

# ISO 28560-2 Annex D (as printed in GOST R ISO 28560-2-2014, table D.5): item id
# 123456789012 (integer, offset flag set), content parameter D0, set information 1203.
ANNEX_D = bytes.fromhex("91 00 05 1C BE 99 1A 14  02 01 D0  14 02 04 B3  00")


def test_annex_d_item_with_set_information() -> None:
    tag = decode(ANNEX_D)
    assert (tag.model, tag.item_id, tag.crc_valid) == ("iso28560-2", "123456789012", None)
    assert tag.elements == ((1, "123456789012"), (2, "D0"), (4, "1203"))
    assert (tag.set_size, tag.set_index) == (12, 3)


def test_leading_dsfid_is_accepted_and_reported() -> None:
    tag = decode(b"\x06" + ANNEX_D)
    assert tag.item_id == "123456789012" and tag.fields == {"dsfid": 6}


def test_annex_d_six_bit_shelf_mark() -> None:
    raw = compaction.encode(compaction.BIT6, "QA268.L55")
    assert raw == bytes.fromhex("44 1C B6 E2 E3 35 D6")
    assert compaction.best_scheme("QA268.L55") == compaction.BIT6
    assert compaction.decode(compaction.BIT6, raw) == "QA268.L55"


@pytest.mark.parametrize(
    ("isil", "raw"),
    [("DE-Heu1", "21 40 8E 16 BF 1F")],  # ISO 28560-2 Annex C, example 1
)
def test_isil_compaction_examples(isil: str, raw: str) -> None:
    assert compaction.isil_encode(isil) == bytes.fromhex(raw)
    assert compaction.isil_decode(bytes.fromhex(raw)) == isil


def test_isil_example_2_starts_as_the_annex_describes() -> None:
    # "CH-" in the upper set (00011 01000 00000), then latch numeric 11110, digits 0000 0000 …
    bits = "".join(f"{b:08b}" for b in compaction.isil_encode("CH-000134-1"))
    assert bits.startswith("00011010000000011110000000000000000100110100")
    assert compaction.isil_decode(compaction.isil_encode("CH-000134-1")) == "CH-000134-1"


def test_owner_library_round_trip_with_isil_compaction() -> None:
    tag = TagData(
        model="iso28560-2", item_id="30100123", owner_library="VN-HN0001", set_size=2, set_index=1
    )
    raw = encode(tag)
    # integer item id (4 bytes) with the offset flag and one pad byte: it ends on block 2
    assert raw[:8] == bytes.fromhex("91 01 04 01 CB 4A 9B 00")
    assert raw[8:11] == bytes.fromhex("02 01 C0")  # content parameter: OIDs 3 and 4
    assert raw[11:15] == bytes.fromhex("24 02 02 01")  # set information "0201", numeric
    # the owner last: it ends on block 6 with an offset byte and no pad byte
    assert raw[15:24] == bytes.fromhex("83 00 06") + compaction.isil_encode("VN-HN0001")
    assert raw[24:] == bytes(4)
    back = decode(raw)
    assert (back.item_id, back.owner_library, back.set_size, back.set_index) == (
        "30100123",
        "VN-HN0001",
        2,
        1,
    )


def test_every_compaction_scheme_round_trips_through_a_tag() -> None:
    for item in ["0012345", "12345", "ABCDE", "AB-12.C", "ab-12.c", "Sách-01", "X"]:
        tag = decode(encode(TagData(model="iso28560-2", item_id=item)))
        assert tag.item_id == item


# --- OIDs from 15 up, and where the offset byte stands ---------------------------------------

# DigitalPlatform/dp2, UnitTestRFID/TestChip.cs Test_chip_layout_3: dp2's encoder, given the
# Annex D content plus the title "test" (locked), writes these bytes; the test asserts them.
# The title (OID 17) is ``7F 02 04 74 65 73 74``: UTF-8, OID bits 1111, then 17 - 15 = 2. The
# content parameter ``D0 02`` has bits for OIDs 3, 4, 6 and 17 = 3 + 14.
DP2_TITLE = bytes.fromhex(
    "91 00 05 1c be 99 1a 14 02 02 d0 02 14 02 04 b3 c6 02 07 44 1c b6 e2 e3 35 d6 00 00"
    " 03 07 ac c0 9e ba a0 6f 6b 7f 02 04 74 65 73 74"
)


def test_the_byte_after_an_extended_precursor_holds_oid_minus_15() -> None:
    """Before: ``7F 02`` was read as OID 2, the content parameter, and the title was lost."""
    tag = decode(DP2_TITLE)
    assert (tag.item_id, tag.owner_library, tag.set_size, tag.set_index) == (
        "123456789012",
        "US-InU-Mu",
        12,
        3,
    )
    assert tag.elements == (
        (1, "123456789012"),
        (2, "D002"),
        (4, "1203"),
        (6, "QA268.L55"),  # written with an offset and 2 pad bytes: c6 02 07 …
        (3, "US-InU-Mu"),
        (17, "test"),
    )
    assert iso28560_2.content_parameter({3, 4, 6, 17}) == "D002"


def test_oid_15_is_the_extended_form_with_byte_0() -> None:
    """``1F 00`` is OID 15 (local data A); before, muontra read it as OID 0 and refused the tag."""
    tag = decode(bytes.fromhex("11 01 2A  02 02 00 04  1F 00 01 07  00"))
    assert tag.elements == ((1, "42"), (2, "0004"), (15, "7"))


def test_the_offset_byte_comes_after_the_oid_byte() -> None:
    """Both orders that matter, byte for byte.

    Offset flag with an OID below 15: precursor, offset, length (``91 00 05`` and ``83 02 07``
    of Annex D, decoded in test_annex_d_*). Offset flag with an OID from 15: precursor,
    OID - 15, offset, length, as dp2's Element.Compact writes and Element.Parse reads. Here
    OID 16 (local data B) "test" with 2 pad bytes, then a shelf location: read in the other
    order, the element would be OID 17 with one pad byte, and the shelf location would start
    on a pad byte.
    """
    local_b = iso28560_2.element(16, compaction.UTF8, b"test", pad=2)
    assert local_b == bytes.fromhex("FF 01 02 04 74 65 73 74 00 00")
    memory = bytes.fromhex("11 01 2A") + local_b + bytes.fromhex("66 01 41 00")
    assert decode(memory).elements == ((1, "42"), (16, "test"), (6, "A"))
    # without the offset flag the OID byte is followed at once by the length
    assert iso28560_2.element(17, compaction.UTF8, b"test") == bytes.fromhex("7F 02 04 74657374")
    # what the encoder writes for OID 20 (supply chain stage) in 5-bit code: 3F 05, and a
    # content parameter of three bytes whose bit 17 is OID 20
    tag = TagData(model="iso28560-2", item_id="42", elements=((20, "ABC"),))
    assert encode(tag) == bytes.fromhex("91 00 01 2A  02 03 00 00 40  3F 05 02 08 87  00 00")


def test_oid_beyond_14_uses_the_extra_oid_byte() -> None:
    tag = TagData(model="iso28560-2", item_id="42", elements=((17, "Truyen Kieu"),))
    raw = encode(tag)
    # 91 00 01 2A | 02 02 00 02 (content parameter: OID 17) | 5F 02 … (7-bit, OID 17)
    assert raw[:10] == bytes.fromhex("91 00 01 2A 02 02 00 02 5F 02")
    assert decode(raw).elements[-1] == (17, "Truyen Kieu")


def test_oids_beyond_127_cannot_be_written() -> None:
    for oid in (0, 128, 300):
        with pytest.raises(TagDataError, match="relative OID"):
            encode(TagData(model="iso28560-2", item_id="42", elements=((oid, "x"),)))


def test_damaged_elements_are_not_iso28560_2() -> None:
    with pytest.raises(TagDataError):
        decode(bytes.fromhex("11 09 01 02 00 00 00 00"))  # length runs past the memory


text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30
)


@given(st.sampled_from([1, 2, 3, 4, 5, 6, 7]), text)
def test_compaction_round_trip(scheme: int, value: str) -> None:
    try:
        raw = compaction.encode(scheme, value)
    except TagDataError:
        return  # the value does not fit that scheme
    assert compaction.decode(scheme, raw) == value or (
        scheme in (compaction.BIT5, compaction.BIT6, compaction.BIT7)
        and value.endswith(
            {compaction.BIT5: "_", compaction.BIT6: " ", compaction.BIT7: "\x7f"}[scheme]
        )
    )


@given(st.from_regex(r"[A-Z]{2}-[A-Za-z0-9:-]{1,11}", fullmatch=True))
def test_isil_round_trip(isil: str) -> None:
    assert compaction.isil_decode(compaction.isil_encode(isil)) == isil


@given(st.binary(max_size=64))
def test_fuzzed_memory_raises_only_tag_data_error(data: bytes) -> None:
    with contextlib.suppress(TagDataError):
        decode(data)


# --- properties: encode then decode, every OID the standard names and the extended ones ---

# Text that no compaction scheme reads differently: the 5/6/7-bit fill can hold one whole
# code, so a trailing "_", " ", "@" or DEL would be taken for fill (see compaction.py).
element_text = st.text(alphabet=st.sampled_from("ABCXYZabcxyz0123456789.-/:()ÀÉáêươ"), max_size=24)
free_oids = st.sampled_from([6, 7, 8, 9, 10, 12, 13, 14, *range(15, 32)])
isils = st.from_regex(r"[A-Z]{2}-[A-Za-z0-9:-]{1,11}", fullmatch=True)


@st.composite
def tags_2(draw: st.DrawFn) -> TagData:
    size = draw(st.integers(1, 255))
    return TagData(
        model="iso28560-2",
        item_id=draw(st.text(alphabet="0123456789ABCDEFabc-.", min_size=1, max_size=20)),
        owner_library=draw(st.one_of(st.just(""), isils)),
        set_size=size,
        set_index=draw(st.integers(1, size)),
        type_of_usage=draw(st.integers(0, 15)),
        elements=tuple(draw(st.dictionaries(free_oids, element_text, max_size=6)).items()),
    )


@given(tags_2())
def test_encode_then_decode_gives_the_same_tag(tag: TagData) -> None:
    raw = encode(tag)
    assert len(raw) % 4 == 0 and raw.endswith(b"\x00")
    back = decode(raw)
    assert (back.model, back.item_id, back.owner_library) == (
        "iso28560-2",
        tag.item_id,
        tag.owner_library,
    )
    assert (back.set_size, back.set_index, back.type_of_usage) == (
        tag.set_size,
        tag.set_index,
        tag.type_of_usage,
    )
    assert {oid: text for oid, text in back.elements if oid >= 6} == dict(tag.elements)
    present = {oid for oid, _ in back.elements if oid >= 3}
    if present:  # the content parameter names exactly the elements that follow
        assert dict(back.elements)[2] == iso28560_2.content_parameter(present)
    assert encode(back) == raw  # and what was read writes back to the same bytes


@given(st.integers(1, 127), st.sampled_from(range(8)), st.binary(max_size=40), st.booleans())
def test_one_element_of_any_oid_reads_back(oid: int, scheme: int, raw: bytes, pad: bool) -> None:
    """Whatever the OID, offset or compaction: the element after it starts where it should."""
    try:
        text = compaction.decode(scheme, raw)
    except TagDataError:
        return  # bytes that scheme cannot hold
    first = iso28560_2.element(oid, scheme, raw, pad=3 if pad else None)
    memory = bytes.fromhex("11 01 2A") + first + bytes.fromhex("66 01 41 00")
    try:
        tag = decode(memory)
    except TagDataError:
        assert oid in (1, 4, 5)  # an item id, set or usage element may be unreadable as such
        return
    read = [(o, t) for o, t in tag.elements if o != 1 or t != "42"]
    assert read[-1] == (6, "A")
    if oid not in (1, 3, 5, 6, 11, 23, 25):
        assert read[0] == (oid, text if raw else "")
