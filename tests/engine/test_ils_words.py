"""What the ILS says reaches the patron and the return machine: AF on a block, CL on a return."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.journal.models import JournalStep
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.api import CommandFailed
from tests.engine.harness import Kiosk, final_item, login, write_config


def test_a_patron_blocked_for_fines_reads_the_ils_explanation(kiosk: Kiosk) -> None:
    with pytest.raises(CommandFailed) as blocked:
        login(kiosk, "P0003", "3456")
    error = blocked.value.error
    assert error["code"] == "patron_blocked"
    assert error["en"] == "This library card is blocked"
    assert error["ils_message"] == "Bạn đang nợ 60.000 VND, vượt mức cho phép 50.000 VND."
    assert "P0003" not in json.dumps(error)
    assert kiosk.call("status")["session"] is None


def test_the_checkin_sort_bin_is_kept(tmp_path: Path, ils: tuple[SimServerThread, Store]) -> None:
    kiosk = Kiosk(write_config(tmp_path, ils[0].port, role="return"))
    try:
        kiosk.call("sim_place", item_id="B0018")  # a CD: the ILS sorts it to bin 2
        returned = final_item(kiosk, "B0018")
        assert returned["outcome"] == "returned" and returned["sort_bin"] == "2"
        (txn,) = kiosk.engine.journal.all()
        with kiosk.engine.journal.read() as session:
            notes = session.scalars(
                select(JournalStep.detail).where(
                    JournalStep.transaction_id == txn.id, JournalStep.step == "ils_ok"
                )
            ).all()
        assert [json.loads(n) for n in notes] == [{"sort_bin": "2"}]
    finally:
        kiosk.close()
