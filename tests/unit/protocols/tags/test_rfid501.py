"""3M RFID501 tags and model detection across every model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.tags import TagData, TagDataError, decode, encode

# Built from the field layout documented by Biblio::RFID: 0x04, set 0x23 (part 2 of 3),
# 0x00, type 1 (book), barcode 1301234567, branch 3 / library 12345, custom -5, zeros.
RFID501 = bytes.fromhex("04 23 00 01 31333031323334353637 000000000000 00303039 FFFFFFFB 00000000")


def test_decode_rfid501() -> None:
    tag = decode(RFID501)
    assert (tag.model, tag.item_id, tag.set_index, tag.set_size, tag.crc_valid) == (
        "3m-rfid501",
        "1301234567",
        2,
        3,
        None,
    )
    assert tag.fields == {
        "item_type": 1,
        "item_type_name": "book",
        "branch": 3,
        "library": 12345,
        "custom": -5,
    }


def test_encode_rfid501_exact_bytes() -> None:
    tag = TagData(
        model="3m-rfid501",
        item_id="1301234567",
        set_size=3,
        set_index=2,
        fields={"item_type": 1, "branch": 3, "library": 12345, "custom": -5},
    )
    assert encode(tag) == RFID501


def test_3m_manufacturing_blank_is_a_clear_error() -> None:
    with pytest.raises(TagDataError, match="blank 3M"):
        decode(b"\x55" * 24 + b"\x00" * 4)


@pytest.mark.parametrize(
    "memory",
    [b"\x00" * 32, b"\xff" * 32, b"\x55" * 32, bytes.fromhex("deadbeef" * 8), b"hello world!"],
)
def test_unknown_or_blank_memory_never_yields_an_item_id(memory: bytes) -> None:
    with pytest.raises(TagDataError):
        decode(memory)


def test_every_model_is_told_apart() -> None:
    models = {}
    for model in ("iso28560-3", "danish", "iso28560-2", "3m-rfid501"):
        raw = encode(TagData(model=model, item_id="1234567"))
        models[model] = decode(raw).model
    assert models == {m: m for m in models}


@given(
    st.sampled_from(["iso28560-3", "danish", "iso28560-2", "3m-rfid501"]),
    st.from_regex(r"[0-9A-Z]{1,16}", fullmatch=True),
    st.integers(1, 9),
    st.integers(1, 9),
)
def test_round_trip_every_model(model: str, item: str, size: int, index: int) -> None:
    if index > size:  # a part beyond the set cannot be written (see test_tag_hostile)
        with pytest.raises(TagDataError, match="part"):
            encode(TagData(model=model, item_id=item, set_size=size, set_index=index))
        return
    tag = TagData(model=model, item_id=item, set_size=size, set_index=index)
    back = decode(encode(tag))
    assert (back.model, back.item_id, back.set_size, back.set_index) == (model, item, size, index)
