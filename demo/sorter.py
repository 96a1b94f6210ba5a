"""The return machine demo: a drop at the book-drop wall, on simulators, shown as text.

The ILS simulator over loopback TCP and the sorter as the scenarios run it
(:mod:`scenario.sorter_child`: the service ``muontra sorter`` builds, on a
simulated belt with a tunnel reader, four diverters and an exception bin). A
patron puts seven items in one after the other; the script prints what the
wall screen says for each (Vietnamese and English), where each one lands,
the bins with their counts, the exception list staff see, and staff emptying
a bin.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from ilssim.running import running_simulator
from kiosk.api import ApiClient
from scenario.sorter_run import sorter_config

DROP = [
    ("B0001", "a book the ILS sorts to the stacks (CL 1)"),
    ("B0018", "a CD (CL 2: the media bin)"),
    ("B0009", "a book someone here is waiting for (hold)"),
    ("B0011", "a book on hold for pickup at another branch (transit)"),
    ("-", "an item with no tag"),
    ("B0006#1/2", "a book whose CD stayed at home (part 1 of 2)"),
    ("B0001", "the first book again (a second read in the same drop)"),
]
WAIT = 60.0


def _start(directory: Path, port: int, rate: float) -> tuple[subprocess.Popen[bytes], ApiClient]:
    config, socket = sorter_config(directory, port, {"rate": rate})
    log = open(directory / "sorter.log", "ab")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "scenario.sorter_child", "--config", str(config)],
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise OSError(f"the sorter exited at start; see {directory / 'sorter.log'}")
        try:
            return process, ApiClient(socket, timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise OSError("the sorter did not open its API in 60 s") from None
            time.sleep(0.05)


def _both(text: Any) -> str:
    return f"{text['vi']} / {text['en']}" if isinstance(text, dict) else ""


def play_sorter(out: TextIO = sys.stdout, pause: float = 0.0, rate: float = 4.0) -> int:
    """Play the drop; returns 0 when every item was told and landed where it was told.

    ``rate``: simulated belt seconds per real second (4: the demo is quick to watch)."""

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    directory = Path(tempfile.mkdtemp(prefix="muontra-demo-sorter-"))
    with running_simulator(directory / "ils.sqlite", 40, 1) as (sim, _store):
        say("\n══ Máy trả sách có phân loại / Return machine with sorting bins")
        say(f"ILS simulator on 127.0.0.1:{sim.port}; belt 0.5 m/s shown at {rate:g}x speed")
        process, client = _start(directory, sim.port, rate)
        try:
            client.subscribe()
            say("\n── A patron puts seven items in, one after the other:")
            for number, (label, what) in enumerate(DROP, 1):
                say(f"   {number}. {label:<10} {what}")
            client.result("sim_feed", items=[label for label, _ in DROP])
            told = 0
            deadline = time.monotonic() + WAIT
            say("\n── The wall screen says, as each item passes the reader:")
            while told < len(DROP) and time.monotonic() < deadline:
                event = client.next_event(0.5)
                if event is None or event["event"] != "item":
                    continue
                told += 1
                why = f" [{event['reason']}]" if event.get("reason") else ""
                ils = f" — ILS: {event['ils_message']}" if event.get("ils_message") else ""
                item = event.get("item_id") or "(no tag)"
                say(f"   {item:<8} → bin {event['bin']:<8} {_both(event['text'])}{why}{ils}")
                if pause:
                    time.sleep(pause)
            while client.result("sim_belt")["moving"] and time.monotonic() < deadline:
                time.sleep(0.2)
            # An item is counted when its diverter's pulse is over, a moment after it
            # dropped: wait for the sorter to have counted every item it read.
            status = client.result("status")
            while status.get("on_belt") and time.monotonic() < deadline:
                time.sleep(0.1)
                status = client.result("status")
            belt = client.result("sim_belt")["items"]
            say("\n── Where they physically landed (the belt simulator):")
            for entry in belt:
                place = (
                    f"diverter {entry['diverter']}"
                    if entry["fate"] == "in_bin"
                    else entry["fate"].replace("_", " ")
                )
                say(f"   {entry['label']:<10} {place}")
            say("\n── Staff screen: bins / Thùng")
            for b in status["bins"]:
                full = " FULL" if b["full"] else ""
                say(f"   {b['id']:<8} {_both(b['name']):<36} {b['count']:>3}/{b['capacity']}{full}")
            say("\n── Staff screen: exceptions / Ngoại lệ")
            for entry in client.result("exceptions")["items"]:
                item = entry["item_id"] or "(no tag)"
                say(f"   {item:<8} {entry['reason']:<16} {_both(entry['text'])}")
            emptied = client.result("empty_bin", bin="1", staff="demo")
            say(f"\n── Staff empty bin 1: {emptied['items']} item(s) taken to the shelves")
            ok = told == len(DROP) and not client.result("sim_belt")["moving"]
        finally:
            client.close()
            process.terminate()
            process.wait(30)
    say("Done." if ok else "The drop did not finish in time; see the log in " + str(directory))
    return 0 if ok else 1
