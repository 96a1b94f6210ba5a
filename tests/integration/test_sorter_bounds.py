"""What the return machine keeps per item stays bounded on a machine at work all day (issue 15).

A stream of items without a minute's pause used to be one endless implicit drop, its
receipt lines and its "already sorted" set growing with every item; and the bus kept
the engine's 2,000 events, several per item.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sim.reader import item_tag
from sorter import intake
from sorter.flight import HISTORY
from tests.integration.sorter_rig import sorter_rig


def test_an_implicit_drop_ends_after_its_most_items_even_without_a_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "DROP_MOST", 2)
    with sorter_rig(tmp_path) as rig:
        labels = ["B0001", "B0002", "B0003", "B0004", "B0005"]
        items = rig.feed([item_tag(label) for label in labels])
        first = rig.wait_event("item")["item_id"]
        status = rig.sorter.status()
        assert first == "B0001" and status["drop"] is not None
        opened = status["drop"]["id"]
        told = [first] + [rig.wait_event("item")["item_id"] for _ in labels[1:]]
        rig.settle(items)
        assert sorted(told) == labels
        drop = rig.sorter.status()["drop"]
        assert drop["id"] != opened
        # The fifth item began the third drop. Its line is in it, and the fourth's only if
        # that one's checkin answered after the fifth was read (a loaded machine).
        assert 1 <= drop["items"] <= 2
        assert rig.sorter.sorted_in_drop == {"B0005"}


def test_the_machine_s_bus_keeps_a_short_history(tmp_path: Path) -> None:
    with sorter_rig(tmp_path, started=False) as rig:
        for n in range(HISTORY + 50):
            rig.sorter.bus.publish("probe", n=n)
        kept = rig.sorter.bus.history()
        assert len(kept) == HISTORY
        assert kept[-1]["n"] == HISTORY + 49
