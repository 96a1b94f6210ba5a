"""One set of TagReader cases, run against every implementation (see conftest.py)."""

from __future__ import annotations

import time

import pytest

from drivers.interfaces import (
    DeviceError,
    DeviceState,
    DeviceUnavailable,
    TagError,
    TagNotFound,
    TagReader,
)
from drivers.sim.field import SimTag, uid_for
from drivers.sim.reader import item_tag
from protocols.tags import decode
from tests.contract.rigs.base import Rig


def _place(rig: Rig, *items: str) -> list[SimTag]:
    return [rig.field.place(item_tag(item, "VN-HN0001")) for item in items]


def _until_ready(reader: TagReader, seconds: float = 10.0) -> list[bytes]:
    """Inventory until the reader is back: reconnects are spaced by the driver's backoff."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return [tag.uid for tag in reader.inventory()]
        except DeviceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_reader_satisfies_the_interface(rig: Rig) -> None:
    assert isinstance(rig.reader, TagReader)


def test_empty_field_gives_an_empty_inventory(rig: Rig) -> None:
    assert rig.reader.inventory() == []
    assert rig.reader.state is DeviceState.READY


def _expected_inventory(rig: Rig, tags: list[SimTag]) -> set[bytes]:
    """Every tag, or, for a reader without anticollision, the one it shows as its card."""
    if "anticollision" in rig.features:
        return {tag.uid for tag in tags}
    return {tags[0].uid}


def test_inventory_lists_every_tag_once(rig: Rig) -> None:
    tags = _place(rig, "B0001", "B0002", "B0003")
    seen = rig.reader.inventory()
    assert len(seen) == len({tag.uid for tag in seen})
    assert {tag.uid for tag in seen} == _expected_inventory(rig, tags)
    assert all(len(tag.uid) == 8 and tag.uid[0] == 0xE0 for tag in seen)


def test_many_tags_at_once(rig: Rig) -> None:
    tags = _place(rig, *(f"B{n:04}" for n in range(30)))
    assert {tag.uid for tag in rig.reader.inventory()} == _expected_inventory(rig, tags)


def test_read_blocks_returns_tag_memory_in_tag_order(rig: Rig) -> None:
    (tag,) = _place(rig, "B0007")
    data = rig.reader.read_blocks(tag.uid, 0, 9)
    assert data == bytes(tag.memory[:36])
    decoded = decode(data)
    assert (decoded.item_id, decoded.owner_library, decoded.blocks_byte_reversed) == (
        "B0007",
        "VN-HN0001",
        False,
    )


def test_read_beyond_the_memory_is_a_tag_error(rig: Rig) -> None:
    (tag,) = _place(rig, "B0007")
    with pytest.raises(TagError):
        rig.reader.read_blocks(tag.uid, 27, 4)


def test_write_blocks_then_read_back(rig: Rig) -> None:
    (tag,) = _place(rig, "B0008")
    rig.reader.write_blocks(tag.uid, 2, b"ABCDEFGH")
    assert rig.reader.read_blocks(tag.uid, 2, 2) == b"ABCDEFGH"
    assert bytes(rig.field.tag(tag.uid).memory[8:16]) == b"ABCDEFGH"


def test_write_of_a_partial_block_is_refused_before_anything_is_sent(rig: Rig) -> None:
    (tag,) = _place(rig, "B0008")
    before = bytes(tag.memory)
    with pytest.raises(ValueError):
        rig.reader.write_blocks(tag.uid, 0, b"ABC")
    assert bytes(tag.memory) == before


def test_system_info(rig: Rig) -> None:
    (tag,) = _place(rig, "B0009")
    if "air" not in rig.features:
        with pytest.raises(TagError, match="cannot"):  # never an invented AFI or size
            rig.reader.system_info(tag.uid)
        return
    info = rig.reader.system_info(tag.uid)
    assert (info.uid, info.afi, info.block_size, info.block_count) == (tag.uid, 0x07, 4, 28)


def test_write_afi_is_seen_by_system_info(rig: Rig) -> None:
    (tag,) = _place(rig, "B0010")
    if "air" not in rig.features:
        with pytest.raises(TagError, match="cannot"):
            rig.reader.write_afi(tag.uid, 0xC2)
        assert rig.field.tag(tag.uid).afi == 0x07
        return
    rig.reader.write_afi(tag.uid, 0xC2)
    assert rig.reader.system_info(tag.uid).afi == 0xC2
    assert rig.field.tag(tag.uid).afi == 0xC2


def test_locked_afi_cannot_be_written(rig: Rig) -> None:
    if "lock_afi" not in rig.features:
        pytest.skip(f"{rig.name} cannot lock the AFI")
    (tag,) = _place(rig, "B0011")
    rig.reader.lock_afi(tag.uid)
    with pytest.raises(TagError):
        rig.reader.write_afi(tag.uid, 0xC2)
    assert rig.field.tag(tag.uid).afi == 0x07


def test_a_reader_without_eas_refuses_it_and_never_says_no_alarm(rig: Rig) -> None:
    if "eas" in rig.features:
        pytest.skip(f"{rig.name} has EAS commands")
    (tag,) = _place(rig, "B0012")
    rig.field.tag(tag.uid).eas = True
    for call in (rig.reader.set_eas, rig.reader.reset_eas, rig.reader.eas_alarm):
        with pytest.raises(TagError, match="cannot"):
            call(tag.uid)
    with pytest.raises(TagError, match="cannot"):
        rig.reader.eas_alarm()
    assert rig.field.tag(tag.uid).eas is True


def test_eas_set_reset_and_alarm(rig: Rig) -> None:
    if "eas" not in rig.features:
        pytest.skip(f"{rig.name} has no EAS commands")
    (tag,) = _place(rig, "B0012")
    rig.reader.reset_eas(tag.uid)
    assert rig.reader.eas_alarm(tag.uid) is False
    assert rig.reader.eas_alarm() is False
    rig.reader.set_eas(tag.uid)
    assert rig.reader.eas_alarm(tag.uid) is True
    assert rig.reader.eas_alarm() is True
    assert rig.field.tag(tag.uid).eas is True


def test_a_tag_that_left_is_not_found(rig: Rig) -> None:
    (tag,) = _place(rig, "B0013")
    rig.field.remove(tag.uid)
    assert rig.reader.inventory() == []
    with pytest.raises(TagNotFound):
        rig.reader.read_blocks(tag.uid, 0, 1)
    with pytest.raises(TagNotFound):
        rig.reader.write_blocks(tag.uid, 0, b"gone")
    if "air" in rig.features:
        with pytest.raises(TagNotFound):
            rig.reader.write_afi(tag.uid, 0xC2)


def test_a_missed_round_is_followed_by_a_good_one(rig: Rig) -> None:
    if "anticollision" not in rig.features:
        pytest.skip(f"{rig.name} shows one tag at a time")
    first, second = _place(rig, "B0014", "B0015")
    rig.field.faults.miss_rounds[first.uid] = 1
    assert [tag.uid for tag in rig.reader.inventory()] == [second.uid]
    assert {tag.uid for tag in rig.reader.inventory()} == {first.uid, second.uid}


def test_tag_leaving_during_a_write_is_reported_and_leaves_a_partial_write(rig: Rig) -> None:
    (tag,) = _place(rig, "B0016")
    rig.field.faults.leave_during_write.add(tag.uid)
    with pytest.raises(TagNotFound):
        rig.reader.write_blocks(tag.uid, 0, b"\xaa" * 8)
    memory = rig.field.tag(tag.uid).memory
    assert memory[:4] == b"\xaa" * 4 and memory[4:8] != b"\xaa" * 4
    rig.field.bring_back(tag.uid)
    rig.reader.write_blocks(tag.uid, 0, b"\xaa" * 8)
    assert rig.reader.read_blocks(tag.uid, 0, 2) == b"\xaa" * 8


def test_silent_write_failure_is_visible_on_read_back(rig: Rig) -> None:
    (tag,) = _place(rig, "B0017")
    rig.field.faults.silent_write_fail[tag.uid] = 1
    if "air" not in rig.features:
        rig.reader.write_blocks(tag.uid, 3, b"WXYZ")  # the tag said yes…
        assert rig.reader.read_blocks(tag.uid, 3, 1) == bytes(tag.memory[12:16]) != b"WXYZ"
        return
    rig.reader.write_afi(tag.uid, 0xC2)  # the tag said yes…
    assert rig.reader.system_info(tag.uid).afi == 0x07  # …and kept nothing


def test_noise_and_garbled_answers_on_the_line_are_survived(rig: Rig) -> None:
    tags = _place(rig, "B0018", "B0019")
    rig.field.faults.noise = True
    rig.field.faults.corrupt_answers = 1
    assert {t.uid for t in rig.reader.inventory()} == _expected_inventory(rig, tags)
    assert rig.reader.read_blocks(tags[0].uid, 0, 1) == bytes(tags[0].memory[:4])


def test_unplugged_reader_is_reported_and_recovers_without_restart(rig: Rig) -> None:
    (tag,) = _place(rig, "B0020")
    assert [t.uid for t in rig.reader.inventory()] == [tag.uid]
    rig.unplug()
    with pytest.raises(DeviceUnavailable):
        for _ in range(3):  # a driver may need one call to notice
            rig.reader.inventory()
    assert rig.reader.state is DeviceState.UNAVAILABLE
    rig.replug()
    assert _until_ready(rig.reader) == [tag.uid]
    assert rig.reader.state is DeviceState.READY


def test_uid_helper_is_stable() -> None:
    assert uid_for("B0001") == uid_for("B0001") != uid_for("B0002")


def test_verified_security_write_through_the_driver(rig: Rig) -> None:
    from drivers.security import set_security
    from protocols.tags import PRESETS

    (tag,) = _place(rig, "B0021")
    policy = PRESETS["afi+eas"] if "eas" in rig.features else PRESETS["afi"]
    if "air" not in rig.features:
        # A reader that cannot reach the AFI: a definite failure, at once, that the
        # engine treats as a refused tag (it undoes the loan) — never "secured".
        result = set_security(rig.reader, tag.uid, policy, secured=False)
        assert not result.verified and not result.tag_gone
        assert result.reason.startswith("tag refused") and "cannot" in result.reason
        assert result.attempts == 1
        assert rig.field.tag(tag.uid).afi == 0x07
        return
    result = set_security(rig.reader, tag.uid, policy, secured=False)
    assert result.verified and rig.field.tag(tag.uid).afi == 0xC2
    rig.field.faults.leave_during_write.add(tag.uid)
    result = set_security(rig.reader, tag.uid, policy, secured=True)
    assert not result.verified and result.tag_gone
