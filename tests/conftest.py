"""Shared fixtures: tests start the real parts they need on loopback and stop them."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# The redaction check (issue 15): no demo patron's id, PIN or name in any log of the run.
pytest_plugins = ["tests.redaction_plugin"]

# Hypothesis profiles. Both turn off the per-example deadline: it is a timed assertion,
# and on a loaded two-core CI machine (or under faketime) it failed examples that were
# merely slow. Speed is measured in bench/, never asserted in tests.
# - "ci" (`make test`, `make unit` and any run with CI set): derandomized, so every run
#   of a commit draws the same examples and a submission is never refused by chance
#   (issue 16); no example database, so nothing carries over between runs; the log of a
#   failure shows the falsifying example and an @reproduce_failure blob, and
#   `pytest --hypothesis-profile=ci TEST` replays it anywhere (README, "Replaying a
#   failed property test").
# - "dev" (a bare `pytest`): random draws and the example database in .hypothesis/, so
#   a developer's runs keep exploring new inputs and replay what failed there before.
# A failure either finds is pinned as an @example in its test before it is fixed.
settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")  # --hypothesis-profile wins

# Under libfaketime (`make dates`, or faketime by hand). With the monotonic clock faked
# too, every timed wait in CPython hangs: say so at once instead of hanging. With it
# real, tests/faketime/sitecustomize.py mends time.sleep; it is applied here to this
# process and handed to every Python process a test starts (the engine, the scenario
# runner's kiosks), whether or not the run set PYTHONPATH itself.
if os.environ.get("FAKETIME"):
    if os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") != "1":
        pytest.exit(
            "faketime with a faked monotonic clock hangs every timed wait in CPython; "
            "set FAKETIME_DONT_FAKE_MONOTONIC=1 (as `make dates` does)",
            returncode=4,
        )
    _shim = Path(__file__).parent / "faketime"
    runpy.run_path(str(_shim / "sitecustomize.py"))
    _paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(_shim) not in _paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(_shim), *filter(None, _paths)])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int) -> None:
    """After a failing run, say which hypothesis profile drew the examples and how to replay
    them (pytest -q hides hypothesis's own header line)."""
    failed = terminalreporter.stats.get("failed", [])
    if any("hypothesis" in getattr(report, "keywords", {}) for report in failed):
        profile = settings.get_current_profile_name()
        terminalreporter.write_line(
            f"hypothesis profile {profile!r}: replay a failed property with "
            f"`pytest --hypothesis-profile={profile} TEST`, then pin its falsifying "
            "example as an @example (README: Replaying a failed property test)"
        )


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for localhost and 127.0.0.1, made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is missing: scripts/bootstrap.sh installs it")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return TlsFiles(cert, key)


@pytest.fixture(autouse=True)
def _root_log_handlers_restored() -> object:
    """A test that runs `muontra.cli.main` adds a stderr handler bound to pytest's capture
    of that test; threads of later tests would log into the closed capture. Restore."""
    import logging

    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    yield
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)
