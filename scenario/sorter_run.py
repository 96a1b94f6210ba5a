"""Running a return machine scenario: the sorter in a child process on a simulated belt.

A scenario with a ``[sorter]`` table runs here instead of against a kiosk: the
same ILS simulator over real TCP, the same steps and expectations where they
apply (wait for events, ILS faults, kill and restart, journal, event order),
and the sorter's own. The child (:mod:`scenario.sorter_child`) is the sorter
as ``muontra sorter`` builds it, with the simulated belt in the same process:
a ``kill`` is a power cut of the whole machine, and the items on the belt are
lost with it, as staff find them after one.

The machine: a belt at 0.5 m/s run at twice the real pace, the tunnel reader
at 0.6 m, four diverters (bins ``1`` stacks, ``2`` media, ``hold``,
``transit``: :data:`POSITIONS`) and the exception bin ``x`` at the end. The ILS's sort bins (CL)
1 and 3 go to bin 1, 2 to bin 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from scenario.model import Expectation, Step
from scenario.runner import (
    Outcome,
    ScenarioRun,
    StepFailed,
    _nfc,
    _text,
)
from scenario.toml_text import toml_document

RATE = 2.0
"""Simulated seconds per real second (the belt runs at twice the real pace)."""

DIVERTERS = {"1": 1, "2": 2, "hold": 3, "transit": 4}
"""Which diverter puts an item in each bin; the exception bin ``x`` is the belt's end."""
EXCEPTION_BIN = "x"
POSITIONS = {"1": 1.6, "2": 2.2, "hold": 2.8, "transit": 4.6}
"""Diverter eyes, metres from the intake. Transit is far down the belt: items bound for it
stay on the belt, checked in, for 8 s (a power cut finds them there)."""
END = 5.2
ZONE = 0.7
"""The tunnel reader's field, from 0.6 m: shorter than the gap between two items at the
belt's spacing (1 m less an item's 0.25 m), so it never holds two of them; long enough
that an item the belt holds at its decision point (MARGIN before the first diverter) is
still in it, so its security can be written when a late ILS answers."""
MARGIN = 0.3
ITEM = 0.25
"""The simulated items' length (the conveyor's default)."""

SORTER_DEFAULTS: dict[str, Any] = {
    "late_ils": "hold_belt",
    "owners": [],
    "offline": True,
    "rules": [],
    "capacity_1": 50,
    "overflow_1": "",
    "capacity_2": 50,
    "capacity_x": 100,
    "capacity_hold": 50,
    "capacity_transit": 50,
    "rate": RATE,
    "ils_timeout": 2,
    "plc": False,
}


