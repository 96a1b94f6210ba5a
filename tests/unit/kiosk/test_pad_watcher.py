"""The pad's inventory gives the antenna to the security writer while items are in work."""

from __future__ import annotations

import queue
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from drivers.sim.field import TagField
from drivers.sim.reader import SimReader, item_tag
from engine.circulation.steps import Circulation
from engine.journal.store import Journal
from kiosk.pad import PadTag, PadWatcher
from protocols.tags import PRESETS


def watcher(
    field: TagField, added: queue.Queue[PadTag], **gates: Any
) -> tuple[PadWatcher, SimReader]:
    reader = SimReader("sim://pad-watcher?timing=0", field)
    pad = PadWatcher(
        reader,
        threading.RLock(),
        added.put,
        lambda uid: None,
        lambda state, detail: None,
        interval=0.0,
        **gates,
    )
    return pad, reader


def test_rounds_wait_while_items_are_in_work_then_only_for_an_idle_writer() -> None:
    field = TagField()
    added: queue.Queue[PadTag] = queue.Queue()
    never = threading.Event()
    writer_free = threading.Event()
    writer_waited = threading.Event()
    rounds: dict[str, int] = {}

    def in_work(timeout: float) -> bool:
        rounds.setdefault("circulation", pad.rounds)
        return never.wait(timeout)

    def writer_idle(timeout: float) -> bool:
        rounds.setdefault("writer", pad.rounds)
        writer_waited.set()
        return writer_free.wait(timeout)

    pad, _ = watcher(
        field, added, busy_interval=1.0, wait_idle=in_work, wait_writer_idle=writer_idle
    )
    pad.start()
    try:
        assert writer_waited.wait(5)
        field.place(item_tag("B0001"))
        # A whole busy interval went by without a round, and the loop now waits for the
        # writer: still none may see the new tag.
        assert rounds["writer"] == rounds["circulation"]
        assert added.empty()
        writer_free.set()
        assert added.get(timeout=5).read is not None
    finally:
        writer_free.set()
        pad.stop()


def test_stop_is_not_kept_waiting_by_items_in_work() -> None:
    never = threading.Event()
    waiting = threading.Event()

    def in_work(timeout: float) -> bool:
        waiting.set()
        return never.wait(timeout)

    pad, _ = watcher(
        TagField(), queue.Queue(), busy_interval=60, wait_idle=in_work, wait_writer_idle=in_work
    )
    pad.start()
    assert waiting.wait(5)
    pad.stop()
    assert pad._thread is not None
    assert not pad._thread.is_alive()


def test_rounds_go_on_at_once_when_nothing_is_in_work() -> None:
    field = TagField()
    added: queue.Queue[PadTag] = queue.Queue()
    asked: list[str] = []

    def writer_idle(timeout: float) -> bool:
        asked.append("writer")
        return True

    pad, _ = watcher(field, added, wait_idle=lambda t: True, wait_writer_idle=writer_idle)
    pad.start()
    try:
        field.place(item_tag("B0002"))
        assert added.get(timeout=5).read is not None
        assert asked == []  # idle circulation: the writer is never waited for
    finally:
        pad.stop()


def test_circulation_reports_when_its_tag_worker_is_idle(tmp_path: Path) -> None:
    field = TagField()
    tag = field.place(item_tag("B0003"))
    reader = SimReader("sim://pad-idle?timing=0", field)
    reader.open()
    lock = threading.RLock()
    journal = Journal.open(tmp_path / "journal.sqlite")
    results: queue.Queue[dict[str, Any]] = queue.Queue()
    circulation = Circulation(
        journal,
        object(),
        reader,
        lock,
        PRESETS["afi"],
        on_result=results.put,  # type: ignore[arg-type]
    )
    circulation.start()
    try:
        txn = journal.begin(
            "checkin",
            "B0003",
            (tag.uid,),
            patron_id=None,
            patron_ref=None,
            session_id=None,
            transaction_date=datetime.now(),
            security_target=True,
        )
        assert circulation.wait_tags_idle(0)
        with lock:  # the reader is held: the tag worker cannot finish its job
            circulation.finish(txn)
            assert not circulation.wait_tags_idle(0.05)
        assert circulation.wait_tags_idle(5)
        assert results.get(timeout=5)["outcome"] == "returned"
    finally:
        circulation.stop()
        journal.close()
