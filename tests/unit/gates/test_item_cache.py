"""The gate's cache of item ids stays bounded (issue 15): entries past ITEM_TTL leave as new
tags come, and ITEM_CACHE caps a flood of distinct tags within the hour. Real alarms on a
simulated reader: each distinct tag carried through is read and remembered once."""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest

import gates.controller
from drivers.sim.field import TagField, uid_for
from drivers.sim.reader import SimReader, item_tag
from engine.events import EventBus
from gates.controller import GateController
from tests.integration.test_gate import gate_config

DEADLINE = 10.0


def _alarm_of(events: queue.Queue[Any], item: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            event = events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no alarm for {item} within {DEADLINE} s") from None
        if event["event"] == "alarm" and event.get("item_id") == item:
            return


def _carry_distinct_tags(count: int) -> tuple[GateController, list[str]]:
    field = TagField()
    bus = EventBus()
    events = bus.subscribe()
    reader = SimReader("sim://cache?timing=0", field=field)
    gate = GateController(gate_config([reader.url]), bus, readers=[reader], survey_every=3600.0)
    gate.start()
    items = [f"C{n:05d}" for n in range(count)]
    try:
        for item in items:
            field.place(item_tag(item))
            _alarm_of(events, item)
            field.remove(uid_for(item))
    finally:
        gate.stop()
    return gate, items


def test_expired_entries_leave_as_new_tags_come(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates.controller, "ITEM_TTL", 0.0)
    gate, items = _carry_distinct_tags(12)
    # Each new tag's entry pushed out the older, expired ones: only the last may be left
    # (or none: a lookup of the last tag in a round after its alarm drops it, expired).
    assert list(gate._items) in ([], [uid_for(items[-1])])


def test_entries_within_their_time_stay_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates.controller, "ITEM_CACHE", 6)
    gate, items = _carry_distinct_tags(14)
    kept = list(gate._items)
    assert 0 < len(kept) <= 6
    # The newest are kept, in the order learnt (what expiry relies on).
    assert kept == [uid_for(item) for item in items[-len(kept) :]]


def test_a_cached_tag_learnt_again_moves_to_the_end() -> None:
    """The dict stays ordered by when each was learnt, so expiry looks only at its front."""
    gate = GateController(
        gate_config(["sim://order?timing=0"]),
        EventBus(),
        readers=[SimReader("sim://order?timing=0", field=TagField())],
    )
    first, second = uid_for("A0001"), uid_for("A0002")
    gate._remember(first, gates.controller._Item("A0001"))
    gate._remember(second, gates.controller._Item("A0002"))
    gate._remember(first, gates.controller._Item("A0001"))
    assert list(gate._items) == [second, first]
