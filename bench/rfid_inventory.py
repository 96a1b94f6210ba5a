"""RFID pad processing time against the air time it must keep up with.

30 ISO 28560-3 tags lie on a sim:// pad. One round is what a kiosk does when a
stack lands: an inventory, then for every tag a 9-block read and a decode. The
simulator runs with air timing switched off, so the wall time measured is our
processing (driver, simulator bookkeeping, decoding); the air time is what the
same commands take on a real ICODE SLIX pad by the timing model of
drivers/sim/timing.py, computed in the same run. Also per decoded tag: the
decode alone against the air time of reading that tag.

Goal: processing under 5% of air time (ratio < 0.05).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.sim.field import TagField
from drivers.sim.reader import SimReader, item_tag
from drivers.sim.timing import AirTiming
from protocols.tags import decode

TAGS = 30
BLOCKS = 9
ROUNDS = 300


def main() -> None:
    field = TagField()
    for number in range(TAGS):
        field.place(item_tag(f"3010{number:06}", "VN-HN0001"))
    reader = SimReader("sim://bench?timing=0", field=field)
    air = AirTiming()
    air_round = air.inventory(TAGS) + TAGS * air.read(BLOCKS)

    samples = []
    decode_samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        seen = reader.inventory()
        memories = [reader.read_blocks(tag.uid, 0, BLOCKS) for tag in seen]
        middle = time.perf_counter()
        items = [decode(memory).item_id for memory in memories]
        end = time.perf_counter()
        assert len(items) == TAGS
        samples.append(end - start)
        decode_samples.append((end - middle) / TAGS)

    per_round = statistics.median(samples)
    per_tag = statistics.median(decode_samples)
    air_tag = air.read(BLOCKS)
    print(f"tags on the pad        {TAGS}")
    print(
        f"air time per round     {air_round * 1000:8.2f} ms "
        f"(inventory {air.inventory(TAGS) * 1000:.1f} ms + {TAGS} reads of {BLOCKS} blocks)"
    )
    print(f"processing per round   {per_round * 1000:8.3f} ms (median of {ROUNDS})")
    print(
        f"decode per tag         {per_tag * 1e6:8.1f} us   air per tag read {air_tag * 1000:.2f} ms"
    )
    print(f"ratio per tag          {per_tag / air_tag:.4f}")
    print(f"ratio per round        {per_round / air_round:.4f} (goal < 0.05)")


if __name__ == "__main__":
    main()
