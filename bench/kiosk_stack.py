"""A 10-item stack checkout through the real engine process, against its I/O floors.

The ILS latency defaults to 100 ms per answer (real ILSs take 100-300 ms for a
checkout; BENCH_ILS_LATENCY=0.05 sets another). The engine runs as `muontra
kiosk` (its own process, as in production) on a sim:// pad with real air
timing, against the ILS simulator with that fixed latency per answer. Ten
tagged items lie on the pad before the patron logs in; the clock runs from the
PIN until the last item's outcome. Floors, computed in the same
run from the simulator's timing model and the ILS latency:

- sequential floor: every ILS call and every tag operation one after another
  (login 1 call + 10 checkouts, each as long as the ILS takes to answer a bare
  client, measured in the same run; per item a security write with its
  read-back, from the air timing model);
- overlapped floor: the longer of the ILS chain and the tag chain.

Goals: total / sequential < 0.8 (each item's tag write overlaps the next
item's ILS call) and total / overlapped <= 1.10. Also the engine's resident
memory (VmRSS) after the stack; goal under 80 MB.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.sim.timing import AirTiming
from kiosk.scenario.model import Scenario
from kiosk.scenario.runner import ScenarioRun, device_config

ITEMS = [f"B00{n:02}" for n in (1, 2, 3, 4, 7, 15, 16, 18, 19, 20)]
LATENCY = float(os.environ.get("BENCH_ILS_LATENCY", "0.1"))
RUNS = 3
POLICY = os.environ.get("BENCH_POLICY", "afi")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def ils_answer_time(port: int) -> float:
    """What the ILS itself takes per checkout (latency plus its own work), measured now
    with a bare SIP2 client on items the stack does not use: the ILS part of the floors."""
    from kiosk.ils.client import IlsClient

    with IlsClient(f"sip2://127.0.0.1:{port}") as client:
        client.patron_information("P0003", "3456")
        times = []
        for _ in range(3):
            for item in ("B0017",):
                start = time.perf_counter()
                client.checkout("P0001", item, "1234")
                times.append(time.perf_counter() - start)
                client.checkin(item)
    return statistics.median(times)


def one_run() -> tuple[float, int, float]:
    directory = Path(tempfile.mkdtemp(prefix="muontra-bench-"))
    run = ScenarioRun(Scenario(name="bench", steps=[]), directory)
    from kiosk.ils.sim.circulation import Circulation
    from kiosk.ils.sim.seed import seed
    from kiosk.ils.sim.server import SimServerThread
    from kiosk.ils.sim.sip2_mapping import SipMapping
    from kiosk.ils.sim.store import Store

    store = Store.open(directory / "ils.sqlite")
    seed(store, 20, 7)
    sim = SimServerThread(SipMapping(Circulation(store))).start()
    try:
        run.config, run.socket = device_config(directory, sim.port, {"timing": 1, "policy": POLICY})
        run._start_engine()
        client = run.client
        assert client is not None
        for item in ITEMS:
            client.result("sim_place", item_id=item)
        waiting = set()
        while len(waiting) < len(ITEMS):
            event = client.next_event(10)
            if event and event.get("outcome") == "item_waiting":
                waiting.add(event["item_id"])
        client.result("identify", method="typed", value="P0005")
        sim.faults.latency = LATENCY
        answer = ils_answer_time(sim.port)
        done = set()
        start = time.perf_counter()
        client.result("pin", pin="5678")
        while len(done) < len(ITEMS):
            event = client.next_event(30)
            if event and event.get("event") == "item" and event.get("outcome") == "checked_out":
                done.add(event["item_id"])
            elif event and event.get("outcome") in ("ils_refused", "security_failed"):
                raise SystemExit(f"bench stack failed: {event}")
        total = time.perf_counter() - start
        if os.environ.get("BENCH_TRACE"):
            wall = time.time() - total
            for event in client.result("history")["events"]:
                if event["time"] >= wall - 0.01:
                    print(
                        f"   {(event['time'] - wall) * 1000:7.1f} ms  {event['event']} "
                        f"{event.get('outcome', '')} {event.get('item_id', '')}"
                    )
        assert run.process is not None
        memory = rss_kib(run.process.pid)
        return total, memory, answer
    finally:
        run.stop_engine()
        sim.stop()
        store.close()


def main() -> None:
    air = AirTiming()
    # Per item: read the state, write it, read it back — for AFI, and for EAS where used.
    per_item_tag = 2 * air.addressed() + air.afi()
    if "eas" in POLICY:
        per_item_tag += 2 * air.addressed() + air.eas()
    results = [one_run() for _ in range(RUNS)]
    total = statistics.median(r[0] for r in results)
    memory = max(r[1] for r in results)
    answer = statistics.median(r[2] for r in results)
    ils_chain = (1 + len(ITEMS)) * answer
    tag_chain = len(ITEMS) * per_item_tag
    sequential = ils_chain + tag_chain
    overlapped = max(ils_chain, tag_chain)
    print(
        f"items                    {len(ITEMS)} (ILS latency {LATENCY * 1000:.0f} ms per answer, "
        f"security policy {POLICY})"
    )
    print(f"ILS answer, measured     {answer * 1000:7.1f} ms  (latency + the ILS's own work)")
    print(
        f"ILS chain                {ils_chain * 1000:7.1f} ms  (login 1 + {len(ITEMS)} checkouts)"
    )
    per_item = f"({per_item_tag * 1000:.1f} ms per item)"
    print(f"tag chain                {tag_chain * 1000:7.1f} ms  {per_item}")
    print(f"sequential floor         {sequential * 1000:7.1f} ms")
    print(f"overlapped floor         {overlapped * 1000:7.1f} ms")
    print(f"total (median of {RUNS})     {total * 1000:7.1f} ms")
    print(f"engine resident memory   {memory / 1024:7.1f} MB (goal < 80)")
    print(f"total / sequential floor {total / sequential:.3f} (goal < 0.8)")
    print(f"total / overlapped floor {total / overlapped:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
