"""Tags from other projects' test suites and real libraries, byte for byte (issue 12, item 4).

Each fixture names where its bytes come from; the bytes are those projects' public test
vectors, reproduced as data.
"""

from __future__ import annotations

import pytest

from protocols.tags import TagData, compaction, decode, encode, isil_key, same_isil
from protocols.tags.iso28560_3 import reverse_blocks

# GallusMax/libdanrfid, src/test/java/org/rfid/libdanrfid/DDMDataTest.java: a Danish model
# tag of 32 bytes (the basic block truncated), barcode 11223344, country DE, ISIL 705,
# CRC 0x3E51 stored least significant byte first.
LIBDANRFID_32 = bytes.fromhex("11010131313232333334340000000000000000513e4445373035000000000000")

# DigitalPlatform/dp2, TestDp2Library/TestRfid.cs test_logicChip_6 / _7 ("ganchuang 1/2"):
# real GB/T 35660 (= ISO 28560-2) tags. Item id in integer compaction with an offset byte,
# content parameter B8, an owner institution of length 0 (``03 00``), type of usage as an
# octet string 0x10, shelf location and ONIX media format one NUL byte each.
GANCHUANG_1 = bytes.fromhex("9101040142214B000201B8030065011066010067010000") + bytes(90)
GANCHUANG_2 = bytes.fromhex("91020312D68700000201B8030065011066010067010000") + bytes(90)
# … test_logicChip_1 ("zhiyan 1"): 6-bit item id, ISIL owner, type of usage 10 in numeric
# compaction (``25 01 10``), 7-bit and 6-bit elements with the extra OID byte.
ZHIYAN_1 = bytes.fromhex(
    "C102071100B0C30C30CA00000203A80008830203D6593F0000250110370210405F080599A713063F"
)


def test_a_32_byte_danish_tag_as_libdanrfid_writes_it() -> None:
    """Tag-it HF-I Standard tags have 8 blocks of 4 bytes: the basic block loses bytes 32-33.

    libdanrfid (CRC.java ``DDCRC``) and TH Wildau's ISO28560 (``ISO28560_3_BasicBlock``,
    ``truncatedBasicBlock``) compute its CRC as if those two bytes were NUL. Before:
    "unknown data model".
    """
    tag = decode(LIBDANRFID_32)
    assert (tag.model, tag.item_id, tag.owner_library) == ("danish", "11223344", "DE705")
    assert (tag.crc_valid, tag.blocks_byte_reversed, tag.fields) == (
        True,
        False,
        {"basic_block": 32},
    )
    assert encode(tag) == LIBDANRFID_32  # written back in its 32 bytes


def test_a_32_byte_tag_read_byte_reversed() -> None:
    reversed_memory = reverse_blocks(LIBDANRFID_32)
    tag = decode(reversed_memory)
    assert (tag.item_id, tag.owner_library, tag.blocks_byte_reversed) == ("11223344", "DE705", True)
    assert encode(tag) == reversed_memory


def test_a_32_byte_block_on_a_larger_tag_keeps_the_bytes_after_it() -> None:
    """A 32-byte writer on a larger tag leaves bytes 32-33 as they were (here 0x55)."""
    tag = decode(LIBDANRFID_32 + b"\x55\x55\x00\x00")
    assert (tag.item_id, tag.crc_valid, tag.fields) == ("11223344", True, {"basic_block": 32})


def test_a_32_byte_block_with_a_bad_crc_is_still_reported_as_such() -> None:
    damaged = bytearray(LIBDANRFID_32)
    damaged[5] ^= 0x01
    tag = decode(bytes(damaged))
    assert tag.model == "danish" and tag.crc_valid is False


def test_the_owner_of_a_32_byte_block_has_11_characters() -> None:
    tag = TagData(
        model="danish", item_id="B1", owner_library="DK718500123", fields={"basic_block": 32}
    )
    assert decode(encode(tag)).owner_library == "DK718500123"
    with pytest.raises(ValueError, match="at most 11"):
        encode(
            TagData(
                model="danish",
                item_id="B1",
                owner_library="DK7185001234",
                fields={"basic_block": 32},
            )
        )


