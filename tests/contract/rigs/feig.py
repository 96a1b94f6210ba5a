"""``feig+serial://`` against simulated FEIG firmware on a pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drivers.sim.devices import FeigFirmware
from protocols.readers.feig import FeigParser
from tests.contract.rigs.base import Rig
from tests.contract.rigs.serial_rig import serial_rig


@contextmanager
def rig(tmp_path: Path) -> Iterator[Rig]:
    with serial_rig(
        "feig", tmp_path, lambda link: f"feig+serial://{link}?timeout=0.5", FeigParser, FeigFirmware
    ) as made:
        yield made
