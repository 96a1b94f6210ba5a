"""The redaction check: no demo patron's id, PIN or name in any log of the test run.

Issue 15 asks that secrets never reach a log. The demo patrons of the ILS
simulator (ilssim/seed.py: P0001 "1234" "Nguyễn Thị Hương", …) walk through
most tests, so the whole run is the evidence. This plugin, in every process
that runs tests (each xdist worker, or the only one), looks at:

- every log record that reaches the root logger's handlers, from any library;
- every record muontra's own packages create *below* the level in force: a
  debug line that would print a PIN once someone runs a daemon with ``-vv`` is
  the same leak, so those records are made, read here and dropped (no other
  handler sees them, so the run's output is unchanged);
- the stderr each test captured (a daemon a test starts inherits it), and the
  log files a test's subprocesses wrote under its ``tmp_path`` (``*.log``,
  ``*.err``, ``*stderr*``), read after the test's teardown.

At the end of the session it lists every offending record (test id, logger,
message, with the secret itself masked) and fails the run. Stdout is not
read: it is where tools print what they were asked for (``ils-sim``'s banner
names the demo patron on purpose), not a log.

A test that must log a demo patron's data on purpose says so with
``@pytest.mark.redaction_exempt(reason="…")``; its records are listed in the
summary as exempted, with the reason, never dropped silently. The marker
without a reason is itself an offence.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Generator, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

SEED = Path(__file__).resolve().parents[1] / "ilssim" / "seed.py"
# muontra's own packages: their records are read at every level.
OURS = frozenset(
    {"muontra", "protocols", "drivers", "engine", "ilssim", "kiosk", "gates", "sorter",
     "central", "scenario", "demo", "ui"}
)  # fmt: skip
LOG_FILE_GLOBS = ("*.log", "*.err", "*stderr*")
LOG_FILE_LIMIT = 4 * 1024 * 1024
KEPT = 200  # offences kept per process; the count goes on past it
MARKER = "redaction_exempt"
WORKER_KEY = "muontra_redaction"


@dataclass(frozen=True)
class Secret:
    kind: str  # "patron id", "PIN", "name"
    pattern: re.Pattern[str]


@dataclass
class Offence:
    test: str
    where: str  # a logger's name, "captured stderr" or a file
    level: str
    message: str  # with the secret masked
    kinds: str
    exempt: str = ""  # the marker's reason, when exempted


def _fold(text: str) -> str:
    """Vietnamese without its marks (a log written for an ASCII console still leaks)."""
    decomposed = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def demo_patrons(seed: Path = SEED) -> list[tuple[str, str, str]]:
    """(id, PIN, name) of every demo patron, read from the simulator's seed."""
    found = re.findall(r'\bp\(\s*"(P\d+)",\s*"(\d+)",\s*"([^"]+)"', seed.read_text("utf-8"))
    if len(found) < 6:
        raise RuntimeError(f"redaction check: found {len(found)} demo patrons in {seed}")
    return found


def secrets(patrons: Iterable[tuple[str, str, str]]) -> list[Secret]:
    kept = []
    for patron_id, pin, name in patrons:
        # Whole tokens only: "P0001" but not "XP00012"; "1234" but not port 51234.
        kept.append(Secret("patron id", re.compile(rf"(?<![0-9A-Za-z]){patron_id}(?![0-9])", re.I)))
        kept.append(Secret("PIN", re.compile(rf"(?<![0-9A-Za-z]){pin}(?![0-9A-Za-z])")))
        forms = {unicodedata.normalize(f, name) for f in ("NFC", "NFD")} | {_fold(name)}
        names = "|".join(re.escape(form) for form in sorted(forms))
        kept.append(Secret("name", re.compile(names, re.I)))
    return kept


def find(text: str, kept: list[Secret]) -> tuple[str, list[str]]:
    """The text with every secret masked, and the kinds found (empty: clean)."""
    kinds: list[str] = []
    for secret in kept:
        text, count = secret.pattern.subn(f"«{secret.kind}»", text)
        if count and secret.kind not in kinds:
            kinds.append(secret.kind)
    return text, kinds


def _ours(name: str) -> bool:
    return name.partition(".")[0] in OURS


