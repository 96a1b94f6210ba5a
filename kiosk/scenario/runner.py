"""Running a scenario: a real engine process, the ILS simulator, simulated devices, checks.

Each scenario gets a fresh directory: the ILS simulator (seeded catalogue, in
this process, over real TCP), a device config generated from the scenario's
``[kiosk]`` table, and `muontra kiosk` started as a child process — so a
``kill`` step is a real SIGKILL and ``restart`` a real cold start that must
reconcile its journal. Steps drive the engine through its local API; the
expectations then read the ILS database, the tag field's state file and the
journal directly, not what the engine says about them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from drivers.sim.field import uid_for
from kiosk.engine.api import ApiClient
from kiosk.ils.sim.models import Item as IlsItem
from kiosk.ils.sim.models import Loan, Patron
from kiosk.ils.sim.running import running_simulator
from kiosk.journal.store import Journal
from kiosk.scenario.model import Expectation, Scenario, Step

CONFIG = """\
[device]
id = "scenario"
site = "MUONTRA"
role = "{role}"
data_dir = "{data}"
api_socket = "{socket}"

[ils]
url = "sip2://127.0.0.1:{port}?institution=MUONTRA&timeout={ils_timeout}"

[devices]
pad = "{pad}"
card = "card+sim://card-{name}"
barcode = "barcode+sim://scanner-{name}"
printer = "escpos+dummy://"

[security]
policy = "{policy}"

[patron]
pin = "{pin}"
idle_timeout = {idle_timeout}
idle_warning = {idle_warning}

[offline]
enabled = {offline}
max_items_per_patron = {offline_max}

[tags]
owner_libraries = {owners}
"""

DEFAULTS: dict[str, Any] = {
    "role": "self-checkout",
    "pin": "required",
    "idle_timeout": 60,
    "idle_warning": 15,
    "offline": True,
    "offline_max": 5,
    "owners": [],
    "policy": "afi",
    "timing": 0,
    "ils_timeout": 2,
    "crash_at": "",
    "pad": "",  # the pad reader's URL; empty: a sim:// pad kept in the data directory
}


def device_config(directory: Path, ils_port: int, overrides: dict[str, Any]) -> tuple[Path, Path]:
    """Write the engine's TOML config for a scenario; returns (config path, socket path)."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"[kiosk] has unknown keys: {', '.join(sorted(unknown))}")
    values = {**DEFAULTS, **overrides}
    socket = directory / "kiosk.sock"
    data = directory / "data"
    if not values["pad"]:
        timing = values["timing"]
        values["pad"] = f"sim://pad-{directory.name}?timing={timing}&state={data}/pad.json"
    # Simulated devices are named after the directory: two engines in one process
    # (the demo twice, tests) must not share a pad.
    text = CONFIG.format(
        name=directory.name,
        data=data,
        socket=socket,
        port=ils_port,
        offline=str(values["offline"]).lower(),
        owners=json.dumps(values["owners"]),
        **{k: v for k, v in values.items() if k not in ("offline", "owners")},
    )
    path = directory / "kiosk.toml"
    path.write_text(text)
    return path, socket


@dataclass
class Outcome:
    ok: bool
    text: str


@dataclass
class Report:
    name: str
    steps: list[Outcome] = field(default_factory=list)
    checks: list[Outcome] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and all(c.ok for c in self.steps + self.checks)


class StepFailed(Exception):
    pass


