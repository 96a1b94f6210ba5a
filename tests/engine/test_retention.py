"""The maintenance loop forgets who borrowed what once the retention period has passed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ilssim.server import SimServerThread
from ilssim.store import Store
from tests.engine.harness import Kiosk, wait_for, write_config


def test_loans_are_forgotten_after_retention_and_statistics_stay(
    tmp_path: Path, ils: tuple[SimServerThread, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.core import Engine

    monkeypatch.setattr(Engine, "maintenance_every", 0.05)
    kiosk = Kiosk(write_config(tmp_path, ils[0].port, extra="\n[journal]\nretention_days = 7\n"))
    try:
        journal = kiosk.engine.journal
        started = journal.now()
        kiosk.engine.retention_clock = lambda: started  # day 0: nothing is old enough
        kiosk.call("identify", method="typed", value="P0001")
        kiosk.call("pin", pin="1234")
        kiosk.call("sim_place", item_id="B0001")
        kiosk.event("item", outcome="checked_out", item_id="B0001")
        kiosk.call("done")
        kiosk.call("receipt", method="none")
        assert [t.item_id for t in journal.all()] == ["B0001"]
        # Six days later: still kept. Eight days later: forgotten at the next pass.
        kiosk.engine.retention_clock = lambda: started + timedelta(days=6)
        wait_for(lambda: kiosk.engine._pruned_at == started + timedelta(days=6), 5, "a pass")
        assert len(journal.all()) == 1
        kiosk.engine.retention_clock = lambda: started + timedelta(days=8)
        wait_for(lambda: not journal.all(), 5, "the loan forgotten")
        assert [(kind, n) for _, kind, n in journal.hourly()] == [("checkout", 1)]
        assert kiosk.call("statistics")["hours"][0]["count"] == 1
    finally:
        kiosk.close()