class Watch:
    """One process's watch: the handler, the below-level hook and the offences."""

    def __init__(self, kept: list[Secret]) -> None:
        self.kept = kept
        self.offences: list[Offence] = []
        self.count = 0
        self.read = {"records": 0, "stderr": 0, "files": 0}  # what was read, for the summary
        self.test = "(before the first test)"
        self.exempt = ""
        self._lock = threading.Lock()

    def look(self, where: str, level: str, text: str) -> None:
        kind = {"FILE": "files", "STDERR": "stderr"}.get(level, "records")
        self.read[kind] += 1
        masked, kinds = find(text, self.kept)
        if not kinds:
            return
        self.add(Offence(self.test, where, level, masked[:500], ", ".join(kinds), self.exempt))

    def add(self, offence: Offence) -> None:
        with self._lock:
            self.count += 1
            if len(self.offences) < KEPT:
                self.offences.append(offence)

    def record(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a broken format is the logging module's own report
            message = f"{record.msg!r} % {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            message += f" | {record.exc_info[1]!r}"
        self.look(record.name, record.levelname, message)


class _RootHandler(logging.Handler):
    def __init__(self, watch: Watch) -> None:
        super().__init__(logging.NOTSET)
        self.watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        self.watch.record(record)


def _hook_levels(watch: Watch) -> None:
    """Make muontra's loggers create records at every level; those under the level in
    force are read by the watch and dropped before any handler, so output is unchanged."""
    enabled = logging.Logger.isEnabledFor
    handle = logging.Logger.handle

    def is_enabled_for(self: logging.Logger, level: int) -> bool:
        return enabled(self, level) or _ours(self.name)

    def handle_or_read(self: logging.Logger, record: logging.LogRecord) -> Any:
        if enabled(self, record.levelno) or not _ours(self.name):
            return handle(self, record)
        watch.record(record)
        return None

    logging.Logger.isEnabledFor = is_enabled_for  # type: ignore[method-assign]
    logging.Logger.handle = handle_or_read  # type: ignore[method-assign]


_watches: list[Watch] = []  # the one watch of this process, once configured


def _current() -> Watch | None:
    return _watches[0] if _watches else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(reason): this test logs demo patron data on purpose (listed, not failed)",
    )
    if not _watches:
        watch = Watch(secrets(demo_patrons()))
        _watches.append(watch)
        logging.getLogger().addHandler(_RootHandler(watch))
        _hook_levels(watch)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    watch = _current()
    assert watch is not None
    marker = item.get_closest_marker(MARKER)
    reason = ""
    if marker is not None:
        reason = str(marker.kwargs.get("reason") or (marker.args[0] if marker.args else ""))
        if not reason:
            watch.add(Offence(item.nodeid, MARKER, "MARKER", "the marker needs a reason", "-"))
    watch.test, watch.exempt = item.nodeid, reason
    yield
    watch.test, watch.exempt = f"(after {item.nodeid})", ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    yield
    watch = _current()
    assert watch is not None
    funcargs = getattr(item, "funcargs", {})
    folder = funcargs.get("tmp_path")
    if isinstance(folder, Path) and folder.is_dir():
        for pattern in LOG_FILE_GLOBS:
            for path in sorted(folder.rglob(pattern)):
                if path.is_file():
                    with path.open("rb") as handle:
                        text = handle.read(LOG_FILE_LIMIT).decode("utf-8", "replace")
                    watch.look(str(path.relative_to(folder)), "FILE", text)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    watch = _current()
    if watch is None or getattr(report, "node", None) is not None:
        return  # a report a worker sent: that worker read it already
    for title, content in report.sections:
        # Each report carries the sections of the phases before it too: read each once.
        if title == f"Captured stderr {report.when}":
            watch.look(title.lower(), "STDERR", content)


def _all(config: pytest.Config) -> tuple[list[Offence], int, dict[str, int]]:
    watch = _current()
    assert watch is not None
    gathered: list[Offence] = list(watch.offences)
    count = watch.count
    read = dict(watch.read)
    for payload in getattr(config, "_redaction_from_workers", []):
        data = json.loads(payload)
        gathered += [Offence(**o) for o in data["offences"]]
        count += data["count"]
        for kind, number in data["read"].items():
            read[kind] += number
    return gathered, count, read


@pytest.hookimpl(trylast=True)  # after xdist has heard the last worker go down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    watch = _current()
    assert watch is not None
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand everything to the controller
        workeroutput[WORKER_KEY] = json.dumps(
            {
                "offences": [asdict(o) for o in watch.offences],
                "count": watch.count,
                "read": watch.read,
            }
        )
        return
    offences, count, _read = _all(session.config)
    exempted = sum(1 for o in offences if o.exempt)
    if count - exempted > 0 and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    payload = getattr(node, "workeroutput", {}).get(WORKER_KEY)
    if payload:
        config = node.config
        if not hasattr(config, "_redaction_from_workers"):
            config._redaction_from_workers = []
        config._redaction_from_workers.append(payload)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _current() is None or getattr(config, "workeroutput", None) is not None:
        return
    offences, count, read = _all(config)
    terminalreporter.write_line(
        f"redaction check: read {read['records']} log records, {read['stderr']} captured "
        f"stderr and {read['files']} log files; {count} with demo patron data"
    )
    if not offences:
        return
    failing = [o for o in offences if not o.exempt]
    exempted = [o for o in offences if o.exempt]
    if failing:
        terminalreporter.section("redaction check: demo patron data in logs", red=True)
        for o in failing:
            terminalreporter.write_line(
                f"{o.test}  [{o.where} {o.level}] {o.kinds}: {o.message}", red=True
            )
        unlisted = count - len(offences)
        if unlisted > 0:
            terminalreporter.write_line(f"… and {unlisted} more")
        terminalreporter.write_line(
            "a log must never carry a patron's id, PIN or name (hash or mask it); a test "
            f'that logs one on purpose: @pytest.mark.{MARKER}(reason="…")'
        )
    if exempted:
        terminalreporter.section(f"redaction check: exempted ({MARKER})")
        for o in exempted:
            terminalreporter.write_line(f"{o.test}  [{o.where}] {o.kinds} — {o.exempt}")
