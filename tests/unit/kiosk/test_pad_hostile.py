"""One bad tag never hides the others on the pad (issue 12, item 3).

Before: a tag whose memory made the decoder raise anything but TagDataError failed
the whole round, every round, and the pad stopped reporting items until the tag was
lifted. Now each tag is read and reported on its own, and rounds that keep failing
make the pad unhealthy (the watchdog stops being fed) and say so through on_state.
"""

from __future__ import annotations

import queue
import threading

from drivers.interfaces import DeviceError, DeviceState, TagSeen
from drivers.sim.field import SimTag, TagField, uid_for
from drivers.sim.reader import SimReader, item_tag
from kiosk import pad as pad_module
from kiosk.pad import PadTag, PadWatcher
from protocols.tags import TagData, encode

# ISO 28560-2: item 1, then a type of usage "zz" in octet string: plain ValueError before.
HOSTILE_MEMORY = bytes.fromhex("11 01 05  65 02 7A 7A  00")
HOSTILE_UID = uid_for("hostile")


class Recorder:
    def __init__(self) -> None:
        self.added: queue.Queue[PadTag] = queue.Queue()
        self.states: queue.Queue[tuple[DeviceState, str]] = queue.Queue()

    def item(self, item_id: str) -> PadTag:
        """The next added tag carrying ``item_id``, waiting at most 5 s."""
        seen: list[PadTag] = []
        while True:
            try:
                tag = self.added.get(timeout=5)
            except queue.Empty:
                raise AssertionError(f"{item_id} never reported; saw {seen}") from None
            if (
                tag.read is not None
                and tag.read.tag is not None
                and tag.read.tag.item_id == item_id
            ):
                return tag
            seen.append(tag)


def start(reader: SimReader, recorder: Recorder, **options: object) -> PadWatcher:
    pad = PadWatcher(
        reader,
        threading.RLock(),
        recorder.added.put,
        lambda uid: None,
        lambda state, detail: recorder.states.put((state, detail)),
        interval=0.0,
        **options,  # type: ignore[arg-type]
    )
    pad.start()
    return pad


def test_a_hostile_tag_does_not_stop_the_pad_reporting_the_others() -> None:
    field = TagField()
    field.place(SimTag.with_data(HOSTILE_UID, HOSTILE_MEMORY))  # first in every round
    field.place(item_tag("B0001"))
    recorder = Recorder()
    pad = start(SimReader("sim://pad-hostile?timing=0", field), recorder)
    try:
        book = recorder.item("B0001")
        assert book.read is not None and book.read.tag is not None
        field.place(item_tag("B0002"))  # and later ones too
        recorder.item("B0002")
        hostile = pad.present[HOSTILE_UID]
        assert hostile.read is not None and hostile.read.tag is None  # reported unreadable
        assert "type of usage" in hostile.read.error
        assert pad.healthy(10.0)
    finally:
        pad.stop()


class BrokenForOneTag(SimReader):
    """A reader whose answer for one tag makes it fail in a way no driver should."""

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes:
        if uid == HOSTILE_UID:
            raise IndexError("reader driver bug")
        return super().read_blocks(uid, first, count)


def test_an_unexpected_failure_stays_with_its_tag() -> None:
    field = TagField()
    field.place(SimTag.with_data(HOSTILE_UID, encode(TagData("iso28560-3", "X1"))))
    field.place(item_tag("B0003"))
    recorder = Recorder()
    pad = start(BrokenForOneTag("sim://pad-broken?timing=0", field), recorder)
    try:
        recorder.item("B0003")
        hostile = pad.present[HOSTILE_UID]
        assert hostile.read is not None and hostile.read.tag is None
        assert "IndexError" in hostile.read.error
    finally:
        pad.stop()


def test_a_callback_failing_for_one_tag_does_not_hide_the_next() -> None:
    field = TagField()
    field.place(item_tag("B0004"))
    field.place(item_tag("B0005"))
    recorder = Recorder()
    rounds: dict[str, int] = {}

    def on_added(tag: PadTag) -> None:
        assert tag.read is not None and tag.read.tag is not None
        rounds[tag.read.tag.item_id] = pad.rounds
        if tag.read.tag.item_id == "B0004":
            raise RuntimeError("the engine choked on this one")
        recorder.added.put(tag)

    pad = PadWatcher(
        SimReader("sim://pad-callback?timing=0", field),
        threading.RLock(),
        on_added,
        lambda uid: None,
        lambda state, detail: None,
        interval=0.0,
    )
    pad.start()
    try:
        recorder.item("B0005")
        assert rounds == {"B0004": 1, "B0005": 1}  # in the same round, not one round later
    finally:
        pad.stop()


class FailingInventory(SimReader):
    """Inventory answers that cannot be understood, until ``healed`` is set."""

    def __init__(self, url: str, field: TagField) -> None:
        super().__init__(url, field)
        self.healed = threading.Event()

    def inventory(self) -> list[TagSeen]:
        if not self.healed.is_set():
            raise DeviceError("garbled inventory answer")
        return super().inventory()


def test_rounds_failing_again_and_again_make_the_pad_unhealthy() -> None:
    field = TagField()
    field.place(item_tag("B0006"))
    reader = FailingInventory("sim://pad-failing?timing=0", field)
    recorder = Recorder()
    pad = start(reader, recorder)
    try:
        state, detail = recorder.states.get(timeout=5)  # 5 rounds, 0.2 s apart
        assert state is DeviceState.UNAVAILABLE
        assert f"{pad_module.FAILED_ROUNDS} rounds in a row failed" in detail
        assert "garbled inventory answer" in detail
        assert not pad.healthy(10.0)  # the watchdog is no longer fed
        reader.healed.set()
        assert recorder.states.get(timeout=5) == (DeviceState.READY, "")
        assert pad.healthy(10.0)
        recorder.item("B0006")
    finally:
        pad.stop()
