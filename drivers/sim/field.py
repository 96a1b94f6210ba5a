"""The simulated antenna field: ISO 15693 tags on a pad or between gate pedestals.

One model of tag behaviour backs every simulator — the ``sim://`` reader, the
FEIG and 3M readers simulated on the far end of a pseudo-terminal, and the
virtual PC/SC card — so the contract tests see the same tags through every
driver. Tags behave like NXP ICODE SLIX: 4-byte blocks, a lockable AFI, the
NXP EAS bit, permanent block locks.

Fault switches reproduce what goes wrong at a real pad: a tag missed by some
inventory rounds, a tag that leaves the field in the middle of a write, a write
the tag acknowledges but does not keep, a reader that is unplugged, noise on
the serial line. The field is shared between threads (the test or scenario
moves tags while a driver reads them), so every access holds its lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.sim.named import Named
from protocols.readers.iso15693 import afi_answers

BLOCK_SIZE = 4

# ISO 15693 error codes a tag answers with.
ERR_NOT_SUPPORTED = 0x01
ERR_BLOCK_UNAVAILABLE = 0x10
ERR_BLOCK_LOCKED = 0x12
ERR_NOT_PROGRAMMED = 0x13
ERR_NOT_LOCKED = 0x14


class TagGone(Exception):
    """The addressed tag is not in the field (or did not answer this time)."""


class TagRefused(Exception):
    """The tag answered with an ISO 15693 error code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"tag error 0x{code:02X}")
        self.code = code


def uid_for(label: str) -> bytes:
    """A stable NXP ICODE SLIX UID (E0 04 01 …) for a label such as an item id."""
    digest = hashlib.sha256(label.encode()).digest()
    return bytes([0xE0, 0x04, 0x01]) + digest[:5]


@dataclass(eq=False)
class SimTag:
    uid: bytes
    memory: bytearray
    afi: int = 0x07
    dsfid: int = 0x00
    eas: bool = True
    afi_locked: bool = False
    eas_locked: bool = False
    locked_blocks: set[int] = field(default_factory=set)
    ic_reference: int = 0x01

    @classmethod
    def with_data(
        cls, uid: bytes, data: bytes, *, blocks: int = 28, afi: int = 0x07, eas: bool = True
    ) -> SimTag:
        memory = bytearray(blocks * BLOCK_SIZE)
        memory[: len(data)] = data[: len(memory)]
        return cls(uid=bytes(uid), memory=memory, afi=afi, eas=eas)

    @property
    def block_count(self) -> int:
        return len(self.memory) // BLOCK_SIZE


@dataclass
class Faults:
    """Switches a test or a scenario flips; each is consumed as it fires where it says so."""

    miss_rounds: dict[bytes, int] = field(default_factory=dict)
    """UID -> how many coming inventory rounds (and addressed commands) miss the tag."""
    leave_during_write: set[bytes] = field(default_factory=set)
    """The tag leaves the field after the first block or AFI of its next write (once)."""
    silent_write_fail: dict[bytes, int] = field(default_factory=dict)
    """UID -> how many coming writes the tag acknowledges without keeping."""
    read_fails: dict[bytes, int] = field(default_factory=dict)
    """UID -> how many coming memory reads get no answer while inventory still sees the tag."""
    unplugged: bool = False
    noise: bool = False
    """Serial simulators send junk bytes before each answer."""
    corrupt_answers: int = 0
    """Serial simulators corrupt the CRC of this many coming answers."""


