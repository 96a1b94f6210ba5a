"""``sim://`` — the simulated reader itself, instant air timing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drivers.registry import open_device
from drivers.sim.field import TagField
from tests.contract.rigs.base import Rig


@contextmanager
def rig(tmp_path: Path) -> Iterator[Rig]:
    name = f"contract-{tmp_path.name}"
    field = TagField.named(name)
    reader = open_device(f"sim://{name}?timing=0")

    def unplug() -> None:
        field.faults.unplugged = True

    def replug() -> None:
        field.faults.unplugged = False

    try:
        yield Rig("sim", reader, field, unplug, replug, {"anticollision", "air", "eas", "lock_afi"})
    finally:
        reader.close()
        TagField.forget(name)
