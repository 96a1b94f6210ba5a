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
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, or_, select

from drivers.sim.field import uid_for
from engine.journal.store import Journal
from engine.receipts.qr import parse_qr_payload
from ilssim.circulation import Policy
from ilssim.models import ACTIVE_HOLD_STATES, Hold, Loan, Patron
from ilssim.models import Item as IlsItem
from ilssim.running import running_simulator
from ilssim.server import CloseConnection
from kiosk.api import ApiClient
from protocols.tags.security import PRESETS, SecurityPolicy
from scenario.mailbox import Mailbox
from scenario.model import Expectation, Scenario, Step
from scenario.toml_text import toml_document

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
    "ils_timeout": 5,  # s; 2 s was once too short for an answer on a loaded test machine
    "crash_at": "",
    "pad": "",  # the pad reader's URL; empty: a sim:// pad kept in the data directory
    "profile": "",  # the kiosk's SIP2 dialect profile (generic, koha, …); empty: the default
    "encoding": "",  # the kiosk's SIP2 wire encoding; empty: the profile's
    "timezone": "",  # the device's time zone; empty: the default
}


def device_config(
    directory: Path, ils_port: int, overrides: dict[str, Any], smtp_port: int | None = None
) -> tuple[Path, Path]:
    """Write the engine's TOML config for a scenario; returns (config path, socket path).

    Every value is written as a TOML value (strings quoted and escaped), never pasted
    into the text: a scenario value cannot add keys or tables of its own.
    """
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"[kiosk] has unknown keys: {', '.join(sorted(unknown))}")
    values = {**DEFAULTS, **overrides}
    socket = directory / "kiosk.sock"
    data = directory / "data"
    if not values["pad"]:
        query = urlencode({"timing": values["timing"], "state": f"{data}/pad.json"})
        values["pad"] = f"sim://pad-{directory.name}?{query}"
    ils: dict[str, Any] = {"institution": "MUONTRA", "timeout": values["ils_timeout"]}
    ils.update({k: values[k] for k in ("profile", "encoding") if values[k]})
    device: dict[str, Any] = {
        "id": "scenario",
        "site": "MUONTRA",
        "role": values["role"],
        "data_dir": str(data),
        "api_socket": str(socket),
    }
    if values["timezone"]:
        device["timezone"] = values["timezone"]
    receipt = directory / RECEIPT_FILE
    receipt.touch()
    # Simulated devices are named after the directory: two engines in one process
    # (the demo twice, tests) must not share a pad.
    text = toml_document(
        {
            "device": device,
            "ils": {"url": f"sip2://127.0.0.1:{ils_port}?{urlencode(ils)}"},
            "devices": {
                "pad": values["pad"],
                "card": f"card+sim://card-{directory.name}",
                "barcode": f"barcode+sim://scanner-{directory.name}",
                "printer": f"escpos+file://{receipt}",
            },
            "security": {"policy": values["policy"]},
            "patron": {
                "pin": values["pin"],
                "idle_timeout": values["idle_timeout"],
                "idle_warning": values["idle_warning"],
            },
            "offline": {
                "enabled": values["offline"],
                "max_items_per_patron": values["offline_max"],
            },
            "tags": {"owner_libraries": values["owners"]},
            **(
                {
                    "receipts": {"email": True},
                    "receipts.smtp": {
                        "host": "127.0.0.1",
                        "port": smtp_port,
                        "starttls": False,
                        "sender": "kiosk@example.org",
                    },
                }
                if smtp_port
                else {}
            ),
        }
    )
    path = directory / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path, socket


RECEIPT_FILE = "receipt.bin"
"""Where the engine's receipt printer (escpos+file://) writes, for the receipt checks."""


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
    known_failure: str | None = None
    """The scenario's known_failure marker (an open bug it reproduces), if any."""

    @property
    def ok(self) -> bool:
        return not self.error and all(c.ok for c in self.steps + self.checks)

    @property
    def as_expected(self) -> bool:
        """Passed, or failed as its known_failure says it does (a strict expected failure)."""
        return self.ok is (self.known_failure is None)


