"""ISO 28560-2 tags as real encoders wrote them, read as dp2's decoder reads them (issue 18).

Every memory below is a published dump, reproduced as data and cited: DigitalPlatform/dp2,
whose DigitalPlatform.RFID decoder reads GB/T 35660 (= ISO 28560-2) tags in Chinese libraries,
keeps real tags from several vendors in its tests. What dp2 reads from each (item id, owner
library, set information, type of usage) was worked out from its Element.cs ``Parse`` and
Compact.cs, and is what ``decode`` must give. The tags dp2 cannot read either (its
test_logicChip_10 "liuxing", marked there as not yet parsable) are left out.
"""

from __future__ import annotations

import pytest

from protocols.tags import TagData, decode, encode
from tests.unit.protocols.tags.test_tag_hostile import only_tag_data_error

# ISO 28560-2 Annex D, the complete encoding of its worked example (the 2023 edition's table
# D.10; the same bytes in dp2 UnitTestRFID/TestChip.cs Test_chip_example_from, and asserted
# as dp2's encoder output for that content in Test_chip_layout_2): item 123456789012, set
# information 1203, shelf location QA268.L55, owner US-InU-Mu, the item id and the owner
# each ending on a block boundary.
ANNEX_D_FULL = bytes.fromhex(
    "91 00 05 1c  be 99 1a 14  02 01 d0 14  02 04 b3 46  07 44 1c b6  e2 e3 35 d6"
    "  83 02 07 ac  c0 9e ba a0  6f 6b 00 00"
)
# dp2 UnitTestRFID/TestChip.cs Test_chip_layout_4: the item id alone, as dp2 writes it.
DP2_ITEM_ONLY = bytes.fromhex("91 00 05 1c  be 99 1a 14")

# dp2 TestDp2Library/TestRfid.cs, each a real tag named in its test:
# test_logicChip_1 ("zhiyan 1"): 6-bit item id with two pad bytes, ISIL owner padded too,
# type of usage in numeric compaction, ONIX media format "BA" in 5-bit with a zero fill,
# and OID 23 (alternative owner institution) as ``5F 08``; content parameter A8 00 08.
ZHIYAN_1 = bytes.fromhex(
    "C102071100B0C30C30CA00000203A80008830203D6593F0000250110370210405F080599A713063F"
)
ZHIYAN_2 = bytes.fromhex(  # test_logicChip_2 ("zhiyan 2"), another item of the same batch
    "C102071100B0C30C30D600000203A80008830203D6593F0000250110370210405F080599A713063F"
)
ZHIYAN_5 = bytes.fromhex(  # test_logicChip_5, a third
    "C102071100B0C30C30C600000203A80008830203D6593F0000250110370210405F080599A713063F"
)
# test_logicChip_3 / _4 ("jiangxi jingyuan 1/2"): an integer item id and nothing else.
JINGYUAN_1 = bytes.fromhex("11030AA8AE") + bytes(35)
JINGYUAN_2 = bytes.fromhex("11030AA977") + bytes(35)
# test_logicChip_8 ("wanghu 1"): item id and owner as octet strings, each padded to a block,
# type of usage the octet 0x32 ("2" in ASCII: dp2 reads "32", class 3 in the high nibble).
WANGHU_1 = bytes.fromhex(
    "E1 01 08 30  31 30 30 31  36 34 33 00  82 00 01 A0  E3 01 08 53  4D 33 36 31"
    "  30 30 31 00  E5 00 01 32"
) + bytes(20)
# test_logicChip_9 ("数字平台", Digital Platform's own): numeric item id 0000001 (odd count,
# 1111 fill), content parameter 30, type of usage octet 0x10, a 7-bit shelf location.
SHUZI_PINGTAI = bytes.fromhex(
    "21 04 00 00  00 1F 02 01  30 65 01 10  56 11 AA D9  B3 45 CC 59  31 5F 39 AB"
    "  96 0B F6 69  DD 95 9F 00"
) + bytes(16)
# test_logicChip_11 (a tag "provided by Mr Wang"): octet-string item id E555672, ISIL owner
# CN-130103-1-SJZLIB, type of usage the octet 0x12 (a circulating item, qualifier 2: not for
# automatic sorting), then stray bytes near the end of the memory after the 0x00 that ends
# the data. The issue names it: an octet-string type of usage must not stop the tag.
LOGICCHIP_11 = (
    bytes.fromhex("E102074535353536373200000201B8030C1B81E130103A1AC9AB4C48BF650112660100670100")
    + bytes(40)
    + bytes.fromhex("575F4F4B")
)

