"""Which parts of a set lie on the pad: read from the tags present, never kept apart."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.tag_memory import TagRead
from kiosk.pad import PadTag
from kiosk.sets import set_parts
from protocols.tags import TagData


def part(item_id: str, parts: int, index: int) -> PadTag:
    uid = bytes([0xE0, parts, index]) + item_id.encode()[:5]
    data = TagData("iso28560-3", item_id, set_size=parts, set_index=index)
    return PadTag(uid, TagRead(uid, b"", data))


@given(
    parts=st.integers(min_value=2, max_value=8),
    data=st.data(),
)
def test_missing_parts_are_exactly_those_not_on_the_pad(parts: int, data: st.DataObject) -> None:
    present = data.draw(st.sets(st.integers(min_value=1, max_value=parts), min_size=1))
    others = [part("B0002", 3, 1), part("B0002", 3, 2), PadTag(b"\x01" * 8, None)]
    tags = [part("B0017", parts, n) for n in sorted(present)] + others
    newest = tags[0]
    answer = set_parts(tags, "B0017", parts, newest.uid)
    if present == set(range(1, parts + 1)):
        assert answer == tuple(part("B0017", parts, n).uid for n in range(1, parts + 1))
    else:
        assert answer == sorted(set(range(1, parts + 1)) - present)


def test_a_part_index_beyond_the_set_is_ignored() -> None:
    tags = [part("B0017", 3, 1), part("B0017", 3, 2), part("B0017", 3, 9)]
    assert set_parts(tags, "B0017", 3, tags[0].uid) == [3]


def test_a_single_item_is_its_own_set() -> None:
    assert set_parts([], "B0001", 1, b"\xe0" * 8) == (b"\xe0" * 8,)
