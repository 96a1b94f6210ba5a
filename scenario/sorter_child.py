"""The return machine a sorter scenario drives: `muontra sorter`'s own service, plus the belt.

Run as ``python -m scenario.sorter_child --config FILE [--plc]`` by
:mod:`scenario.sorter_run`. The sorter is built by :func:`sorter.service.build_sorter`
exactly as the daemon builds it and serves the sorter's local API
(:data:`sorter.api.COMMANDS`) on the configured socket; the simulated belt
(``conveyor+sim://``) lives in the same process, because a simulated machine is
shared only within one, so this process also answers ``sim_*`` commands: put
items in, jam one, make one slip, trip a full sensor, take the PLC off the
network. A ``kill`` step is then a real SIGKILL of the machine *and* its
controller, as a power cut is.

With ``--plc`` the sorter does not command the belt directly: a simulated PLC
(pymodbus's own Modbus TCP server on a random loopback port,
:mod:`drivers.sim.conveyor_plc`) is wired to the belt, and the sorter's
conveyor is ``modbus+tcp://`` to it.
"""

from __future__ import annotations

import argparse
import signal
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.registry import parse_url
from drivers.sim.conveyor import ConveyorMachine, Fate, Item, machine_for
from drivers.sim.field import SimTag, uid_for
from engine.config import parse_config
from engine.jsonlines import Command, JsonLinesServer
from protocols.tags import TagData, encode
from protocols.tags.security import PRESETS
from sorter.api import COMMANDS
from sorter.machine import Sorter
from sorter.service import build_sorter

if TYPE_CHECKING:
    from drivers.sim.conveyor_plc import SimPlc

BLANK = "blank"
"""An item label for a tag that reads but holds no data."""
NO_TAG = "-"
"""An item label for an item with no tag at all."""


RELEASED = PRESETS["afi"]
"""The scenarios' site secures by AFI; an item coming back was lent, so its tag is released."""


def tag_for(label: str, owner: str = "") -> SimTag | None:
    """The tag of a scenario's item label.

    ``B0001`` an item; ``B0006#1/2`` part 1 of a set of 2 (each part its own UID,
    the set's item id); ``B0002@VN-HCM0002`` an item whose tag names its owner library
    (else ``owner``); ``blank`` a tag with empty memory; ``-`` no tag at all.
    """
    label, _, named_owner = label.partition("@")
    owner = named_owner or owner
    if label == NO_TAG:
        return None
    if label == BLANK:
        return SimTag.with_data(uid_for("blank-tag"), bytes(32), afi=RELEASED.afi_unsecured)
    item_id, _, part = label.partition("#")
    index, size = (int(n) for n in part.split("/")) if part else (1, 1)
    data = encode(
        TagData(
            model="iso28560-3",
            item_id=item_id,
            owner_library=owner,
            set_size=size,
            set_index=index,
        )
    )
    return SimTag.with_data(uid_for(label), data, afi=RELEASED.afi_unsecured, eas=False)


MOVING = (Fate.WAITING, Fate.ON_BELT)
"""An item in one of these is still on its way: waiting at the intake or on the belt."""
KEEP = 2000
"""Items that left the belt the harness still lists by default (``--keep``)."""