def sorter_config(directory: Path, ils_port: int, overrides: dict[str, Any]) -> tuple[Path, Path]:
    """Write the sorter's TOML config for a scenario; returns (config path, socket path)."""
    unknown = set(overrides) - set(SORTER_DEFAULTS)
    if unknown:
        raise ValueError(f"[sorter] has unknown keys: {', '.join(sorted(unknown))}")
    for key, value in overrides.items():
        # Each value as plain as its default: a scenario's value stays a value, never a table.
        default = SORTER_DEFAULTS[key]
        plain = isinstance(value, type(default)) and not isinstance(value, dict)
        if isinstance(default, list):
            plain = plain and all(isinstance(entry, str) for entry in value)
        if not plain:
            raise ValueError(f"[sorter] {key} must be like {default!r}, not {value!r}")
    v = {**SORTER_DEFAULTS, **overrides}
    name = f"belt-{directory.name}"
    data = directory / "data"
    socket = directory / "sorter.sock"
    conveyor = (
        f"conveyor+sim://{name}?clock=real&rate={v['rate']}&speed=0.5&reader=0.6&zone={ZONE}"
        f"&diverters={','.join(str(p) for p in POSITIONS.values())}&end={END}"
    )
    names = {
        "1": ("Kho chung", "Stacks"),
        "2": ("Đa phương tiện", "Media"),
        "hold": ("Đặt trước", "Holds"),
        "transit": ("Chuyển chi nhánh", "Transit"),
    }
    capacity = {
        "1": v["capacity_1"],
        "2": v["capacity_2"],
        "hold": v["capacity_hold"],
        "transit": v["capacity_transit"],
    }
    bins: list[dict[str, Any]] = []
    for bin_id, (vi, en) in names.items():
        entry: dict[str, Any] = {
            "id": bin_id,
            "name_vi": vi,
            "name_en": en,
            "capacity": capacity[bin_id],
            "output": f"diverter{DIVERTERS[bin_id]}",
            "full_sensor": f"full{DIVERTERS[bin_id]}",
            "position": POSITIONS[bin_id],
        }
        if bin_id == "1" and v["overflow_1"]:
            entry["overflow"] = v["overflow_1"]
        bins.append(entry)
    bins.append(
        {"id": EXCEPTION_BIN, "name_vi": "Ngoại lệ", "name_en": "Exceptions",
         "capacity": v["capacity_x"]}
    )  # fmt: skip
    ils = f"institution=MUONTRA&location=TT&timeout={v['ils_timeout']}"
    text = toml_document(
        {
            "device": {
                "id": "scenario-sorter",
                "site": "MUONTRA",
                "role": "sorter",
                "data_dir": str(data),
                "api_socket": str(socket),
            },
            "ils": {"url": f"sip2://127.0.0.1:{ils_port}?{ils}"},
            "devices": {"conveyor": conveyor, "tunnel": f"sim://{name}?timing=0.05"},
            "security": {"policy": "afi"},
            "offline": {"enabled": bool(v["offline"])},
            "tags": {"owner_libraries": list(v["owners"])},
            "sorter": {
                "exception_bin": EXCEPTION_BIN,
                "default_bin": "1",
                "hold_bin": "hold",
                "transit": {"default": "transit"},
                "sort_bins": {"1": "1", "2": "2", "3": "1"},
                "rules": list(v["rules"]),
                "late_ils": v["late_ils"],
                "belt_speed": 0.5,
                "decision_margin": MARGIN,
                "reader_position": 0.6,
                "reader_field": ZONE + ITEM,
                "bins": bins,
            },
        },
        nested=True,
    )
    path = directory / "sorter.toml"
    path.write_text(text, encoding="utf-8")
    return path, socket


