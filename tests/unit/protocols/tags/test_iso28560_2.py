"""ISO 28560-2 and ISO 15962 compaction: the standard's worked examples, then properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.tags import TagData, TagDataError, compaction, decode, encode

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
    assert raw[0] == 0x11  # integer-compacted primary item identifier
    assert raw[1] == 4 and raw[6] == 0x03  # then the owner: application-defined = ISIL
    assert len(raw) % 4 == 0
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


def test_oid_beyond_14_uses_the_extra_oid_byte() -> None:
    tag = TagData(model="iso28560-2", item_id="42", elements=((17, "Truyen Kieu"),))
    raw = encode(tag)
    assert raw[3] & 0x0F == 15 and raw[4] == 17
    assert decode(raw).elements[-1] == (17, "Truyen Kieu")


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