class ScenarioRun:
    def __init__(self, scenario: Scenario, directory: Path) -> None:
        self.scenario = scenario
        self.directory = directory
        self.events: list[dict[str, Any]] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.client: ApiClient | None = None
        self.crash_at = str(scenario.kiosk.get("crash_at", ""))
        self._claimed: set[int] = set()

    # --- the engine process ------------------------------------------------------------------

    def _start_engine(self, crash_at: str = "") -> None:
        env = {**os.environ, "MUONTRA_CRASH_AT": crash_at}
        log = open(self.directory / "engine.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "muontra", "kiosk", "--config", str(self.config)],
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise StepFailed(
                    f"the engine exited at start (code {self.process.returncode}); "
                    f"see {self.directory / 'engine.log'}"
                )
            try:
                self.client = ApiClient(self.socket, timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise StepFailed("the engine did not open its API socket in 30 s") from None
                time.sleep(0.05)
        self._call("subscribe")

    def _engine_gone(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        self.events.append(
            {"event": "engine_exited", "code": self.process.returncode if self.process else None}
        )

    def _call(self, cmd: str, **args: Any) -> dict[str, Any]:
        if self.client is None:
            raise StepFailed(f"{cmd}: the engine is not running")
        try:
            answer = self.client.call(cmd, **args)
        except (ConnectionError, OSError) as error:
            self._reap()
            raise StepFailed(f"{cmd}: the engine went away ({error})") from None
        finally:
            self._take_events()
        return answer

    def _take_events(self) -> None:
        if self.client is not None:
            self.events.extend(self.client.events)
            self.client.events.clear()

    def _reap(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                return
        self._engine_gone()

    def stop_engine(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    # --- running -------------------------------------------------------------------------------

    def run(self) -> Report:
        report = Report(self.scenario.name)
        with running_simulator(self.directory / "ils.sqlite", 20, 7) as (self.sim, self.store):
            self.baseline = self._loans_by_item()
            try:
                overrides = {k: v for k, v in self.scenario.kiosk.items() if k != "crash_at"}
                self.config, self.socket = device_config(self.directory, self.sim.port, overrides)
                self._start_engine(self.crash_at)
                for number, step in enumerate(self.scenario.steps, 1):
                    try:
                        detail = self._step(step)
                        report.steps.append(
                            Outcome(True, f"{number:2}. {step.do} {detail}".rstrip())
                        )
                    except StepFailed as failure:
                        report.steps.append(Outcome(False, f"{number:2}. {step.do}: {failure}"))
                        break
                self._settle()
                self.stop_engine()
                for expectation in self.scenario.expect:
                    report.checks.append(self._check(expectation))
            except StepFailed as failure:
                report.error = str(failure)
            finally:
                self.stop_engine()
        return report

    def _settle(self) -> None:
        """Before checking: let what is in flight finish (never a fixed sleep)."""
        if self.client is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status = self._call("status")
            if status.get("ok") and not status["result"]["pending"]:
                return
            time.sleep(0.05)

    def _step(self, step: Step) -> str:
        if step.do == "identify":
            return self._command("identify", {"method": step.method, "value": step.value}, step)
        if step.do == "pin":
            return self._command("pin", {"pin": step.pin}, step)
        if step.do == "command":
            assert step.cmd is not None
            return self._command(step.cmd, step.args, step)
        if step.do in ("place", "remove"):
            args: dict[str, Any] = {
                "item_id": step.item,
                "set_size": step.set_size,
                "set_index": step.set_index,
            }
            if step.do == "place":
                args.update(model=step.model, owner=step.owner)
                if step.memory:
                    args["memory"] = step.memory
                if step.afi is not None:
                    args["afi"] = step.afi
            return self._command(f"sim_{step.do}", args, step)
        if step.do == "clear":
            return self._command("sim_clear", {}, step)
        if step.do == "fault":
            args = {"name": step.name, "value": step.count}
            if step.item:
                label = step.item if step.set_size == 1 else f"{step.item}#{step.set_index}"
                args["uid"] = uid_for(label).hex()
            return self._command("sim_fault", args, step)
        if step.do == "card":
            args = {"text": step.text}
            if step.uid:
                args["uid"] = step.uid
            return self._command("sim_card", args, step)
        if step.do == "card_remove":
            return self._command("sim_card_remove", {}, step)
        if step.do == "scan":
            return self._command("sim_scan", {"code": step.code}, step)
        if step.do == "ils_down":
            self.sim.faults.down = True
            self.sim.drop_all_connections()
            return "(the ILS stops answering)"
        if step.do == "ils_up":
            self.sim.faults.down = False
            return "(the ILS answers again)"
        if step.do == "ils_latency":
            self.sim.faults.latency = step.seconds
            return f"({step.seconds} s per answer)"
        if step.do == "kill":
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)
            self._engine_gone()
            return "(SIGKILL)"
        if step.do == "restart":
            self.stop_engine()
            self._start_engine(step.crash_at or "")
            return "(cold start)"
        if step.do == "wait":
            return self._wait(step)
        if step.do == "wait_idle":
            self._settle()
            return ""
        raise StepFailed(f"unknown step {step.do}")

    def _command(self, cmd: str, args: dict[str, Any], step: Step) -> str:
        answer = self._call(cmd, **args)
        if step.expect_error:
            code = answer.get("error", {}).get("code") if not answer["ok"] else None
            if code != step.expect_error:
                raise StepFailed(f"expected error {step.expect_error!r}, got {code or 'success'}")
            return f"-> error {code} (as expected)"
        if not answer["ok"]:
            raise StepFailed(f"{cmd} failed: {answer['error']}")
        return ""

    def _matches(self, event: dict[str, Any], name: str, match: dict[str, Any]) -> bool:
        return event.get("event") == name and all(event.get(k) == v for k, v in match.items())

    def _wait(self, step: Step) -> str:
        """The first event not yet claimed by an earlier wait that matches (in any order)."""
        assert step.event is not None
        deadline = time.monotonic() + step.timeout
        while True:
            self._take_events()
            for index, event in enumerate(self.events):
                if index not in self._claimed and self._matches(event, step.event, step.match):
                    self._claimed.add(index)
                    return f"{step.event} {step.match or ''}".rstrip()
            if time.monotonic() > deadline:
                raise StepFailed(
                    f"no {step.event} event matching {step.match} within {step.timeout} s"
                )
            if self.client is None:
                raise StepFailed(f"waiting for {step.event}, but the engine is not running")
            if self.process is not None and self.process.poll() is not None:
                self._engine_gone()
                continue
            try:
                self.client.next_event(min(0.2, max(0.01, deadline - time.monotonic())))
            except (ConnectionError, OSError):
                self._reap()

    # --- checks --------------------------------------------------------------------------------

    def _loans_by_item(self) -> dict[str, int]:
        with self.store.read() as session:
            rows = session.execute(
                select(IlsItem.barcode, func.count(Loan.id))
                .join(Loan, Loan.item_id == IlsItem.id)
                .group_by(IlsItem.barcode)
            )
            return {barcode: count for barcode, count in rows}

    def _open_loan(self, item: str) -> str | None:
        with self.store.read() as session:
            return session.scalar(
                select(Patron.barcode)
                .join(Loan, Loan.patron_id == Patron.id)
                .join(IlsItem, Loan.item_id == IlsItem.id)
                .where(IlsItem.barcode == item, Loan.returned_at.is_(None))
            )

    def _tag(self, item: str, index: int | None) -> dict[str, Any] | None:
        label = item if index is None else f"{item}#{index}"
        state = json.loads((self.directory / "data" / "pad.json").read_text())
        uid = uid_for(label).hex()
        return next((t for t in state["tags"] if t["uid"] == uid), None)

    def _check(self, expectation: Expectation) -> Outcome:
        try:
            return self._check_one(expectation)
        except Exception as error:  # a check that cannot be made fails, with why
            return Outcome(False, f"{_describe(expectation)}: cannot check ({error})")

    def _check_one(self, e: Expectation) -> Outcome:
        label = _describe(e)
        if e.loan is not None:
            patron = self._open_loan(e.loan["item"])
            return Outcome(patron == e.loan["patron"], f"{label}: open loan to {patron}")
        if e.no_loan is not None:
            patron = self._open_loan(e.no_loan)
            return Outcome(patron is None, f"{label}: open loan to {patron}")
        if e.loans_made is not None:
            item = e.loans_made["item"]
            made = self._loans_by_item().get(item, 0) - self.baseline.get(item, 0)
            return Outcome(made == int(e.loans_made["count"]), f"{label}: {made} made")
        if e.tag is not None:
            tag = self._tag(e.tag["item"], e.tag.get("part"))
            if tag is None:
                return Outcome(False, f"{label}: no such tag")
            if "afi" in e.tag:
                return Outcome(tag["afi"] == int(e.tag["afi"]), f"{label}: AFI 0x{tag['afi']:02X}")
            secured = tag["afi"] == 0x07
            return Outcome(secured == bool(e.tag["secured"]), f"{label}: AFI 0x{tag['afi']:02X}")
        journal = Journal.open(self.directory / "data" / "journal.sqlite", migrate=False)
        try:
            if e.open_transactions is not None:
                count = len(journal.open_transactions())
                return Outcome(count == e.open_transactions, f"{label}: {count} open")
            if e.journal is not None:
                txns = [
                    t
                    for t in journal.all()
                    if t.item_id == e.journal["item"] and t.kind == e.journal.get("kind", t.kind)
                ]
                if not txns:
                    return Outcome(False, f"{label}: no transaction")
                last = txns[-1]
                ok = last.state == e.journal["state"]
                if "offline" in e.journal:
                    ok = ok and last.offline == bool(e.journal["offline"])
                return Outcome(
                    ok, f"{label}: {last.kind} {last.state}{' offline' if last.offline else ''}"
                )
        finally:
            journal.close()
        wanted = e.event or e.no_event or {}
        name = str(wanted.get("event"))
        match = {k: v for k, v in wanted.items() if k != "event"}
        seen = any(self._matches(event, name, match) for event in self.events)
        return Outcome(seen if e.event is not None else not seen, label)


def _describe(e: Expectation) -> str:
    for name, value in e:
        if value is not None:
            return f"{name} {value}"
    return "?"


def run_file(path: Path, keep: bool = False) -> Report:
    import tomllib

    from pydantic import ValidationError

    try:
        scenario = Scenario.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as error:
        return Report(path.name, error=f"not a valid scenario: {error}")
    directory = Path(tempfile.mkdtemp(prefix="muontra-scenario-"))
    try:
        return ScenarioRun(scenario, directory).run()
    finally:
        if not keep:
            import shutil

            shutil.rmtree(directory, ignore_errors=True)