REAL_TAGS = [
    # memory, item id, owner library, (set size, set index), type of usage
    (ANNEX_D_FULL, "123456789012", "US-InU-Mu", (12, 3), 1),
    (DP2_ITEM_ONLY, "123456789012", "", (1, 1), 1),
    (ZHIYAN_1, "DPB000002", "ZYLS", (1, 1), 1),
    (ZHIYAN_2, "DPB000005", "ZYLS", (1, 1), 1),
    (ZHIYAN_5, "DPB000001", "ZYLS", (1, 1), 1),
    (JINGYUAN_1, "698542", "", (1, 1), 1),
    (JINGYUAN_2, "698743", "", (1, 1), 1),
    (WANGHU_1, "01001643", "SM361001", (1, 1), 3),
    (SHUZI_PINGTAI, "0000001", "", (1, 1), 1),
    (LOGICCHIP_11, "E555672", "CN-130103-1-SJZLIB", (1, 1), 1),
]

NAMES = [
    "annex-d",
    "dp2-item-only",
    "zhiyan-1",
    "zhiyan-2",
    "zhiyan-5",
    "jingyuan-1",
    "jingyuan-2",
    "wanghu-1",
    "shuzi-pingtai",
    "logicchip-11",
]


@pytest.mark.parametrize(
    ("memory", "item_id", "owner", "part", "usage"),
    REAL_TAGS,
    ids=NAMES,
)
def test_real_tags_read_as_dp2_reads_them(
    memory: bytes, item_id: str, owner: str, part: tuple[int, int], usage: int
) -> None:
    tag = decode(memory)
    assert (tag.model, tag.item_id, tag.owner_library) == ("iso28560-2", item_id, owner)
    assert ((tag.set_size, tag.set_index), tag.type_of_usage) == (part, usage)
    again = decode(encode(tag))  # and written again, the same content
    assert (again.item_id, again.owner_library, again.set_size, again.set_index) == (
        item_id,
        owner,
        *part,
    )
    assert again.type_of_usage == usage


def test_zhiyan_every_element_and_its_content_parameter() -> None:
    """OID 23 is ``5F 08`` (15 + 8), and the content parameter's bits agree: A8 00 08 has
    OIDs 3, 5, 7 and 23. Before, the element read as OID 8 and "BA" as "BA@"."""
    assert decode(ZHIYAN_1).elements == (
        (1, "DPB000002"),
        (2, "A80008"),
        (3, "ZYLS"),
        (5, "10"),
        (7, "BA"),
        (23, "Lib01"),
    )


def test_an_octet_type_of_usage_keeps_its_qualifier_when_written_again() -> None:
    tag = decode(LOGICCHIP_11)
    assert (5, "12") in tag.elements
    written = encode(tag)
    assert bytes.fromhex("25 01 12") in written  # numeric, the form both decoders read alike
    assert (5, "12") in decode(written).elements


def test_annex_d_content_is_written_byte_for_byte() -> None:
    """The standard's example, from the content alone: the bytes of its table D.10 (and of
    dp2's encoder), then a 0x00 block that ends the data."""
    tag = TagData(
        model="iso28560-2",
        item_id="123456789012",
        owner_library="US-InU-Mu",
        set_size=12,
        set_index=3,
        elements=((6, "QA268.L55"),),
    )
    assert encode(tag) == ANNEX_D_FULL + bytes(4)
    assert encode(decode(ANNEX_D_FULL)) == ANNEX_D_FULL + bytes(4)


def test_an_item_id_alone_is_written_as_dp2_writes_it() -> None:
    tag = TagData(model="iso28560-2", item_id="123456789012")
    assert encode(tag) == DP2_ITEM_ONLY + bytes(4)


@pytest.mark.parametrize("memory", [memory for memory, *_ in REAL_TAGS], ids=NAMES)
def test_every_cut_and_every_damaged_byte_of_a_real_tag_is_read_or_refused(memory: bytes) -> None:
    """Hostile input made from real tags: every prefix, and every byte set to values that
    change the structure (an extended OID, an offset flag, a zero, a huge length)."""
    for end in range(len(memory) + 1):
        only_tag_data_error(decode, memory[:end])
    for position in range(min(len(memory), 48)):
        for value in (0x00, 0x0F, 0x1F, 0x5F, 0x7F, 0x80, 0x8F, 0xFF, memory[position] ^ 0x80):
            damaged = bytearray(memory)
            damaged[position] = value
            only_tag_data_error(decode, bytes(damaged))
