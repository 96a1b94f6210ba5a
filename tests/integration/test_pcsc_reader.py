"""The PC/SC driver against a real pcscd, vsmartcard's virtual reader and a virtual ISO 15693 tag.

The rig (tests/contract/rigs/pcsc.py) skips when pcscd, vpcd or pyscard are
missing; everything else here runs the real PC/SC stack end to end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from drivers.interfaces import (
    DeviceError,
    DeviceState,
    DeviceUnavailable,
    TagError,
    TagNotFound,
    TagReader,
    TagSeen,
)
from drivers.pcsc_reader import PcscReader, ReaderCannot
from drivers.registry import open_device
from drivers.security import set_security
from drivers.sim.field import SimTag, uid_for
from drivers.tag_memory import TagRead
from protocols.readers import pcsc
from protocols.tags import PRESETS
from tests.contract.rigs.base import Rig
from tests.contract.rigs.pcsc import URL as pcsc_url
from tests.contract.rigs.pcsc import rig as pcsc_rig
from tests.contract.rigs.vpcd_card import (
    SingleBlockStorageCardLogic,
    StorageCardLogic,
    TagCardLogic,
)

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


def test_a_filtered_inventory_hears_only_secured_tags(rig: Rig) -> None:
    """Issue 17: the AFI flag in every one-slot inventory of the walk, so a gate's alarm
    round through PC/SC hears the secured book and none of the lent ones."""
    lent = [rig.field.place(_tag(f"lent-{n}", afi=0xC2)) for n in range(5)]
    secured = rig.field.place(_tag("shelf-1", afi=0x07))
    reader = rig.reader
    assert isinstance(reader, PcscReader)
    assert reader.filters_afi
    assert [t.uid for t in reader.inventory(afi=0x07)] == [secured.uid]
    assert {t.uid for t in reader.inventory()} == {t.uid for t in [*lent, secured]}
    assert reader.inventory(afi=0x42) == []


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


# --- a reader with the storage-card commands only (no transparent session) ------------------


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Rig]:
    with pcsc_rig(tmp_path, StorageCardLogic, "pcsc-storage", frozenset()) as made:
        yield made


def test_storage_reader_reads_and_writes_the_card_and_says_once_it_cannot_secure(
    storage: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    reader = storage.reader
    assert isinstance(reader, PcscReader)
    tag = storage.field.place(_tag("st-1", b"0123456789abcdef", afi=0x07, eas=True))
    assert reader.security_writable is None  # not known before the first exchange
    assert [t.uid for t in reader.inventory()] == [tag.uid]
    assert reader.read_blocks(tag.uid, 0, 4) == b"0123456789abcdef"
    reader.write_blocks(tag.uid, 1, b"WXYZwxyz")
    assert bytes(tag.memory[:16]) == b"0123WXYZwxyz cdef".replace(b" ", b"")
    caplog.set_level(logging.INFO, logger="drivers.pcsc_reader")
    for call in (
        lambda: reader.write_afi(tag.uid, 0xC2),
        lambda: reader.lock_afi(tag.uid),
        lambda: reader.set_eas(tag.uid),
        lambda: reader.reset_eas(tag.uid),
        lambda: reader.system_info(tag.uid),
        lambda: reader.eas_alarm(tag.uid),
        reader.eas_alarm,
    ):
        with pytest.raises(ReaderCannot, match="cannot") as refused:
            call()
        assert isinstance(refused.value, TagError) and refused.value.code == 0x01
    assert (tag.afi, tag.eas, tag.afi_locked) == (0x07, True, False)  # nothing reached the tag
    assert reader.inventory() == [TagSeen(uid=tag.uid)]  # still in service for the data
    told = [r for r in caplog.records if "no transparent exchange" in r.getMessage()]
    assert len(told) == 1 and told[0].levelno == logging.WARNING
    status = reader.status()
    assert status["security_writable"] is False and reader.security_writable is False
    assert "cannot read or write AFI, EAS" in str(status["limitation"])


def test_storage_reader_never_passes_the_card_off_as_filtered(storage: Rig) -> None:
    """Without a transparent exchange the AFI cannot go on the air: a filtered inventory
    is refused, never answered with the card (which may be a lent book)."""
    reader = storage.reader
    assert isinstance(reader, PcscReader)
    storage.field.place(_tag("st-lent", b"0123456789abcdef", afi=0xC2))
    with pytest.raises(ReaderCannot):
        reader.inventory(afi=0x07)
    assert reader.filters_afi is False
    with pytest.raises(ReaderCannot):
        reader.inventory(afi=0x07)


def test_storage_reader_security_write_fails_at_once_as_a_refusal(storage: Rig) -> None:
    tag = storage.field.place(_tag("st-2", afi=0x07))
    for preset in ("afi", "eas", "afi+eas", "3m"):
        for secured in (False, True):
            result = set_security(storage.reader, tag.uid, PRESETS[preset], secured)
            assert not result.verified and result.attempts == 1, preset
            assert result.reason.startswith("tag refused") and not result.tag_gone
    assert tag.afi == 0x07


def test_storage_reader_block_errors(storage: Rig) -> None:
    tag = storage.field.place(_tag("st-3", b"keep", blocks=8))
    tag.locked_blocks.add(2)
    with pytest.raises(TagError) as past_end:  # first block past the end: 6A82
        storage.reader.read_blocks(tag.uid, 8, 1)
    assert past_end.value.code == 0x10
    wide = open_device(storage.reader.url + "&blocks_per_read=4")
    try:
        with pytest.raises(TagError) as runs_past:  # range runs past the end: 6B00
            wide.read_blocks(tag.uid, 6, 4)
        assert runs_past.value.code == 0x10
        assert wide.read_blocks(tag.uid, 4, 4) == bytes(16)
    finally:
        wide.close()
    with pytest.raises(TagError) as locked:  # 6981
        storage.reader.write_blocks(tag.uid, 2, b"lock")
    assert locked.value.code == 0x12
    with pytest.raises(TagError) as beyond:
        storage.reader.write_blocks(tag.uid, 8, b"over")
    assert beyond.value.code == 0x10
    assert bytes(tag.memory[:4]) == b"keep" and len(tag.memory) == 32


def test_storage_reader_sees_one_tag_and_reaches_no_other(storage: Rig) -> None:
    first = storage.field.place(_tag("st-4", b"card"))
    second = storage.field.place(_tag("st-5", b"hide"))
    assert [t.uid for t in storage.reader.inventory()] == [first.uid]
    with pytest.raises(TagNotFound):
        storage.reader.read_blocks(second.uid, 0, 1)
    with pytest.raises(TagNotFound):
        storage.reader.write_blocks(second.uid, 0, b"nope")
    assert bytes(second.memory[:4]) == b"hide"
    storage.field.remove(first.uid)
    assert [t.uid for t in storage.reader.inventory()] == [second.uid]
    assert storage.reader.read_blocks(second.uid, 0, 1) == b"hide"


def test_reader_of_one_block_per_read_is_followed(tmp_path: Path) -> None:
    url = pcsc_url + "&blocks_per_read=4"
    with pcsc_rig(tmp_path, SingleBlockStorageCardLogic, "one-block", frozenset(), url) as rig:
        tag = rig.field.place(_tag("st-6", bytes(range(40))))
        assert rig.reader.read_blocks(tag.uid, 1, 9) == bytes(range(4, 40))
        assert isinstance(rig.reader, PcscReader) and rig.reader.blocks_per_read == 1


def test_block_size_that_the_reader_contradicts_is_named(tmp_path: Path) -> None:
    url = pcsc_url + "&block_size=8"
    with pcsc_rig(tmp_path, SingleBlockStorageCardLogic, "one-block", frozenset(), url) as rig:
        tag = rig.field.place(_tag("st-7"))
        with pytest.raises(TagError, match="block_size"):
            rig.reader.read_blocks(tag.uid, 0, 1)


class HostileLogic(StorageCardLogic):
    """A reader that answers read and update binary with whatever ``script`` holds next."""

    script: ClassVar[list[bytes]] = []

    def _read_binary(self, command: pcsc.CommandApdu) -> bytes:
        return self.script.pop(0) if self.script else super()._read_binary(command)

    def _update_binary(self, command: pcsc.CommandApdu) -> bytes:
        return self.script.pop(0) if self.script else super()._update_binary(command)


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ("313233 9000", TagNotFound, None),  # short
        ("3132333435 9000", TagNotFound, None),  # over-long
        ("31323334353637383940414243444546 9000", TagNotFound, None),
        ("90", TagNotFound, None),  # not even a status word (an empty one stalls vpcd itself)
        ("1234", TagError, None),  # a status word nobody defined
        ("6F00", TagError, None),
        ("6A81", TagError, None),
        ("6C03", TagError, None),  # "give me 3 bytes": not a whole block
        ("6581", TagError, 0x13),
        ("31323334 6282", TagError, 0x10),
    ],
)
def test_hostile_answers_give_the_declared_errors(
    tmp_path: Path, answer: str, error: type[Exception], code: int | None
) -> None:
    with pcsc_rig(tmp_path, HostileLogic, "hostile", frozenset()) as rig:
        tag = rig.field.place(_tag("st-8", b"good"))
        HostileLogic.script[:] = [bytes.fromhex(answer.replace(" ", ""))] * 2
        with pytest.raises(error) as caught:
            rig.reader.read_blocks(tag.uid, 0, 1)
        assert type(caught.value) is error
        assert getattr(caught.value, "code", None) == code
        HostileLogic.script[:] = [bytes.fromhex(answer.replace(" ", ""))]
        with pytest.raises(DeviceError):
            rig.reader.write_blocks(tag.uid, 0, b"evil")
        HostileLogic.script.clear()
        assert rig.reader.read_blocks(tag.uid, 0, 1) == b"good"  # and the reader goes on


def test_reader_scan_shows_the_data_through_a_storage_only_reader(storage: Rig) -> None:
    from drivers.cli_reader import _scan_round
    from drivers.sim.reader import item_tag

    tag = storage.field.place(item_tag("B0031", "VN-HN0001"))
    cache: dict[bytes, TagRead] = {}
    (row,) = _scan_round(storage.reader, cache)
    assert row["uid"] == tag.uid.hex().upper()
    assert (row["model"], row["item_id"], row["owner"]) == ("iso28560-3", "B0031", "VN-HN0001")
    assert (row["afi"], row["eas"]) == (None, None)  # unknown, not "released"
    (again,) = _scan_round(storage.reader, cache)
    assert again == row


class RefusesSessionsLogic(TagCardLogic):
    """A reader with the transparent exchange that refuses ``refuse`` session starts with a
    bare 6A81 (a firmware hiccup), then works again."""

    refuse: ClassVar[int] = 0

    def _transparent(self, command: pcsc.CommandApdu) -> bytes:
        starts = command.p2 == pcsc.P2_MANAGE_SESSION and command.data[-2:] == b"\x81\x00"
        if starts and RefusesSessionsLogic.refuse > 0:
            RefusesSessionsLogic.refuse -= 1
            return pcsc.response(sw=0x6A81)
        return super()._transparent(command)


def test_one_refused_session_does_not_write_a_good_reader_off(tmp_path: Path) -> None:
    RefusesSessionsLogic.refuse = 0
    with pcsc_rig(tmp_path, RefusesSessionsLogic, "hiccup") as rig:
        tag = rig.field.place(_tag("st-9", afi=0x07))
        rig.reader.write_afi(tag.uid, 0xC2)
        assert isinstance(rig.reader, PcscReader) and rig.reader.security_writable is True
        RefusesSessionsLogic.refuse = 1
        with pytest.raises(DeviceError) as refused:
            rig.reader.write_afi(tag.uid, 0x07)
        assert not isinstance(refused.value, TagError)  # not "this reader cannot"
        assert rig.reader.security_writable is True and tag.afi == 0xC2
        RefusesSessionsLogic.refuse = 1
        result = set_security(rig.reader, tag.uid, PRESETS["afi"], secured=True)
        assert result.verified and result.attempts == 2 and tag.afi == 0x07
