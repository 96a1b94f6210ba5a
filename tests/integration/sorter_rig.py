"""A return machine on the bench: the sorter on a simulated belt, its tunnel reader on the
belt's field, and the ILS simulator over TCP on loopback (a random port)."""

from __future__ import annotations

import itertools
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.sim.conveyor import ConveyorMachine, Fate, Item, SimConveyor
from drivers.sim.field import SimTag
from engine.config import parse_config
from engine.ils.client import IlsClient
from engine.ils.url import parse_ils_url
from ilssim.server import SimServerThread
from protocols.tags import TagData, encode
from sorter.machine import Sorter
from sorter.service import build_sorter
from tests.integration.sim_helpers import running_sim

RATE = 1.0
"""Simulated seconds per real second: the belt runs at a real belt's pace, so an ILS answer
slowed by a loaded test machine still comes while the tag is in the tunnel's field."""
ZONE = 0.3
"""Metres of belt the tunnel's field covers. The hold_belt tests give 1.0: an item held
before the first diverter still has its tag in the field when the late answer comes."""
_names = itertools.count(1)

CONFIG = """
[device]
id = "sorter-test"
site = "VN-HN0001"
role = "sorter"
data_dir = "{data_dir}"
api_socket = "{data_dir}/s.sock"

[ils]
url = "sip2+sim://"

[devices]
conveyor = "conveyor+sim://{name}?clock=real&rate={rate}&speed=0.5&reader=0.6&zone={zone}&diverters=1.6,2.4,3.2&end=4.0"
tunnel = "sim://{name}?timing=0.05"
{printer}

[tags]
owner_libraries = {owners}

[sorter]
exception_bin = "x"
default_bin = "1"
hold_bin = "hold"
transit = {{ default = "transit" }}
sort_bins = {{ "1" = "1", "2" = "1", "3" = "1" }}
late_ils = "{late}"
belt_speed = 0.5
reader_position = 0.6
{extra}

[[sorter.bins]]
id = "1"
name_vi = "Kho chung"
name_en = "Stacks"
capacity = {capacity}
{overflow}
output = "diverter1"
full_sensor = "full1"
position = 1.6

[[sorter.bins]]
id = "hold"
name_vi = "Đặt trước"
name_en = "Holds"
capacity = 50
output = "diverter2"
full_sensor = "full2"
position = 2.4

[[sorter.bins]]
id = "transit"
name_vi = "Chuyển chi nhánh"
name_en = "Transit"
capacity = {transit_capacity}
output = "diverter3"
full_sensor = "full3"
position = 3.2

[[sorter.bins]]
id = "x"
name_vi = "Ngoại lệ"
name_en = "Exceptions"
capacity = {exception_capacity}
{more}
"""


def ils_url(port: int) -> str:
    return f"sip2://sorter:secret@127.0.0.1:{port}?institution=MUONTRA&location=TT&timeout=3"


def part_tag(item_id: str, index: int, size: int) -> SimTag:
    """Part ``index`` of a set of ``size``: its own UID, the set's item id."""
    data = encode(TagData(model="iso28560-3", item_id=item_id, set_size=size, set_index=index))
    uid = bytes([0xE0, 0x04, 0x01, 0x50, index, size, len(item_id), 0x11])
    return SimTag.with_data(uid, data)


@dataclass
class Rig:
    sorter: Sorter
    machine: ConveyorMachine
    ils_sim: SimServerThread
    events: queue.Queue[dict[str, Any]]
    data_dir: Path
    log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cursor: dict[str, int] = field(default_factory=dict)

    def feed(self, tags: list[SimTag | None], every: float | None = None) -> list[Item]:
        return self.machine.feed(tags, every=every)

    def wait_event(self, name: str, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        """The next event ``name`` whose fields match; fails when none comes in ``timeout``.

        Each name has its own cursor: waiting for one kind of event never loses another
        kind that came first.
        """
        end = time.monotonic() + timeout
        while True:
            seen = self.log.get(name, [])
            while self.cursor.get(name, 0) < len(seen):
                event = seen[self.cursor.get(name, 0)]
                self.cursor[name] = self.cursor.get(name, 0) + 1
                if all(event.get(k) == v for k, v in match.items()):
                    return event
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} event {match} within {timeout} s")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.log.setdefault(event["event"], []).append(event)

    def wait_until(self, what: Callable[[], bool], timeout: float = 20.0) -> None:
        """Poll a condition of the simulated machine (it has no events of its own for tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if what():
                return
            time.sleep(0.01)
        raise AssertionError("the condition did not come true in time")

    def counts(self) -> dict[str, int]:
        return {b["id"]: b["count"] for b in self.sorter.status()["bins"]}

    def wait_counts(self, expected: dict[str, int], timeout: float = 10.0) -> None:
        """Until the sorter counts ``expected`` (a bin's count follows its item's landing,
        the diverter's pulse after the simulated item was pushed into it)."""
        try:
            self.wait_until(lambda: {k: self.counts()[k] for k in expected} == expected, timeout)
        except AssertionError:
            raise AssertionError(f"counts {self.counts()}, expected {expected}") from None

    def settle(self, items: list[Item], timeout: float = 30.0) -> None:
        """Wait until every item is in a bin or the exception bin."""
        self.wait_until(
            lambda: all(i.fate in (Fate.IN_BIN, Fate.IN_EXCEPTION_BIN) for i in items), timeout
        )


@contextmanager
def sorter_rig(
    tmp_path: Path,
    *,
    late: str = "hold_belt",
    owners: str = "[]",
    capacity: int = 50,
    overflow: str = "x",
    transit_capacity: int = 50,
    exception_capacity: int = 100,
    extra: str = "",
    started: bool = True,
    zone: float = ZONE,
    printer: str = "",
    more: str = "",
) -> Iterator[Rig]:
    name = f"sorterbench{next(_names)}_{time.monotonic_ns()}"
    text = CONFIG.format(
        data_dir=tmp_path,
        name=name,
        rate=RATE,
        late=late,
        owners=owners,
        capacity=capacity,
        overflow=f'overflow = "{overflow}"' if overflow else "",
        transit_capacity=transit_capacity,
        exception_capacity=exception_capacity,
        extra=extra,
        zone=zone,
        printer=f'printer = "{printer}"' if printer else "",
        more=more,
    )
    config = parse_config(text)
    with ExitStack() as stack:
        sim = stack.enter_context(running_sim())
        ils = stack.enter_context(IlsClient(parse_ils_url(ils_url(sim.port))))
        sorter = build_sorter(config, stack, ils=ils, maintenance_every=3600)
        conveyor = sorter.conveyor
        assert isinstance(conveyor, SimConveyor)
        events = sorter.bus.subscribe()
        if started:
            sorter.start()
            stack.callback(sorter.stop)
        yield Rig(sorter, conveyor.machine, sim, events, tmp_path)
