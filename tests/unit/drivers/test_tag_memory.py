"""Reading a tag's data model off a reader (drivers/tag_memory.py), on the sim reader."""

from __future__ import annotations

import pytest

from drivers import tag_memory
from drivers.sim.field import SimTag, TagField, uid_for
from drivers.sim.reader import SimReader

# GallusMax/libdanrfid DDMDataTest.java: a Danish model tag in 32 bytes (see
# tests/unit/protocols/tags/test_tag_vectors.py).
LIBDANRFID_32 = bytes.fromhex("11010131313232333334340000000000000000513e4445373035000000000000")


def reader_with(tag: SimTag) -> SimReader:
    field = TagField()
    field.place(tag)
    reader = SimReader("sim://tag-memory?timing=0", field)
    reader.open()
    return reader


def test_an_eight_block_tag_is_read_whole() -> None:
    """Tag-it HF-I Standard: 8 blocks refuse the usual first read of 9 (before: a misread
    every round, the item never reported)."""
    uid = uid_for("tag-it")
    read = tag_memory.read_tag(reader_with(SimTag.with_data(uid, LIBDANRFID_32, blocks=8)), uid)
    assert read.tag is not None
    assert (read.tag.item_id, read.tag.owner_library) == ("11223344", "DE705")
    assert read.memory == LIBDANRFID_32


def test_a_decoder_failure_of_any_kind_is_an_unreadable_tag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(memory: bytes) -> None:
        raise IndexError("decoder bug")

    monkeypatch.setattr(tag_memory, "decode", broken)
    uid = uid_for("any")
    read = tag_memory.read_tag(reader_with(SimTag.with_data(uid, LIBDANRFID_32)), uid)
    assert read.tag is None and read.error == "unreadable tag data (IndexError)"
