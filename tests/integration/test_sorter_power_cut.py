"""Power cut with three items on the belt: a real sorter process killed (SIGKILL) at the
third item's checkin; the restarted sorter reports the items that were checked in but not
yet in a bin, and no item is ever checked in twice."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from engine.config import parse_config
from engine.ils.client import IlsClient
from engine.ils.url import parse_ils_url
from sorter.service import build_sorter
from tests.integration.sim_helpers import running_sim
from tests.integration.sorter_rig import CONFIG, RATE, ZONE, ils_url

ROOT = Path(__file__).resolve().parents[2]
ITEMS = ("B0001", "B0009", "B0011")


def config_text(tmp_path: Path, port: int, name: str) -> str:
    text = CONFIG.format(
        data_dir=tmp_path,
        name=name,
        rate=RATE,
        late="hold_belt",
        owners="[]",
        capacity=50,
        overflow='overflow = "x"',
        transit_capacity=50,
        exception_capacity=100,
        extra="",
        zone=ZONE,
        printer="",
        more="",
    )
    return text.replace('url = "sip2+sim://"', f'url = "{ils_url(port)}"')


@pytest.mark.parametrize("crash_at", ["checkin:ils_ok#3", "checkin:started#3"])
def test_three_items_on_the_belt_at_a_power_cut(tmp_path: Path, crash_at: str) -> None:
    with running_sim() as sim:
        path = tmp_path / "sorter.toml"
        path.write_text(config_text(tmp_path, sim.port, "cut-a"), encoding="utf-8")
        child = subprocess.run(
            [sys.executable, "-m", "tests.integration.sorter_child", str(path), *ITEMS],
            cwd=ROOT,
            env={**os.environ, "MUONTRA_CRASH_AT": crash_at},
            capture_output=True,
            timeout=90,
            check=False,
        )
        assert child.returncode == -9, child.stderr.decode()[-2000:]

        # The power is back: the same data directory, a belt with nothing on it.
        config = parse_config(config_text(tmp_path, sim.port, "cut-b"))
        with ExitStack() as stack:
            ils = stack.enter_context(IlsClient(parse_ils_url(ils_url(sim.port))))
            sorter = build_sorter(config, stack, ils=ils, maintenance_every=3600)
            sorter.start()
            stack.callback(sorter.stop)
            lines = {line["item_id"]: line for line in sorter.staff_report()}
            # B0001 reached bin 1 before the cut; B0009 was on its way to the hold bin
            # and B0011 had just been read: both are reported, in both languages.
            assert set(lines) == {"B0009", "B0011"}
            assert "checked in" in lines["B0009"]["text"]["en"]
            assert lines["B0011"]["text"]["vi"]
            # One checkin each, never two: the journal settled B0011 without redoing
            # what the ILS had done, and nothing is left open.
            txns = sorter.journal.all()
            assert sorted(t.item_id for t in txns) == ["B0001", "B0009", "B0011"]
            # B0011's tag left the tunnel unsecured: flagged for staff, as the report says.
            assert {t.item_id: t.state for t in txns} == {
                "B0001": "done",
                "B0009": "done",
                "B0011": "flagged",
            }
            for item_id in ("B0001", "B0009", "B0011"):
                assert not ils.item_information(item_id).due_date
        # A second restart reports nothing new: each item was reported once.
        with ExitStack() as stack:
            ils = stack.enter_context(IlsClient(parse_ils_url(ils_url(sim.port))))
            config = parse_config(config_text(tmp_path, sim.port, "cut-c"))
            again = build_sorter(config, stack, ils=ils, maintenance_every=3600)
            again.start()
            stack.callback(again.stop)
            assert len(again.staff_report()) == 2
