"""Simulator controls through the local API, for demos, the simulator panel and scenarios.

Only devices opened as simulators answer: ``sim_place`` puts a tagged item on
a ``sim://`` pad, ``sim_card`` shows a patron card on a ``card+sim://`` reader,
``sim_scan`` scans a code on a ``barcode+sim://`` scanner, ``sim_fault`` flips a
fault switch of the tag field. On real hardware they fail with "not a simulator".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drivers.sim.field import SimTag, uid_for
from drivers.sim.reader import SimReader
from protocols.tags import TagData, encode

if TYPE_CHECKING:
    from kiosk.core import Engine

Command = Callable[["Engine", dict[str, Any]], Any]


class SimControl:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def command(self, name: str) -> Command | None:
        method = getattr(self, name, None)
        return method if callable(method) else None

    def _field(self, engine: Engine) -> Any:
        if not isinstance(engine.reader, SimReader):
            raise ValueError("the pad is not a simulator")
        return engine.reader.field

    def sim_place(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        field = self._field(engine)
        item = str(args["item_id"])
        parts, part = int(args.get("set_size", 1)), int(args.get("set_index", 1))
        label = item if parts == 1 else f"{item}#{part}"
        uid = bytes.fromhex(args["uid"]) if "uid" in args else uid_for(label)
        if "memory" in args:
            memory = bytes.fromhex(args["memory"])
        else:
            memory = encode(
                TagData(
                    model=args.get("model", "iso28560-3"),
                    item_id=item,
                    owner_library=args.get("owner", ""),
                    set_size=parts,
                    set_index=part,
                )
            )
        existing = field.departed.get(uid) or field.tags.get(uid)
        if existing is not None and "memory" not in args and not args.get("fresh"):
            field.place(existing)  # the same physical tag comes back, with its state
        else:
            field.place(
                SimTag.with_data(
                    uid, memory, afi=int(args.get("afi", 0x07)), eas=bool(args.get("eas", True))
                )
            )
        return {"uid": uid.hex().upper()}

    def sim_remove(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        field = self._field(engine)
        if "uid" in args:
            uid = bytes.fromhex(args["uid"])
        else:
            parts, part = int(args.get("set_size", 1)), int(args.get("set_index", 1))
            item = str(args["item_id"])
            uid = uid_for(item if parts == 1 else f"{item}#{part}")
        return {"removed": field.remove(uid) is not None}

    def sim_clear(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        self._field(engine).clear()
        return {"cleared": True}

    def sim_tags(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        field = self._field(engine)
        with field.lock:
            every = {**field.departed, **field.tags}
            return {
                "tags": [
                    {
                        "uid": uid.hex().upper(),
                        "on_pad": uid in field.tags,
                        "afi": tag.afi,
                        "eas": tag.eas,
                    }
                    for uid, tag in every.items()
                ]
            }

    def sim_fault(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        field = self._field(engine)
        name = args["name"]
        faults = field.faults
        uid = (
            bytes.fromhex(args["uid"])
            if "uid" in args
            else (uid_for(str(args["item_id"])) if "item_id" in args else None)
        )
        if name == "unplugged":
            faults.unplugged = bool(args.get("value", True))
        elif name == "miss_rounds" and uid is not None:
            faults.miss_rounds[uid] = int(args.get("value", 1))
        elif name == "leave_during_write" and uid is not None:
            faults.leave_during_write.add(uid)
        elif name == "silent_write_fail" and uid is not None:
            faults.silent_write_fail[uid] = int(args.get("value", 1))
        elif name == "read_fails" and uid is not None:
            faults.read_fails[uid] = int(args.get("value", 1))
        elif name == "lock_afi" and uid is not None:
            field.tag(uid).afi_locked = True
        else:
            raise ValueError(f"unknown fault {name!r} (or it needs item_id/uid)")
        return {"fault": name}

    def sim_ils(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        """The ILS simulator stops answering (``down``) or answers again; ``latency`` slows it."""
        simulator = engine.ils_simulator
        if simulator is None:
            raise ValueError("the ILS is not a simulator this engine can reach")
        if "latency" in args:
            simulator.faults.latency = float(args["latency"])
        if "down" in args:
            simulator.faults.down = bool(args["down"])
            if simulator.faults.down:
                simulator.drop_all_connections()
        return {"down": simulator.faults.down, "latency": simulator.faults.latency}

    def sim_card(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        card = engine.card
        present = getattr(card, "present", None)
        if present is None:
            raise ValueError("the card reader is not a simulator")
        uid = bytes.fromhex(args.get("uid", "04A1B2C3D4E5F6"))
        present(uid, args.get("text"))
        return {"uid": uid.hex().upper()}

    def sim_card_remove(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        remove = getattr(engine.card, "remove", None)
        if remove is None:
            raise ValueError("the card reader is not a simulator")
        remove()
        return {"removed": True}

    def sim_scan(self, engine: Engine, args: dict[str, Any]) -> dict[str, Any]:
        scan = getattr(engine.barcode, "scan", None)
        if scan is None:
            raise ValueError("the barcode scanner is not a simulator")
        scan(str(args["code"]))
        return {"scanned": True}
