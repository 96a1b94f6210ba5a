"""A return machine in a child process, for the power-cut tests: ``python -m
tests.integration.sorter_child CONFIG ITEM…`` builds the sorter from CONFIG (the ILS
simulator of the parent over TCP), feeds the items onto its simulated belt and runs
until ``MUONTRA_CRASH_AT`` kills it (SIGKILL) at a journal step."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path

from drivers.sim.conveyor import SimConveyor
from drivers.sim.reader import item_tag
from engine.config import load_config
from sorter.service import build_sorter


def main(argv: list[str]) -> int:
    config = load_config(Path(argv[0]))
    with ExitStack() as stack:
        sorter = build_sorter(config, stack, maintenance_every=3600)
        sorter.start()
        conveyor = sorter.conveyor
        assert isinstance(conveyor, SimConveyor)
        conveyor.machine.feed([item_tag(item_id) for item_id in argv[1:]])
        time.sleep(120)  # the crash point ends it long before
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
