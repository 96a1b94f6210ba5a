"""The PC/SC driver against a real pcscd, vsmartcard's virtual reader and a virtual ISO 15693 tag.

The rig (tests/contract/rigs/pcsc.py) skips when pcscd, vpcd or pyscard are
missing; everything else here runs the real PC/SC stack end to end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.interfaces import DeviceState, DeviceUnavailable, TagError, TagNotFound, TagReader
from drivers.pcsc_reader import PcscReader
from drivers.registry import open_device
from drivers.sim.field import SimTag, uid_for
from tests.contract.rigs.base import Rig
from tests.contract.rigs.pcsc import rig as pcsc_rig

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with pcsc_rig(tmp_path) as made:
        yield made


def _tag(label: str, data: bytes = b"", **kwargs: object) -> SimTag:
    return SimTag.with_data(uid_for(label), data, **kwargs)  # type: ignore[arg-type]


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except DeviceUnavailable:
            pass
        pause.wait(0.05)
    return False


def test_opened_by_url_is_a_tag_reader(rig: Rig) -> None:
    assert isinstance(rig.reader, PcscReader)
    assert isinstance(rig.reader, TagReader)
    rig.reader.open()
    assert rig.reader.state is DeviceState.READY
    assert rig.reader.reader_name == "Virtual PCD 00 00"


def test_inventory_sees_the_tag_and_nothing_without_it(rig: Rig) -> None:
    assert rig.reader.inventory() == []
    tag = rig.field.place(_tag("item-1"))
    (seen,) = rig.reader.inventory()
    assert seen.uid == tag.uid and seen.uid[0] == 0xE0
    rig.field.remove(tag.uid)
    assert rig.reader.inventory() == []
    with pytest.raises(TagNotFound):
        rig.reader.read_blocks(tag.uid, 0, 1)


def test_blocks_round_trip(rig: Rig) -> None:
    tag = rig.field.place(_tag("item-2", b"0123456789abcdef"))
    assert rig.reader.read_blocks(tag.uid, 0, 4) == b"0123456789abcdef"
    rig.reader.write_blocks(tag.uid, 2, b"WXYZwxyz")
    assert rig.reader.read_blocks(tag.uid, 1, 3) == b"4567WXYZwxyz"
    assert bytes(tag.memory[8:16]) == b"WXYZwxyz"


def test_blocks_in_bigger_reads(tmp_path: Path, rig: Rig) -> None:
    tag = rig.field.place(_tag("item-3", bytes(range(40))))
    reader = open_device("pcsc://Virtual%20PCD%2000%2000?blocks_per_read=4")
    try:
        assert reader.read_blocks(tag.uid, 1, 9) == bytes(range(4, 40))
    finally:
        reader.close()


def test_locked_and_missing_blocks_are_tag_errors(rig: Rig) -> None:
    tag = rig.field.place(_tag("item-4", blocks=8))
    tag.locked_blocks.add(1)
    with pytest.raises(TagError) as locked:
        rig.reader.write_blocks(tag.uid, 1, b"abcd")
    assert locked.value.code == 0x12
    with pytest.raises(TagError) as missing:
        rig.reader.read_blocks(tag.uid, 7, 2)
    assert missing.value.code == 0x10


def test_afi_written_is_read_back_through_system_info(rig: Rig) -> None:
    tag = rig.field.place(_tag("item-5", afi=0x07))
    info = rig.reader.system_info(tag.uid)
    assert (info.uid, info.afi, info.block_size, info.block_count) == (tag.uid, 0x07, 4, 28)
    rig.reader.write_afi(tag.uid, 0xC2)
    assert rig.reader.system_info(tag.uid).afi == 0xC2 == tag.afi
    rig.reader.lock_afi(tag.uid)
    with pytest.raises(TagError) as locked:
        rig.reader.write_afi(tag.uid, 0x07)
    assert locked.value.code == 0x12
    assert tag.afi == 0xC2


def test_eas_set_reset_and_alarm(rig: Rig) -> None:
    tag = rig.field.place(_tag("item-6", eas=False))
    assert rig.reader.eas_alarm(tag.uid) is False
    assert rig.reader.eas_alarm() is False
    rig.reader.set_eas(tag.uid)
    assert tag.eas and rig.reader.eas_alarm(tag.uid) and rig.reader.eas_alarm()
    rig.reader.reset_eas(tag.uid)
    assert not tag.eas and not rig.reader.eas_alarm(tag.uid)


def test_anticollision_lists_a_whole_stack(rig: Rig) -> None:
    tags = [rig.field.place(_tag(f"stack-{n}")) for n in range(20)]
    assert {t.uid for t in rig.reader.inventory()} == {t.uid for t in tags}


def test_without_anticollision_only_the_card_is_seen(rig: Rig) -> None:
    first = rig.field.place(_tag("item-card"))
    rig.field.place(_tag("item-other"))
    reader = open_device("pcsc://Virtual%20PCD?anticollision=no")
    try:
        assert [t.uid for t in reader.inventory()] == [first.uid]
    finally:
        reader.close()


def test_commands_reach_a_tag_that_is_not_the_card(rig: Rig) -> None:
    first = rig.field.place(_tag("item-7"))
    second = rig.field.place(_tag("item-8", b"second tag data!", afi=0x07))
    assert {t.uid for t in rig.reader.inventory()} == {first.uid, second.uid}
    rig.reader.write_afi(second.uid, 0xC2)
    assert second.afi == 0xC2
    assert rig.reader.read_blocks(second.uid, 1, 3) == b"nd tag data!"
    rig.reader.write_blocks(second.uid, 0, b"SEC0")
    assert bytes(second.memory[:4]) == b"SEC0"
    gone = uid_for("not here")
    with pytest.raises(TagNotFound):
        rig.reader.system_info(gone)
    with pytest.raises(TagNotFound):
        rig.reader.read_blocks(gone, 0, 1)
    assert rig.reader.eas_alarm(gone) is False


def test_tag_replaced_by_another(rig: Rig) -> None:
    first = rig.field.place(_tag("item-9"))
    rig.field.remove(first.uid)
    second = rig.field.place(_tag("item-10", b"next"))
    assert [t.uid for t in rig.reader.inventory()] == [second.uid]
    assert rig.reader.read_blocks(second.uid, 0, 1) == b"next"
    with pytest.raises(TagNotFound):
        rig.reader.read_blocks(first.uid, 0, 1)


def test_tag_leaving_during_a_write(rig: Rig) -> None:
    tag = rig.field.place(_tag("item-11"))
    rig.field.faults.leave_during_write.add(tag.uid)
    with pytest.raises(TagNotFound):
        rig.reader.write_blocks(tag.uid, 0, b"abcdefgh")
    assert bytes(tag.memory[:4]) == b"abcd"
    assert _eventually(lambda: rig.reader.inventory() == [])


def test_missed_round_is_followed_by_a_good_one(rig: Rig) -> None:
    tag = rig.field.place(_tag("item-12"))
    other = rig.field.place(_tag("item-12b"))
    rig.field.faults.miss_rounds[tag.uid] = 1
    assert [t.uid for t in rig.reader.inventory()] == [other.uid]
    assert {t.uid for t in rig.reader.inventory()} == {tag.uid, other.uid}


def test_unplug_and_replug_recovers_without_a_new_driver(rig: Rig) -> None:
    tag = rig.field.place(_tag("item-13", b"keep"))
    assert [t.uid for t in rig.reader.inventory()] == [tag.uid]
    rig.unplug()
    with pytest.raises(DeviceUnavailable):
        rig.reader.inventory()
    assert rig.reader.state is DeviceState.UNAVAILABLE
    with pytest.raises(DeviceUnavailable):
        rig.reader.read_blocks(tag.uid, 0, 1)
    rig.replug()
    assert _eventually(lambda: [t.uid for t in rig.reader.inventory()] == [tag.uid])
    assert rig.reader.state is DeviceState.READY
    assert rig.reader.read_blocks(tag.uid, 0, 1) == b"keep"


def test_no_matching_reader_is_unavailable(rig: Rig) -> None:
    reader = open_device("pcsc://No%20such%20reader")
    with pytest.raises(DeviceUnavailable):
        reader.open()
    assert reader.state is DeviceState.UNAVAILABLE
    with pytest.raises(DeviceUnavailable, match="next try"):
        reader.inventory()
    reader.close()
    assert reader.state is DeviceState.CLOSED
