"""No transaction done, or counted, twice: the journal refuses to move one at rest, and a
flagged item that comes back twice is finished once."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.field import TagField
from drivers.sim.reader import SimReader, item_tag
from engine.circulation.steps import Circulation
from engine.journal.store import AtRest, Journal, Txn
from protocols.tags import PRESETS


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal.open(tmp_path / "journal.sqlite")
    yield journal
    journal.close()


def flagged_checkout(journal: Journal, uid: bytes) -> Txn:
    txn = journal.begin(
        "checkout",
        "B0001",
        (uid,),
        patron_id="P0001",
        patron_ref="ref",
        session_id="s",
        transaction_date=datetime.now(),
        security_target=False,
    )
    journal.step(txn.id, "securing")
    return journal.step(txn.id, "flagged", outcome="security_failed", detail="tag left")


def test_a_transaction_at_rest_never_moves_again(journal: Journal) -> None:
    txn = flagged_checkout(journal, b"\x01" * 8)
    journal.step(txn.id, "done", count="checkout")
    with pytest.raises(AtRest, match="already done"):
        journal.step(txn.id, "done", count="checkout")
    assert journal.steps(txn.id) == ["started", "securing", "flagged", "done"]
    assert [count for _hour, kind, count in journal.hourly() if kind == "checkout"] == [1]


def test_a_flagged_item_back_twice_is_finished_once(journal: Journal) -> None:
    field = TagField()
    tag = field.place(item_tag("B0001", afi=0x07))
    reader = SimReader("sim://pad-once?timing=0", field)
    reader.open()
    lock = threading.RLock()
    results: queue.Queue[dict[str, Any]] = queue.Queue()
    circulation = Circulation(
        journal,
        object(),  # type: ignore[arg-type]  # no ILS call on this path
        reader,
        lock,
        PRESETS["afi"],
        on_result=results.put,
    )
    circulation.start()
    try:
        txn = flagged_checkout(journal, tag.uid)
        with lock:  # the worker waits for the reader while the tag "arrives" twice
            circulation.finish(txn)
            circulation.finish(txn)
        assert circulation.wait_idle(5)
        assert results.get(timeout=5)["outcome"] == "checked_out"
        assert results.empty()
        circulation.finish(txn)  # a stale snapshot, once more: the journal says done
        assert circulation.wait_idle(5)
        assert results.empty()
    finally:
        circulation.stop()
    assert journal.steps(txn.id) == ["started", "securing", "flagged", "securing", "done"]
    assert [count for _hour, kind, count in journal.hourly() if kind == "checkout"] == [1]
    assert field.tag(tag.uid).afi == 0xC2