@pytest.mark.parametrize(
    ("memory", "item_id"), [(GANCHUANG_1, "21111115"), (GANCHUANG_2, "1234567")]
)
def test_gbt35660_tags_with_an_empty_owner_element(memory: bytes, item_id: str) -> None:
    """A zero-length element is an empty value, not a broken tag (before: "unknown data model")."""
    tag = decode(memory)
    assert (tag.model, tag.item_id, tag.owner_library, tag.type_of_usage) == (
        "iso28560-2",
        item_id,
        "",
        1,  # 0x10: a circulating item
    )
    # the type of usage octet 0x10 reads as its two hex digits, as dp2 shows it
    assert tag.elements == ((1, item_id), (2, "B8"), (3, ""), (5, "10"), (6, "\x00"), (7, "\x00"))


def test_a_zero_length_element_round_trips() -> None:
    tag = TagData(model="iso28560-2", item_id="42", elements=((3, ""), (6, "")))
    # the content parameter (OIDs 3 and 6: 0x90) comes with them; the owner is written last
    assert decode(encode(tag)).elements == ((1, "42"), (2, "90"), (6, ""), (3, ""))


def test_an_empty_primary_item_identifier_is_never_an_item() -> None:
    with pytest.raises(ValueError, match="unknown data model"):
        decode(bytes.fromhex("11 00 03 00 00 00 00 00"))


def test_numeric_compaction_is_one_digit_per_nibble_with_a_1111_fill() -> None:
    """ISO/IEC 15962 numeric compaction (code 2), as settled for issue 12.

    Evidence, since the standard's own text is not at hand here:
    - DigitalPlatform/dp2, DigitalPlatform.RFID/Compact.cs ``NumericCompact`` and
      ``NumericExtract``: one digit per 4 bits, high nibble first, an odd count's last
      nibble 0xF; its TestDp2Library/TestRfid.cs ``Test_digit_1..3``: "00" -> 00,
      "01" -> 01, "010" -> 01 0F. dp2 reads and writes GB/T 35660 tags in production.
    - A real tag in the same tests ("zhiyan 1", ``25 01 10``) carries the type of usage
      in numeric compaction: 0x10 reads "10", the GB/T code of a circulating item. The
      reading used before here ("prefix a 1, convert to binary": GS1 EPC TDS and
      PDF417 numeric strings, not ISO 15962) made it "6".
    - ISO 28560-2 Annex C codes the digits of an ISIL in the same 4-bit code with the
      same 1111 fill (its example DE-Heu1 ends ``… 0001 1111``, checked in
      test_iso28560_2.py).
    A wrong reading checks out the wrong item: 01 0F was item "10" before, is "010" now.
    """
    for text, raw in [("00", "00"), ("01", "01"), ("010", "01 0F"), ("0012345", "00 12 34 5F")]:
        assert compaction.encode(compaction.NUMERIC, text) == bytes.fromhex(raw)
        assert compaction.decode(compaction.NUMERIC, bytes.fromhex(raw)) == text
    # and as a primary item identifier with leading zeros, precursor 0x21 (numeric, OID 1)
    tag = decode(bytes.fromhex("21 02 01 0F 00 00 00 00"))
    assert tag.item_id == "010"
    assert encode(TagData(model="iso28560-2", item_id="010"))[:4] == bytes.fromhex("21 02 01 0F")


def test_numeric_compaction_refuses_what_is_not_digits() -> None:
    for raw in ("0A", "F1", "1F 23"):  # a nibble above 9, a fill that is not last
        with pytest.raises(ValueError, match="numeric"):
            compaction.decode(compaction.NUMERIC, bytes.fromhex(raw))


def test_zhiyan_tag_type_of_usage_in_numeric_compaction() -> None:
    tag = decode(ZHIYAN_1)
    assert (tag.item_id, tag.owner_library, tag.type_of_usage) == ("DPB000002", "ZYLS", 1)
    assert (5, "10") in tag.elements


def test_type_of_usage_round_trips_as_one_byte() -> None:
    for usage in range(16):
        tag = decode(encode(TagData(model="iso28560-2", item_id="42", type_of_usage=usage)))
        assert tag.type_of_usage == usage


@pytest.mark.parametrize(
    ("tag_value", "configured"),
    [
        ("DK718500", "DK-718500"),
        ("VNHN0001", "VN-HN0001"),
        ("vn-hn0001", "VN-HN0001"),
        ("DE705", "DE-705"),
        ("CH000134-1", "CH-000134-1"),
    ],
)
def test_isils_compare_without_case_and_hyphens(tag_value: str, configured: str) -> None:
    assert same_isil(tag_value, configured)
    assert isil_key(tag_value) == isil_key(configured)


def test_different_isils_stay_different() -> None:
    assert not same_isil("VN-HN0001", "VN-HN0002")
    assert not same_isil("", "")
