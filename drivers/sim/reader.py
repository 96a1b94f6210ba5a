"""``sim://NAME``: a TagReader on a simulated field, with real air timing and fault switches.

URL parameters:
  ``tags=B0001,B0002``  place ISO 28560-3 tags with these item ids when the field is new
  ``owner=VN-HN0001``   their owner library (ISIL)
  ``afi=0x07``          their AFI (secured by default)
  ``timing=1``          air-time scale: 1 real time, 0 instant, 0.1 ten times faster
  ``state=/path.json``  keep the tags in a file, so they outlive a killed process

Readers opened on the same NAME in one process share one field, so a test or
the simulator panel moves tags under the engine's reader. The reader adds up
the air time it simulated (``air_seconds``) so benchmarks can set processing
time against it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from drivers.interfaces import (
    DeviceState,
    DeviceUnavailable,
    TagError,
    TagInfo,
    TagNotFound,
    TagSeen,
)
from drivers.registry import DeviceUrl, parse_url
from drivers.sim.field import BLOCK_SIZE, SimTag, TagField, TagGone, TagRefused, uid_for
from drivers.sim.timing import AirTiming
from protocols.tags import TagData, encode

log = logging.getLogger(__name__)
T = TypeVar("T")


def item_tag(item_id: str, owner: str = "", *, afi: int = 0x07, eas: bool = True) -> SimTag:
    """A fresh ISO 28560-3 tag for ``item_id``, with a UID derived from it."""
    data = encode(TagData(model="iso28560-3", item_id=item_id, owner_library=owner))
    return SimTag.with_data(uid_for(item_id), data, afi=afi, eas=eas)


class SimReader:
    filters_afi = True
    """``inventory(afi=…)`` puts the AFI flag on the air: only tags of that family answer."""
    unaddressed_eas = True
    """``eas_alarm(None)`` is one command answered by any tag with its EAS bit set."""

    def __init__(self, url: DeviceUrl | str, field: TagField | None = None) -> None:
        self.url_parts = parse_url(url) if isinstance(url, str) else url
        self.url = self.url_parts.raw
        name = self.url_parts.target or "pad"
        fresh = field is None and not TagField.exists(name)
        self.field = field if field is not None else TagField.named(name)
        self.timing = AirTiming(scale=self.url_parts.number("timing", 1.0))
        self.air_seconds = 0.0
        self._state = DeviceState.CLOSED
        self._air = threading.Lock()  # one antenna: commands go out one at a time
        state = self.url_parts.params.get("state")
        if state and self.field.state_path is None:
            self.field.persist(Path(state))
            fresh = fresh and not self.field.tags and not self.field.departed
        if fresh:
            owner = self.url_parts.params.get("owner", "")
            afi = self.url_parts.integer("afi", 0x07)
            for item in filter(None, self.url_parts.params.get("tags", "").split(",")):
                self.field.place(item_tag(item.strip(), owner, afi=afi))

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        if self.field.faults.unplugged:
            self._state = DeviceState.UNAVAILABLE
            raise DeviceUnavailable(f"{self.url}: reader unplugged")
        if self._state is not DeviceState.READY:
            log.info("%s: ready", self.url)
        self._state = DeviceState.READY

    def close(self) -> None:
        self._state = DeviceState.CLOSED

    def _spend(self, seconds: float) -> None:
        self.air_seconds += seconds
        if seconds > 0:
            time.sleep(seconds)

    def _ensure(self) -> None:
        if self.field.faults.unplugged:
            if self._state is not DeviceState.UNAVAILABLE:
                log.warning("%s: reader unplugged", self.url)
            self._state = DeviceState.UNAVAILABLE
            raise DeviceUnavailable(f"{self.url}: reader unplugged")
        if self._state is not DeviceState.READY:
            self.open()

    def inventory(self, afi: int | None = None) -> list[TagSeen]:
        with self._air:
            self._ensure()
            tags = self.field.inventory(afi)
            self._spend(self.timing.inventory(len(tags)))
            return [TagSeen(uid=t.uid, dsfid=t.dsfid, afi=t.afi) for t in tags]

    def system_info(self, uid: bytes) -> TagInfo:
        with self._air:
            self._ensure()
            self._spend(self.timing.addressed())
            tag = self._call(lambda: self.field.system_info(uid), uid)
            return TagInfo(uid, tag.dsfid, tag.afi, BLOCK_SIZE, tag.block_count, tag.ic_reference)

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes:
        with self._air:
            self._ensure()
            self._spend(self.timing.read(count))
            return self._call(lambda: self.field.read_blocks(uid, first, count), uid)

    def write_blocks(self, uid: bytes, first: int, data: bytes) -> None:
        if len(data) % BLOCK_SIZE:
            raise ValueError(f"write of {len(data)} bytes is not whole {BLOCK_SIZE}-byte blocks")
        with self._air:
            self._ensure()
            for index in range(len(data) // BLOCK_SIZE):
                self._spend(self.timing.write(1))
                chunk = data[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
                self._call(partial(self.field.write_block, uid, first + index, chunk), uid)

    def write_afi(self, uid: bytes, afi: int) -> None:
        with self._air:
            self._ensure()
            self._spend(self.timing.afi())
            self._call(lambda: self.field.write_afi(uid, afi), uid)

    def lock_afi(self, uid: bytes) -> None:
        with self._air:
            self._ensure()
            self._spend(self.timing.afi())
            self._call(lambda: self.field.lock_afi(uid), uid)

    def set_eas(self, uid: bytes) -> None:
        with self._air:
            self._ensure()
            self._spend(self.timing.eas())
            self._call(lambda: self.field.set_eas(uid, True), uid)

    def reset_eas(self, uid: bytes) -> None:
        with self._air:
            self._ensure()
            self._spend(self.timing.eas())
            self._call(lambda: self.field.set_eas(uid, False), uid)

    def eas_alarm(self, uid: bytes | None = None) -> bool:
        with self._air:
            self._ensure()
            self._spend(self.timing.addressed())
            return self.field.eas_alarm(uid)

    def _call(self, operation: Callable[[], T], uid: bytes) -> T:
        try:
            return operation()
        except TagGone:
            raise TagNotFound(f"tag {uid.hex().upper()} did not answer") from None
        except TagRefused as refused:
            raise TagError(str(refused), refused.code) from None
