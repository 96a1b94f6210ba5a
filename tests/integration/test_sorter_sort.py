"""The return machine sorts real checkin answers of the ILS simulator over TCP on a
simulated belt: the ILS's sort bin (CL), a hold here (CV 01), a hold elsewhere (CV 02)."""

from __future__ import annotations

from pathlib import Path

from drivers.sim.conveyor import Fate
from drivers.sim.reader import item_tag
from tests.integration.sorter_rig import sorter_rig


def test_cl_hold_and_transit_each_reach_their_bin(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        items = rig.feed([item_tag("B0001"), item_tag("B0009"), item_tag("B0011")])
        told = {rig.wait_event("item")["item_id"]: None for _ in range(3)}
        rig.settle(items)
        assert set(told) == {"B0001", "B0009", "B0011"}
        # Diverters 1, 2, 3 are the bins "1", "hold", "transit".
        assert [(i.fate, i.bin) for i in items] == [
            (Fate.IN_BIN, 1),
            (Fate.IN_BIN, 2),
            (Fate.IN_BIN, 3),
        ]
        rig.wait_until(lambda: rig.sorter.status()["on_belt"] == 0)
        # Nothing left to count: the counts a client reads now are final.
        assert rig.counts() == {"1": 1, "hold": 1, "transit": 1, "x": 0}
        # Checked in at the ILS, and secured: the tag worker read the security back.
        assert rig.sorter.journal.latest("B0009").state == "done"
