"""Gate alarm latency: from the reader's inventory answer to the alarm output call.

A sim:// reader with real air timing (timing=1) runs the gate's inventory loop
while patrons walk through: each pass brings one fresh secured item into a
field that already holds a few items on loan (books others carry out). The
reader is wrapped to note when ``inventory()`` returns, the outputs to note
when the first alarm output is switched; the difference is the gate's own
decision time, which should be a small part of one inventory round, the
least time a real reader needs to see the tag at all.

Goal: p99 under 5 ms and under a tenth of the air round (ratio < 0.10).
"""

from __future__ import annotations

import logging
import queue
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.interfaces import TagSeen
from drivers.sim.field import TagField
from drivers.sim.reader import SimReader, item_tag
from drivers.sim.timing import AirTiming
from engine.config.model import parse_config
from engine.events import EventBus
from gates.controller import GateController

PASSES = 200
ON_LOAN = 5
"""Items on loan in the field during every pass (they must not slow the decision)."""

CONFIG = """
[device]
id = "gate-bench"
site = "VN-HN0001"
role = "gate"

[ils]
url = "sip2+sim://"

[devices]
outputs = "gpio://?red=17&buzzer=22&mock=1"

[gate]
readers = ["sim://{name}?timing=1"]
alarm_outputs = ["red", "buzzer"]
alarm_seconds = 1
"""


class TimedReader:
    """The sim reader, noting the moment each inventory answer is in."""

    def __init__(self, reader: SimReader) -> None:
        self.reader = reader
        self.url = reader.url
        self.answered = 0.0

    def inventory(self, afi: int | None = None) -> list[TagSeen]:
        tags = self.reader.inventory(afi)
        self.answered = time.perf_counter()
        return tags

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)


class TimedOutputs:
    """Outputs that note, for every alarm, the time since the inventory answer."""

    def __init__(self, reader: TimedReader) -> None:
        self.url = "timed://"
        self.names = ("red", "buzzer")
        self.reader = reader
        self.latencies: list[float] = []

    def pulse(self, name: str, seconds: float) -> None:
        if name == "red":
            self.latencies.append(time.perf_counter() - self.reader.answered)

    def set(self, name: str, on: bool) -> None:
        pass

    def close(self) -> None:
        pass


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    sys.setswitchinterval(0.0005)  # as `muontra gate` runs
    logging.basicConfig(level=logging.ERROR)  # no line per alarm in the figures
    name = f"bench-{uuid.uuid4().hex[:8]}"
    config = parse_config(CONFIG.format(name=name))
    field = TagField.named(name)
    for number in range(ON_LOAN):
        field.place(item_tag(f"L{number:05}", afi=0xC2, eas=False))
    reader = TimedReader(SimReader(f"sim://{name}?timing=1"))
    outputs = TimedOutputs(reader)
    bus = EventBus()
    events = bus.subscribe()
    gate = GateController(config, bus, readers=[reader], outputs=outputs, pass_window=0.5)  # type: ignore[list-item]
    gate.start()
    try:
        for number in range(PASSES):
            item = f"P{number:05}"
            tag = field.place(item_tag(item))
            # The tag stays in the field until the alarm event (with its item id) is out.
            while True:
                try:
                    event = events.get(timeout=5.0)
                except queue.Empty:
                    raise SystemExit(f"pass {number}: no alarm within 5 s") from None
                if event["event"] == "alarm":
                    break
            if event["item_id"] != item:
                raise SystemExit(f"pass {number}: alarm for {event['item_id']}, not {item}")
            field.remove(tag.uid)
    finally:
        gate.stop()
        TagField.forget(name)

    latencies = outputs.latencies
    air_round = AirTiming().inventory(ON_LOAN + 1)
    p50 = percentile(latencies, 0.50)
    p99 = percentile(latencies, 0.99)
    print(f"passes                 {len(latencies)}")
    print(f"items on loan in field {ON_LOAN}")
    print(f"mean decision          {statistics.mean(latencies) * 1000:.3f} ms")
    print(f"max decision           {max(latencies) * 1000:.3f} ms")
    print(
        f"gate decision p50 {p50 * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms, "
        f"air round {air_round * 1000:.1f} ms, ratio {p99 / air_round:.3f}"
    )


if __name__ == "__main__":
    main()
