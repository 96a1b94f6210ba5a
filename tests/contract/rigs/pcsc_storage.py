"""The PC/SC rig with a reader that has only the storage-card commands.

Many contactless PC/SC readers (ACS ACR122U, Identiv and HID Omnikey models)
show an ISO 15693 tag through get UID, read binary and update binary and refuse
the transparent session: one tag at a time, its data blocks, and nothing of
AFI, EAS or system information. The driver must read and write the data all
the same and say plainly that security cannot be set through such a reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.contract.rigs import pcsc
from tests.contract.rigs.base import Rig
from tests.contract.rigs.vpcd_card import StorageCardLogic

FEATURES: frozenset[str] = frozenset()
"""One tag at a time, its data blocks: no anticollision, no air commands, no EAS."""


@contextmanager
def rig(tmp_path: Path) -> Iterator[Rig]:
    with pcsc.rig(tmp_path, StorageCardLogic, "pcsc-storage", FEATURES) as made:
        yield made