class StepFailed(Exception):
    """A step (or the settle before the checks) did not do what it should; ``code`` names why."""

    def __init__(
        self, message: str, code: str = "failed", error: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error = error or {}
        """The API's error answer, when the step was a command (code, en, vi)."""


_RESERVED = ("event", "contains", "count", "at_most")
"""Keys of an event expectation that are not event fields."""


def event_matches(
    event: dict[str, Any], name: str, match: dict[str, Any], contains: dict[str, str]
) -> bool:
    """The event is ``name``, its fields equal ``match`` and contain the texts of ``contains``."""
    if event.get("event") != name:
        return False
    if any(event.get(k) != v for k, v in match.items()):
        return False
    return all(k in event and _nfc(str(text)) in _text(event[k]) for k, text in contains.items())


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _text(value: Any) -> str:
    """A field as text for a substring match: a bilingual message matches in either language.

    Compared composed (NFC): a scenario states what a patron reads, and a title stored
    decomposed reads the same.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return _nfc(value)
    return _nfc(json.dumps(value, ensure_ascii=False))


def _split(wanted: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    match = {k: v for k, v in wanted.items() if k not in _RESERVED}
    contains = wanted.get("contains") or {}
    if not isinstance(contains, dict):
        raise ValueError("contains must be a table {field = text}")
    return str(wanted.get("event")), match, {str(k): str(v) for k, v in contains.items()}


class ScenarioRun:
    def __init__(self, scenario: Scenario, directory: Path) -> None:
        self.scenario = scenario
        self.directory = directory
        self.events: list[dict[str, Any]] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.client: ApiClient | None = None
        self.crash_at = str(scenario.kiosk.get("crash_at", ""))
        self._claimed: set[int] = set()
        self._first_event = 0
        self.qr_payloads: list[str] = []
        self.policy: SecurityPolicy | None = PRESETS.get(
            str(scenario.kiosk.get("policy", DEFAULTS["policy"]))
        )
        self.started_at = datetime.now(UTC)

    # --- the engine process ------------------------------------------------------------------

    def _engine_command(self) -> list[str]:
        return [sys.executable, "-m", "muontra", "kiosk", "--config", str(self.config)]

    def _configure(self) -> None:
        """Write the engine's config from the scenario's ``[kiosk]`` table."""
        overrides = {k: v for k, v in self.scenario.kiosk.items() if k != "crash_at"}
        try:
            self.config, self.socket = device_config(
                self.directory, self.sim.port, overrides, self.mailbox.port
            )
        except ValueError as error:
            raise StepFailed(f"[kiosk]: {error}") from None

    def _start_engine(self, crash_at: str = "") -> None:
        env = {**os.environ, "MUONTRA_CRASH_AT": crash_at}
        log = open(self.directory / "engine.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            self._engine_command(),
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise StepFailed(
                    f"the engine exited at start (code {self.process.returncode}); "
                    f"see {self.directory / 'engine.log'}",
                    "start_failed",
                )
            try:
                self.client = ApiClient(self.socket, timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise StepFailed(
                        "the engine did not open its API socket in 30 s", "start_failed"
                    ) from None
                time.sleep(0.05)
        self._first_event = len(self.events)
        self._call("subscribe")
        # The engine publishes `reconciled` and `ready` while it starts, before its API
        # is open: take them from its history, merged with what the subscription brings.
        self._catch_up()

    def _catch_up(self) -> None:
        """Merge the engine's own history of this run's events into what was received.

        The subscription may deliver an event after the answer to a later command; the
        history holds every event in order, so nothing published is missed at a restart
        or before the engine is stopped for the checks.
        """
        backlog = self._call("history")
        live = self.events[self._first_event :]
        seen = {e.get("seq") for e in live}
        missing = [e for e in backlog.get("result", {}).get("events", []) if e["seq"] not in seen]
        if not missing:
            return
        if any(i >= self._first_event for i in self._claimed):
            self.events.extend(sorted(missing, key=lambda e: int(e["seq"])))
        else:
            self.events[self._first_event :] = sorted(
                missing + live, key=lambda e: int(e.get("seq", 0))
            )

    def _engine_gone(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        self.events.append(
            {"event": "engine_exited", "code": self.process.returncode if self.process else None}
        )

    def _call(self, cmd: str, **args: Any) -> dict[str, Any]:
        if self.client is None:
            raise StepFailed(f"{cmd}: the engine is not running", "engine_gone")
        try:
            answer = self.client.call(cmd, **args)
        except (ConnectionError, OSError) as error:
            self._reap()
            raise StepFailed(f"{cmd}: the engine went away ({error})", "engine_gone") from None
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
        self.mailbox = Mailbox()
        try:
            with running_simulator(self.directory / "ils.sqlite", 20, 7) as sim_and_store:
                self.sim, self.store = sim_and_store
                self._run(report)
        finally:
            self.mailbox.close()
        return report

    def _run(self, report: Report) -> None:
        self.baseline = self._loans_by_item()
        self.started_at = self._ils_now()
        try:
            self._configure()
            self._start_engine(self.crash_at)
            for number, step in enumerate(self.scenario.steps, 1):
                try:
                    detail = self._play(step)
                    report.steps.append(Outcome(True, f"{number:2}. {step.do} {detail}".rstrip()))
                except StepFailed as failure:
                    report.steps.append(Outcome(False, f"{number:2}. {step.do}: {failure}"))
                    break
            if self.client is not None:
                try:
                    self._settle(self.scenario.settle_timeout)
                    self._catch_up()
                except StepFailed as failure:
                    report.steps.append(Outcome(False, f"before the checks: {failure}"))
            self.stop_engine()
            for expectation in self.scenario.expect:
                report.checks.append(self._check(expectation))
        except StepFailed as failure:
            report.error = str(failure)
        finally:
            self.stop_engine()

    def _settle(self, timeout: float) -> None:
        """Until nothing is in flight; still busy after ``timeout`` s: StepFailed (never "ok")."""
        deadline = time.monotonic() + timeout
        pending: Any = "?"
        while True:
            status = self._call("status")
            if status.get("ok"):
                pending = status["result"]["pending"]
                if not pending:
                    return
            if time.monotonic() >= deadline:
                raise StepFailed(f"still busy after {timeout} s ({pending} pending)", "timeout")
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _play(self, step: Step) -> str:
        """One step, held to its ``expect_error``: fail with exactly that code, or succeed."""
        try:
            detail = self._step(step)
        except StepFailed as failure:
            if step.expect_error is None:
                raise
            if failure.code != step.expect_error:
                raise StepFailed(
                    f"expected error {step.expect_error!r}, got {failure.code!r}: {failure}",
                    failure.code,
                ) from None
            wrong = {
                k: t
                for k, t in step.contains.items()
                if _nfc(t) not in _text(failure.error if k == "error" else failure.error.get(k))
            }
            if wrong:
                raise StepFailed(
                    f"error {failure.code} as expected, but {wrong} not in {failure.error}",
                    failure.code,
                ) from None
            return f"-> error {failure.code} (as expected)"
        if step.expect_error is not None:
            raise StepFailed(f"expected error {step.expect_error!r}, got success")
        return detail

    def _step(self, step: Step) -> str:
        if step.do == "identify":
            return self._command("identify", {"method": step.method, "value": step.value})
        if step.do == "pin":
            return self._command("pin", {"pin": step.pin})
        if step.do == "command":
            assert step.cmd is not None
            return self._command(step.cmd, step.args)
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
                # A tag on the shelf is secured the way this site secures tags.
                afi = step.afi
                if afi is None and self.policy is not None:
                    afi = self.policy.afi_secured
                if afi is not None:
                    args["afi"] = afi
                if step.eas is not None:
                    args["eas"] = step.eas
            return self._command(f"sim_{step.do}", args)
        if step.do == "clear":
            return self._command("sim_clear", {})
        if step.do == "fault":
            args = {"name": step.name, "value": step.count}
            if step.item:
                label = step.item if step.set_size == 1 else f"{step.item}#{step.set_index}"
                args["uid"] = uid_for(label).hex()
            return self._command("sim_fault", args)
        if step.do == "card":
            args = {"text": step.text}
            if step.uid:
                args["uid"] = step.uid
            return self._command("sim_card", args)
        if step.do == "card_remove":
            return self._command("sim_card_remove", {})
        if step.do == "scan":
            return self._command("sim_scan", {"code": step.code})
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
        if step.do == "ils_fault" and step.name == "lose_answer":
            return self._lose_next_answer(str(step.setting))
        if step.do == "ils_fault":
            assert step.name is not None
            value = step.setting
            text = str(value).lower() if isinstance(value, bool) else str(value)
            try:
                self.sim.faults.set(step.name, text)
            except (ValueError, LookupError) as error:
                raise StepFailed(f"ILS fault {step.name}: {error}", "bad_fault") from None
            return f"(ILS {step.name} = {text})"
        if step.do in ("ils_checkout", "ils_checkin"):
            return self._desk(step)
        if step.do == "delay":
            time.sleep(step.seconds)  # the scenario asks for time to pass (an idle patron)
            self._take_events()
            return f"({step.seconds} s)"
        if step.do == "kill":
            if self.process is None or self.process.poll() is not None or self.client is None:
                raise StepFailed("no engine is running", "not_running")
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
            if self.client is None:
                raise StepFailed("the engine is not running", "engine_gone")
            self._settle(step.timeout)
            return ""
        raise StepFailed(f"unknown step {step.do}")

    def _lose_next_answer(self, command: str) -> str:
        """The ILS carries out the next request with this SIP2 command code (``11`` a checkout,
        ``09`` a checkin, ``29`` a renewal), then drops the link instead of answering — once."""
        if len(command) != 2 or not command.isdigit():
            raise StepFailed(
                f"lose_answer needs a SIP2 request code such as '11', not {command!r}", "bad_fault"
            )
        server = self.sim.server
        real = server.handler
        lost: list[bool] = []

        def handler(request: Any, session: Any) -> Any:
            answer = real(request, session)
            if getattr(request, "command", None) == command and not lost:
                lost.append(True)
                server.handler = real
                raise CloseConnection("scenario: the answer is lost")
            return answer

        server.handler = handler
        return f"(the next {command} is carried out, its answer lost)"

    def _desk(self, step: Step) -> str:
        """The library's own desk lends or takes back an item, straight in the ILS."""
        circulation = getattr(getattr(self.sim.server, "handler", None), "circulation", None)
        if circulation is None:
            raise StepFailed("the ILS simulator's circulation is out of reach")
        assert step.item is not None
        if step.do == "ils_checkout":
            assert step.value is not None
            result = circulation.checkout(step.value, step.item, terminal="desk")
        else:
            result = circulation.checkin(step.item, "TT", terminal="desk")
        if not result.ok:
            raise StepFailed(f"the ILS refused {step.do} of {step.item}", "refused")
        return f"({step.item} at the desk)"

    def _command(self, cmd: str, args: dict[str, Any]) -> str:
        answer = self._call(cmd, **args)
        if not answer["ok"]:
            error = answer.get("error", {})
            raise StepFailed(f"{cmd} failed: {error}", str(error.get("code", "failed")), error)
        result = answer.get("result")
        if isinstance(result, dict) and isinstance(result.get("payload"), str):
            self.qr_payloads.append(result["payload"])
        return ""

    def _wait(self, step: Step) -> str:
        """``count`` events not yet claimed by an earlier wait that match (in any order)."""
        assert step.event is not None
        deadline = time.monotonic() + step.timeout
        found: list[int] = []
        while True:
            self._take_events()
            for index, event in enumerate(self.events):
                if len(found) == step.count:
                    break
                if (
                    index not in self._claimed
                    and index not in found
                    and event_matches(event, step.event, step.match, step.contains)
                ):
                    found.append(index)
            if len(found) == step.count:
                self._claimed.update(found)
                times = f" x{step.count}" if step.count > 1 else ""
                return f"{step.event}{times} {step.match or ''} {step.contains or ''}".rstrip()
            if time.monotonic() > deadline:
                raise StepFailed(
                    f"{len(found)} of {step.count} {step.event} event(s) matching "
                    f"{step.match} {step.contains or ''} within {step.timeout} s",
                    "timeout",
                )
            if self.client is None:
                raise StepFailed(
                    f"waiting for {step.event}, but the engine is not running", "engine_gone"
                )
            if self.process is not None and self.process.poll() is not None:
                self._engine_gone()
                continue
            try:
                self.client.next_event(min(0.2, max(0.01, deadline - time.monotonic())))
            except (ConnectionError, OSError):
                self._reap()

    # --- checks --------------------------------------------------------------------------------

    def _ils_now(self) -> datetime:
        circulation = getattr(getattr(self.sim.server, "handler", None), "circulation", None)
        clock = getattr(circulation, "clock", None)
        return clock() if callable(clock) else datetime.now(UTC)

    def _ils_policy(self) -> Policy:
        circulation = getattr(getattr(self.sim.server, "handler", None), "circulation", None)
        policy = getattr(circulation, "policy", None)
        return policy if isinstance(policy, Policy) else Policy()

    def _days_from_start(self, day: date) -> set[int]:
        """Days from the scenario's day to ``day`` (two answers when it ran over midnight)."""
        policy = self._ils_policy()
        days = {policy.local_day(self.started_at), policy.local_day(self._ils_now())}
        return {(day - start).days for start in days}

    def _loans_by_item(self) -> dict[str, int]:
        with self.store.read() as session:
            rows = session.execute(
                select(IlsItem.barcode, func.count(Loan.id))
                .join(Loan, Loan.item_id == IlsItem.id)
                .group_by(IlsItem.barcode)
            )
            return {barcode: count for barcode, count in rows}

    def _open_loan(self, item: str) -> tuple[str, Loan] | None:
        with self.store.read() as session:
            row = session.execute(
                select(Patron.barcode, Loan)
                .join(Loan, Loan.patron_id == Patron.id)
                .join(IlsItem, Loan.item_id == IlsItem.id)
                .where(IlsItem.barcode == item, Loan.returned_at.is_(None))
            ).first()
            if row is None:
                return None
            session.expunge(row[1])
            return row[0], row[1]

    def _holds(self, item: str, patron: str) -> list[str]:
        with self.store.read() as session:
            found = session.execute(select(IlsItem).where(IlsItem.barcode == item)).scalar()
            if found is None:
                raise ValueError(f"the ILS has no item {item}")
            rows = session.scalars(
                select(Hold.status)
                .join(Patron, Hold.patron_id == Patron.id)
                .where(
                    Patron.barcode == patron,
                    or_(
                        Hold.item_id == found.id,
                        Hold.item_id.is_(None) & (Hold.bib_id == found.bib_id),
                    ),
                )
                .order_by(Hold.id)
            )
            return [str(status) for status in rows]

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
            return self._check_loan(label, e.loan)
        if e.no_loan is not None:
            loan = self._open_loan(e.no_loan)
            return Outcome(loan is None, f"{label}: open loan to {loan[0] if loan else None}")
        if e.loans_made is not None:
            item = e.loans_made["item"]
            made = self._loans_by_item().get(item, 0) - self.baseline.get(item, 0)
            return Outcome(made == int(e.loans_made["count"]), f"{label}: {made} made")
        if e.hold is not None:
            statuses = self._holds(str(e.hold["item"]), str(e.hold["patron"]))
            wanted = e.hold.get("status")
            active = [s for s in statuses if s in {str(a) for a in ACTIVE_HOLD_STATES}]
            if wanted == "none":
                ok = not active
            elif wanted is None:
                ok = bool(active)
            else:
                ok = bool(statuses) and statuses[-1] == str(wanted)
            return Outcome(ok, f"{label}: holds {statuses or 'none'}")
        if e.tag is not None:
            return self._check_tag(label, e.tag)
        if e.receipt is not None:
            # E-mailed receipts carry their lines as text; a printed one only in text mode.
            mails = self.mailbox.texts()
            printed = (self.directory / RECEIPT_FILE).read_bytes()
            ok = any(_nfc(e.receipt) in _nfc(text) for text in mails) or any(
                needle in printed for needle in _encodings(e.receipt)
            )
            return Outcome(ok, f"{label}: {len(mails)} e-mail parts, {len(printed)} bytes printed")
        if e.qr is not None:
            return self._check_qr(label, e.qr)
        if e.open_transactions is not None or e.journal is not None:
            return self._check_journal(label, e)
        if e.event_order is not None:
            position = 0
            for wanted in e.event_order:
                name, match, contains = _split(wanted)
                while position < len(self.events) and not event_matches(
                    self.events[position], name, match, contains
                ):
                    position += 1
                if position == len(self.events):
                    return Outcome(False, f"{label}: no {wanted} after the ones before it")
                position += 1
            return Outcome(True, label)
        wanted = e.event if e.event is not None else (e.no_event or {})
        name, match, contains = _split(wanted)
        seen = sum(event_matches(event, name, match, contains) for event in self.events)
        if e.event is not None and "count" in e.event:
            return Outcome(seen == int(e.event["count"]), f"{label}: seen {seen} times")
        if e.event is not None and "at_most" in e.event:
            return Outcome(seen <= int(e.event["at_most"]), f"{label}: seen {seen} times")
        return Outcome(bool(seen) if e.event is not None else not seen, f"{label}: seen {seen}")

    def _check_loan(self, label: str, wanted: dict[str, Any]) -> Outcome:
        found = self._open_loan(str(wanted["item"]))
        if found is None:
            return Outcome(False, f"{label}: no open loan")
        patron, loan = found
        ok = patron == wanted["patron"]
        text = f"open loan to {patron}, {loan.renewals} renewals"
        if "due_in_days" in wanted:
            days = self._days_from_start(self._ils_policy().local_day(loan.due_at))
            ok = ok and int(wanted["due_in_days"]) in days
            text += f", due in {'/'.join(map(str, sorted(days)))} days"
        if "renewals" in wanted:
            ok = ok and loan.renewals == int(wanted["renewals"])
        if "out_within_minutes" in wanted:
            minutes = abs((loan.checked_out_at - self.started_at).total_seconds()) / 60
            ok = ok and minutes <= float(wanted["out_within_minutes"])
            text += f", lent {minutes:.0f} min from the scenario's start"
        return Outcome(ok, f"{label}: {text}")

    def _check_tag(self, label: str, wanted: dict[str, Any]) -> Outcome:
        tag = self._tag(str(wanted["item"]), wanted.get("part"))
        if tag is None:
            return Outcome(False, f"{label}: no such tag")
        text = f"AFI 0x{tag['afi']:02X}, EAS {'on' if tag['eas'] else 'off'}"
        ok = True
        if "afi" in wanted:
            ok = ok and tag["afi"] == int(wanted["afi"])
        if "eas" in wanted:
            ok = ok and tag["eas"] is bool(wanted["eas"])
        if "secured" in wanted:
            if self.policy is None:
                return Outcome(False, f"{label}: unknown security policy")
            # Secured as the site's gates see it: every mechanism its policy uses agrees.
            state = self.policy.is_secured(tag["afi"], tag["eas"])
            ok = ok and state is bool(wanted["secured"])
            text += f" ({'mixed' if state is None else 'secured' if state else 'released'})"
        return Outcome(ok, f"{label}: {text}")

    def _check_qr(self, label: str, wanted: dict[str, Any]) -> Outcome:
        if not self.qr_payloads:
            return Outcome(False, f"{label}: no QR receipt was given")
        payload = self.qr_payloads[-1]
        ok = str(wanted.get("contains", "")) in payload
        if "item" in wanted:
            items = {i.item_id: i for i in parse_qr_payload(payload).items}
            entry = items.get(str(wanted["item"]))
            if entry is None:
                ok = False
            elif wanted.get("not_done"):
                ok = ok and not entry.ok
            elif "due_in_days" in wanted:
                days = self._days_from_start(entry.due) if entry.due else set()
                ok = ok and entry.ok and int(wanted["due_in_days"]) in days
        return Outcome(ok, f"{label}: payload {payload!r}")

    def _check_journal(self, label: str, e: Expectation) -> Outcome:
        journal = Journal.open(self.directory / "data" / "journal.sqlite", migrate=False)
        try:
            if e.open_transactions is not None:
                count = len(journal.open_transactions())
                return Outcome(count == e.open_transactions, f"{label}: {count} open")
            assert e.journal is not None
            wanted = e.journal
            txns = [
                t
                for t in journal.all()
                if t.item_id == wanted["item"] and t.kind == wanted.get("kind", t.kind)
            ]
        finally:
            journal.close()
        if "count" in wanted and len(txns) != int(wanted["count"]):
            return Outcome(False, f"{label}: {len(txns)} transactions")
        if not txns:
            return Outcome(not wanted.get("count", 1) and "state" not in wanted, f"{label}: none")
        last = txns[-1]
        ok = "state" not in wanted or last.state == wanted["state"]
        if "offline" in wanted:
            ok = ok and last.offline == bool(wanted["offline"])
        if "outcome" in wanted:
            ok = ok and last.outcome == wanted["outcome"]
        if "detail" in wanted:
            ok = ok and str(wanted["detail"]) in (last.detail or "")
        text = f"{last.kind} {last.state}{' offline' if last.offline else ''}"
        return Outcome(ok, f"{label}: {text}, outcome {last.outcome}, detail {last.detail!r}")


def _encodings(text: str) -> list[bytes]:
    """``text`` in the encodings a text-mode receipt may use (those that can hold it)."""
    found = []
    for codec in ("utf-8", "cp1258", "cp437", "latin-1"):
        try:
            found.append(text.encode(codec))
        except UnicodeEncodeError:
            continue
    return found


def _describe(e: Expectation) -> str:
    for name, value in e:
        if value is not None:
            return f"{name} {value}"
    return "?"


def load(path: Path) -> Scenario:
    """A scenario file, validated (OSError, TOMLDecodeError or ValidationError when it is not)."""
    import tomllib

    return Scenario.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))


def run_scenario(scenario: Scenario, keep: bool = False) -> Report:
    directory = Path(tempfile.mkdtemp(prefix="muontra-scenario-"))
    kind: type[ScenarioRun] = ScenarioRun
    if scenario.sorter is not None:
        from scenario.sorter_run import SorterRun  # imports this module: imported when used

        kind = SorterRun
    try:
        report = kind(scenario, directory).run()
        report.known_failure = scenario.known_failure
        return report
    finally:
        if not keep:
            import shutil

            shutil.rmtree(directory, ignore_errors=True)


def run_file(path: Path, keep: bool = False) -> Report:
    import tomllib

    from pydantic import ValidationError

    try:
        scenario = load(path)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as error:
        return Report(path.name, error=f"not a valid scenario: {error}")
    return run_scenario(scenario, keep)