class TagField(Named):
    """The tags an antenna can reach, with their fault switches. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tags: dict[bytes, SimTag] = {}
        self.faults = Faults()
        self.departed: dict[bytes, SimTag] = {}
        """Tags that left the field (by ``remove`` or a fault), kept so they can come back."""
        self.changed = threading.Condition(self.lock)
        self.state_path: Path | None = None

    # --- persistence: tags outlive a killed engine, as real ones do ------------------------

    def persist(self, path: Path) -> None:
        """Keep the field in ``path`` (JSON): loaded now if present, saved after every change."""
        with self.lock:
            self.state_path = Path(path)
            if self.state_path.exists():
                data = json.loads(self.state_path.read_text())
                for entry in data["tags"]:
                    tag = SimTag(
                        uid=bytes.fromhex(entry["uid"]),
                        memory=bytearray.fromhex(entry["memory"]),
                        afi=entry["afi"],
                        dsfid=entry["dsfid"],
                        eas=entry["eas"],
                        afi_locked=entry["afi_locked"],
                        eas_locked=entry["eas_locked"],
                        locked_blocks=set(entry["locked_blocks"]),
                    )
                    (self.tags if entry["on_pad"] else self.departed)[tag.uid] = tag
            else:
                self._save()

    def _save(self) -> None:
        if self.state_path is None:
            return
        entries = [
            {
                "uid": tag.uid.hex(),
                "memory": tag.memory.hex(),
                "afi": tag.afi,
                "dsfid": tag.dsfid,
                "eas": tag.eas,
                "afi_locked": tag.afi_locked,
                "eas_locked": tag.eas_locked,
                "locked_blocks": sorted(tag.locked_blocks),
                "on_pad": on_pad,
            }
            for on_pad, group in ((True, self.tags), (False, self.departed))
            for tag in group.values()
        ]
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"tags": entries}))
        os.replace(temporary, self.state_path)

    # --- what a person (test, scenario, simulator panel) does ---------------------------

    def place(self, tag: SimTag) -> SimTag:
        with self.lock:
            self.tags[tag.uid] = tag
            self.departed.pop(tag.uid, None)
            self._save()
            self.changed.notify_all()
        return tag

    def place_all(self, tags: Iterable[SimTag]) -> None:
        for tag in tags:
            self.place(tag)

    def remove(self, uid: bytes) -> SimTag | None:
        with self.lock:
            tag = self.tags.pop(uid, None)
            if tag is not None:
                self.departed[uid] = tag
                self._save()
                self.changed.notify_all()
            return tag

    def bring_back(self, uid: bytes) -> SimTag:
        with self.lock:
            tag = self.departed.pop(uid)
            return self.place(tag)

    def clear(self) -> None:
        with self.lock:
            for uid in list(self.tags):
                self.remove(uid)

    def tag(self, uid: bytes) -> SimTag:
        """A tag in the field or one that left it, for inspection by tests."""
        with self.lock:
            found = self.tags.get(uid) or self.departed.get(uid)
            if found is None:
                raise KeyError(uid.hex())
            return found

    # --- what the air interface does --------------------------------------------------

    def inventory(self, afi: int | None = None) -> list[SimTag]:
        """The tags that answer a round; with ``afi``, only those an inventory with the
        AFI flag selects (as real tags do: the others keep silent and cost no air)."""
        with self.lock:
            seen = []
            for uid, tag in self.tags.items():
                if afi is not None and not afi_answers(afi, tag.afi):
                    continue
                if self._missed(uid):
                    continue
                seen.append(tag)
            return seen

    def _missed(self, uid: bytes) -> bool:
        left = self.faults.miss_rounds.get(uid, 0)
        if left <= 0:
            return False
        if left == 1:
            del self.faults.miss_rounds[uid]
        else:
            self.faults.miss_rounds[uid] = left - 1
        return True

    def _addressed(self, uid: bytes) -> SimTag:
        tag = self.tags.get(uid)
        if tag is None or self._missed(uid):
            raise TagGone(uid.hex())
        return tag

    def system_info(self, uid: bytes) -> SimTag:
        with self.lock:
            return self._addressed(uid)

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes:
        with self.lock:
            tag = self._addressed(uid)
            left = self.faults.read_fails.get(uid, 0)
            if left > 0:
                self.faults.read_fails[uid] = left - 1
                if left == 1:
                    del self.faults.read_fails[uid]
                raise TagGone(uid.hex())
            if first < 0 or count < 1 or first + count > tag.block_count:
                raise TagRefused(ERR_BLOCK_UNAVAILABLE)
            return bytes(tag.memory[first * BLOCK_SIZE : (first + count) * BLOCK_SIZE])

    def write_block(self, uid: bytes, block: int, data: bytes) -> None:
        """One block; a multi-block write is a sequence of these, so a tag can leave half-way."""
        with self.lock:
            tag = self._addressed(uid)
            if not 0 <= block < tag.block_count or len(data) != BLOCK_SIZE:
                raise TagRefused(ERR_BLOCK_UNAVAILABLE)
            if block in tag.locked_blocks:
                raise TagRefused(ERR_BLOCK_LOCKED)
            if not self._write_fails_silently(uid):
                tag.memory[block * BLOCK_SIZE : (block + 1) * BLOCK_SIZE] = data
                self._save()
            self._maybe_leave(uid)

    def write_afi(self, uid: bytes, afi: int) -> None:
        with self.lock:
            tag = self._addressed(uid)
            if tag.afi_locked:
                raise TagRefused(ERR_BLOCK_LOCKED)
            if not self._write_fails_silently(uid):
                tag.afi = afi & 0xFF
                self._save()
            self._maybe_leave(uid)

    def lock_afi(self, uid: bytes) -> None:
        with self.lock:
            tag = self._addressed(uid)
            if tag.afi_locked:
                raise TagRefused(ERR_BLOCK_LOCKED)
            tag.afi_locked = True
            self._save()

    def set_eas(self, uid: bytes, on: bool) -> None:
        with self.lock:
            tag = self._addressed(uid)
            if tag.eas_locked:
                raise TagRefused(ERR_BLOCK_LOCKED)
            if not self._write_fails_silently(uid):
                tag.eas = on
                self._save()
            self._maybe_leave(uid)

    def eas_alarm(self, uid: bytes | None) -> bool:
        with self.lock:
            if uid is not None:
                try:
                    return self._addressed(uid).eas
                except TagGone:
                    return False
            return any(tag.eas for tag in self.inventory())

    def _write_fails_silently(self, uid: bytes) -> bool:
        left = self.faults.silent_write_fail.get(uid, 0)
        if left <= 0:
            return False
        if left == 1:
            del self.faults.silent_write_fail[uid]
        else:
            self.faults.silent_write_fail[uid] = left - 1
        return True

    def _maybe_leave(self, uid: bytes) -> None:
        if uid in self.faults.leave_during_write:
            self.faults.leave_during_write.discard(uid)
            self.remove(uid)
