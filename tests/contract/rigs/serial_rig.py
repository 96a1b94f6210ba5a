"""A driver wired to a simulated reader behind a real pseudo-terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drivers.registry import open_device
from drivers.sim.field import TagField
from drivers.sim.serial_peer import SerialPeer
from tests.contract.rigs.base import Rig


@contextmanager
def serial_rig(
    name: str,
    tmp_path: Path,
    url: Callable[[Path], str],
    parser_factory: Callable[[], Any],
    firmware_factory: Callable[[TagField], Any],
) -> Iterator[Rig]:
    field = TagField()
    link = tmp_path / f"{name}-reader"
    peer = SerialPeer(link, field, parser_factory, firmware_factory(field)).start()
    reader = open_device(url(link))
    try:
        yield Rig(
            name,
            reader,
            field,
            peer.unplug,
            peer.start,
            {"anticollision", "air", "eas", "lock_afi"},
        )
    finally:
        reader.close()
        peer.stop()