class SorterRun(ScenarioRun):
    """A scenario against the return machine (see the module's doc)."""

    def _configure(self) -> None:
        assert self.scenario.sorter is not None
        try:
            self.config, self.socket = sorter_config(
                self.directory, self.sim.port, self.scenario.sorter
            )
        except ValueError as error:
            raise StepFailed(f"[sorter]: {error}") from None
        self.final: dict[str, Any] | None = None

    def _engine_command(self) -> list[str]:
        command = [sys.executable, "-m", "scenario.sorter_child", "--config", str(self.config)]
        if self.scenario.sorter and self.scenario.sorter.get("plc"):
            command.append("--plc")
        return command

    def _step(self, step: Step) -> str:
        if step.do == "feed":
            args: dict[str, Any] = {"items": step.items, "owner": step.owner}
            if step.every is not None:
                args["every"] = step.every
            self._command("sim_feed", args)
            return " ".join(step.items)
        if step.do == "belt":
            args = {"name": step.name, "item": step.item, "count": step.count}
            if step.at is not None:
                args["at"] = step.at
            if step.diverter is not None:
                args["diverter"] = step.diverter
            self._command("sim_fault", args)
            return f"{step.name} {step.item or step.diverter or ''}".rstrip()
        if step.do in ("place", "remove", "clear", "fault", "card", "card_remove", "scan"):
            raise StepFailed(f"{step.do} is a kiosk step; a return machine is fed with 'feed'")
        return super()._step(step)

    def _result(self, cmd: str, **args: Any) -> dict[str, Any]:
        answer = self._call(cmd, **args)
        if not answer.get("ok"):
            raise StepFailed(f"{cmd} failed: {answer.get('error')}")
        result = answer["result"]
        assert isinstance(result, dict)
        return result

    def _settle(self, timeout: float) -> None:
        """Until no item is on the belt (or waits at an open intake) and no checkin is open."""
        deadline = time.monotonic() + timeout
        while True:
            belt = self._result("sim_belt")
            status = self._result("status")
            pending = self._result("sim_pending")["open"]
            on_belt = sum(i["fate"] == "on_belt" for i in belt["items"])
            waiting = sum(i["fate"] == "waiting" for i in belt["items"])
            # An item at a closed intake stays there: that is the machine's answer to full
            # bins; items on a belt stopped for a jam or a lost PLC stay where they are.
            at_rest = status["belt"] == "stopped" and status["state"] != "running"
            moving = on_belt and not at_rest
            if not moving and not pending and not (waiting and status["intake_open"]):
                return
            if time.monotonic() >= deadline:
                raise StepFailed(
                    f"still busy after {timeout} s ({on_belt} on the belt, {waiting} at the "
                    f"intake, {pending} checkins open)",
                    "timeout",
                )
            time.sleep(0.05)

    def stop_engine(self) -> None:
        # What the checks read of the machine is taken while it still runs.
        if self.client is not None and getattr(self, "final", None) is None:
            try:
                self.final = {
                    "belt": self._result("sim_belt"),
                    "status": self._result("status"),
                    "staff_report": self._result("staff_report")["lines"],
                }
            except StepFailed:
                self.final = None
        super().stop_engine()

    # --- checks ---------------------------------------------------------------------------

    def _tag(self, item: str, index: int | None) -> dict[str, Any] | None:
        label = item if index is None else f"{item}#{index}"
        for entry in reversed(self._final("belt")["items"]):
            bare = entry["label"].partition("@")[0]
            if bare == label or bare.startswith(f"{label}/"):
                return entry if entry["afi"] is not None else None
        return None

    def _final(self, part: str) -> Any:
        if self.final is None:
            raise ValueError("the sorter was not running at the end, so its state is unknown")
        return self.final[part]

    def _check_one(self, e: Expectation) -> Outcome:
        label = next(f"{n} {v}" for n, v in e if v is not None)
        if e.sorted is not None:
            return self._check_sorted(label, e.sorted)
        if e.bin_count is not None:
            bins = {b["id"]: b for b in self._final("status")["bins"]}
            found = bins[str(e.bin_count["bin"])]
            ok = found["count"] == int(e.bin_count["count"])
            if "full" in e.bin_count:
                ok = ok and found["full"] is bool(e.bin_count["full"])
            return Outcome(ok, f"{label}: count {found['count']}, full {found['full']}")
        if e.staff_report is not None:
            wanted = e.staff_report
            lines = [
                line
                for line in self._final("staff_report")
                if line["item_id"] == str(wanted.get("item", line["item_id"]))
                and _nfc(str(wanted.get("contains", ""))) in _text(line["text"])
            ]
            ok = bool(lines) if "count" not in wanted else len(lines) == int(wanted["count"])
            every = [f"{x['item_id']}: {x['text']['en']}" for x in self._final("staff_report")]
            return Outcome(ok, f"{label}: {len(lines)} matching of {every}")
        if e.status is not None:
            status = self._final("status")
            ok = all(status.get(k) == v for k, v in e.status.items())
            shown = {k: status.get(k) for k in e.status}
            return Outcome(ok, f"{label}: {shown}")
        return super()._check_one(e)

    def _check_sorted(self, label: str, wanted: dict[str, Any]) -> Outcome:
        item, bin_id = str(wanted["item"]), str(wanted["bin"])
        entries = [i for i in self._final("belt")["items"] if _item_of(i["label"]) == item]
        if not entries:
            return Outcome(False, f"{label}: the item was never fed")
        place = entries[-1]
        if bin_id == EXCEPTION_BIN:
            physical = place["fate"] == "in_exception_bin"
        else:
            physical = place["fate"] == "in_bin" and place["diverter"] == DIVERTERS.get(bin_id)
        told = [e for e in self.events if e.get("event") == "item" and e.get("item_id") == item]
        last = told[-1] if told else {}
        said = last.get("bin") == bin_id
        if "reason" in wanted:
            said = said and (last.get("reason") or "") == str(wanted["reason"])
        where = place["fate"] + (f" {place['diverter']}" if place["diverter"] else "")
        return Outcome(
            physical and said,
            f"{label}: on the belt it went {where}; the sorter said bin {last.get('bin')}, "
            f"reason {last.get('reason')}",
        )


def _item_of(label: str) -> str:
    """The item id of a feed label (``B0006#1/2`` and ``B0002@VN-HCM0002`` are B0006, B0002)."""
    return label.partition("@")[0].partition("#")[0]