class Belt:
    """The simulated belt, its items by label, and the PLC when there is one.

    Items still waiting or on the belt are always listed; of those that left it, only
    the last ``keep``: a bench feeding thousands measures the sorter, not this list
    (issue 15). ``fed`` and ``left`` count every one.
    """

    def __init__(self, machine: ConveyorMachine, plc: SimPlc | None, keep: int = KEEP) -> None:
        self.machine = machine
        self.plc = plc
        self.keep = keep
        self.items: list[tuple[str, Item]] = []
        self.fed = 0
        self._forgotten: dict[str, int] = {}
        """Items no longer listed, by fate."""
        self.lock = threading.Lock()
        # The machine's own lists would hold what this one forgets: one bound for both.
        machine.keep_left = min(machine.keep_left, keep)

    def feed(self, args: dict[str, Any]) -> Any:
        labels = [str(label) for label in args["items"]]
        every = args.get("every")
        owner = str(args.get("owner", ""))
        tags = [tag_for(label, owner) for label in labels]
        made = self.machine.feed(tags, every=float(every) if every else None)
        with self.machine.lock, self.lock:
            self.items.extend(zip(labels, made, strict=True))
            self.fed += len(made)
            self._forget()
        return {"fed": len(made)}

    def _forget(self) -> None:
        """Of the items that left the belt, list only the last ``keep`` (under both locks)."""
        gone = [i for i, (_, item) in enumerate(self.items) if item.fate not in MOVING]
        drop = set(gone[: max(0, len(gone) - self.keep)])
        if not drop:
            return
        for index in drop:
            fate = self.items[index][1].fate.value
            self._forgotten[fate] = self._forgotten.get(fate, 0) + 1
        self.items = [entry for index, entry in enumerate(self.items) if index not in drop]

    def _left(self) -> dict[str, int]:
        """Items that left the belt, by fate, those no longer listed included."""
        left = dict(self._forgotten)
        for _, item in self.items:
            if item.fate not in MOVING:
                left[item.fate.value] = left.get(item.fate.value, 0) + 1
        return left

    def _item(self, label: str) -> Item:
        with self.lock:
            found = [item for name, item in self.items if name == label]
        if not found:
            raise ValueError(f"no item {label!r} was fed")
        return found[-1]

    def fault(self, args: dict[str, Any]) -> Any:
        name = str(args["name"])
        if name == "jam":
            self.machine.jam(self._item(str(args["item"])), float(args.get("at", 2.0)))
        elif name == "clear_jam":
            self.machine.clear_jam(self._item(str(args["item"])))
        elif name == "slip":
            self.machine.slip(self._item(str(args["item"])))
        elif name == "trip_full":
            self.machine.trip_full(int(args["diverter"]), bool(args.get("on", True)))
        elif name == "silent_write_fail":
            field = self.machine.field
            assert field is not None
            field.faults.silent_write_fail[uid_for(str(args["item"]))] = int(args.get("count", 1))
        elif name in ("plc_down", "plc_up"):
            if self.plc is None:
                raise ValueError("this machine has no PLC (scenario: plc = true)")
            (self.plc.stop if name == "plc_down" else self.plc.start)()
        else:
            raise ValueError(f"no belt fault {name!r}")
        return {"fault": name}

    def state(self, moving_only: bool = False) -> dict[str, Any]:
        """Where the listed items are (only those still on their way with ``moving_only``),
        how many are on their way, and how many were fed and have left, by fate."""
        with self.machine.lock, self.lock:
            self._forget()
            listed = [
                (label, item)
                for label, item in self.items
                if not moving_only or item.fate in MOVING
            ]
            items = [
                {
                    "label": label,
                    "fate": item.fate.value,
                    "diverter": item.bin if item.fate is Fate.IN_BIN else None,
                    "afi": item.tag.afi if item.tag else None,
                    "eas": item.tag.eas if item.tag else None,
                    "entered_at": item.entered_at,
                    "left_at": item.left_at,
                }
                for label, item in listed
            ]
            moving = sum(item.fate in MOVING for _, item in self.items)
            return {"items": items, "moving": moving, "fed": self.fed, "left": self._left()}


def sim_commands(belt: Belt) -> dict[str, Command]:
    return {
        "sim_feed": lambda s, a: belt.feed(a),
        "sim_fault": lambda s, a: belt.fault(a),
        "sim_belt": lambda s, a: belt.state(moving_only=bool(a.get("moving_only"))),
        "sim_pending": lambda s, a: _pending(s),
    }


def _pending(sorter: Sorter) -> Any:
    """Work in flight: items read and not yet in a bin, checkins not yet sent or answered.

    A checkin whose security write failed stays open for staff (``securing`` or
    ``flagged``): that is where it rests, not work the machine is still doing.
    """
    sending = sorter.journal.in_states({"started", "ils_ok"})
    return {"open": len(sorter.store.on_belt()) + len(sending)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenario.sorter_child")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--plc", action="store_true", help="the belt behind a simulated PLC")
    parser.add_argument(
        "--keep", type=int, default=KEEP, help="items that left the belt sim_belt still lists"
    )
    args = parser.parse_args(argv)
    config = parse_config(args.config.read_text(encoding="utf-8"))
    assert config.devices.conveyor is not None
    machine = machine_for(parse_url(config.devices.conveyor))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ExitStack() as stack:
        plc: SimPlc | None = None
        if args.plc:
            # Only for a machine behind a PLC: pymodbus stays out of the others' memory.
            from drivers.sim.conveyor_plc import standard_plc

            # The PLC keeps the belt going on its own clock; muontra reaches it over Modbus TCP.
            machine.run_realtime(float(parse_url(config.devices.conveyor).number("rate", 1.0)))
            stack.callback(machine.stop_realtime)
            # Generous watchdog and answer timeout: the suite runs four workers on two cores
            # (and under faketime), where a 0.3 s answer limit made the link flap after
            # plc_back (sorter-17 failed once so in a fresh-clone run). Scenarios check what the
            # sorter does when the link goes and comes back, not how fast it notices.
            plc = standard_plc(machine, watchdog=2.0)
            plc.start()
            stack.callback(plc.close)
            devices = config.devices.model_copy(
                update={"conveyor": plc.url(poll="0.01", timeout="1.5")}
            )
            config = config.model_copy(update={"devices": devices})
        belt = Belt(machine, plc, keep=args.keep)
        sorter = build_sorter(config, stack, maintenance_every=0.5)
        sorter.start()
        stack.callback(sorter.stop)
        api = JsonLinesServer(
            config.device.api_socket,
            sorter,
            sorter.bus,
            {**COMMANDS, **sim_commands(belt)},
            name="sorter-scenario-api",
        )
        api.serve_in_thread()
        stack.callback(api.close)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
