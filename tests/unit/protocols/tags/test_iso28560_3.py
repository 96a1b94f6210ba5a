"""ISO 28560-3 / Danish model: bytes laid out by hand from the standard's table."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.crc import CRC16_IBM_3740
from protocols.tags import Extension, TagData, TagDataError, decode, encode


def handmade(
    version: int = 1,
    usage: int = 1,
    parts: int = 1,
    part: int = 1,
    item: bytes = b"30000123456789",
    owner: bytes = b"VN-HN0001",
) -> bytes:
    basic = bytearray(34)
    basic[0] = version << 4 | usage
    basic[1], basic[2] = parts, part
    basic[3 : 3 + len(item)] = item
    basic[21 : 21 + len(owner)] = owner
    crc = CRC16_IBM_3740(bytes(basic[:19] + basic[21:]))
    basic[19], basic[20] = crc & 0xFF, crc >> 8  # least significant byte first
    return bytes(basic) + b"\0\0"  # padded to 9 blocks of 4 bytes


DANISH = handmade()


def test_danish_model_tag() -> None:
    tag = decode(DANISH)
    assert tag.model == "danish" and tag.version == 1
    assert tag.item_id == "30000123456789" and tag.owner_library == "VN-HN0001"
    assert (tag.set_size, tag.set_index, tag.type_of_usage) == (1, 1, 1)
    assert tag.crc_valid is True and tag.blocks_byte_reversed is False
    assert encode(tag) == DANISH


def test_iso28560_3_version_and_a_set() -> None:
    tag = decode(handmade(version=2, parts=3, part=2, item=b"B0017"))
    assert tag.model == "iso28560-3" and tag.set_size == 3 and tag.set_index == 2


def test_blocks_reversed_by_the_reader() -> None:
    reversed_memory = b"".join(DANISH[i : i + 4][::-1] for i in range(0, len(DANISH), 4))
    tag = decode(reversed_memory)
    assert tag.blocks_byte_reversed is True and tag.crc_valid is True
    assert tag.item_id == "30000123456789"
    assert encode(tag) == reversed_memory


def test_corrupt_crc_is_reported() -> None:
    corrupt = bytearray(DANISH)
    corrupt[10] ^= 0x01
    tag = decode(bytes(corrupt))
    assert tag.crc_valid is False


def test_extension_blocks() -> None:
    tag = TagData(model="iso28560-3", item_id="B1", extensions=(Extension(0x0001, b"TT"),))
    memory = encode(tag)
    assert (
        memory[34:41]
        == bytes([6, 0x00, 0x01]) + b"TT" + bytes([6 ^ 0x01 ^ ord("T") ^ ord("T")]) + b"\0"
    )
    assert decode(memory).extensions == (Extension(1, b"TT"),)


@pytest.mark.parametrize(
    ("memory", "reason"),
    [
        (b"\x55" * 32, "blank tag"),
        (b"\x00" * 32, "blank tag"),
        (b"", "no tag data"),
        (b"\x12\x34", "unknown data model"),
        (bytes(range(40)), "unknown data model"),
    ],
)
def test_unreadable_memory_is_a_clear_error_never_a_guess(memory: bytes, reason: str) -> None:
    with pytest.raises(TagDataError, match=reason):
        decode(memory)


ITEM = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=16)


@given(
    ITEM,
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", max_size=13),
    st.integers(1, 255),
    st.integers(0, 15),
    st.sampled_from(["danish", "iso28560-3"]),
    st.booleans(),
)
def test_round_trip(item: str, owner: str, parts: int, usage: int, model: str, rev: bool) -> None:
    tag = TagData(
        model=model,
        item_id=item,
        owner_library=owner,
        set_size=parts,
        set_index=1,
        type_of_usage=usage,
        crc_valid=True,
        blocks_byte_reversed=rev,
        version={"danish": 1, "iso28560-3": 2}[model],
    )
    memory = encode(tag)
    assert len(memory) % 4 == 0
    assert decode(memory) == tag


@given(st.binary(max_size=120))
def test_fuzzed_memory_raises_only_tag_data_error(memory: bytes) -> None:
    with contextlib.suppress(TagDataError):
        decode(memory)
