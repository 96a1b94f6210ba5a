"""``3m+serial://`` against simulated 3M 810 firmware on a pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drivers.sim.devices import ThreeMFirmware
from protocols.readers.threem import ThreeMParser
from tests.contract.rigs.base import Rig
from tests.contract.rigs.serial_rig import serial_rig


@contextmanager
def rig(tmp_path: Path) -> Iterator[Rig]:
    with serial_rig(
        "3m", tmp_path, lambda link: f"3m+serial://{link}?timeout=0.5", ThreeMParser, ThreeMFirmware
    ) as made:
        yield made
