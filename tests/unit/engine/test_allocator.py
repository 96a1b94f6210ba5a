"""glibc's allocator settings at a daemon's start (issue 15): applied, effective, harmless,
and the environment's own settings left alone. Each case runs in a fresh interpreter: an
arena made before the settings stays, and this test process has made its own already."""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from central import cli as central_cli
from engine import cli_daemon
from protocols import allocator
from protocols.allocator import ALLOCATOR_SETTINGS, tune_allocator

ROOT = Path(__file__).resolve().parents[3]

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt is glibc's",
)

THREADS = """
import ctypes, ctypes.util, importlib, sys, threading
allocator = importlib.import_module(sys.argv[2])
applied = allocator.tune_allocator() if sys.argv[1] == "tune" else {}
print(sorted(applied), flush=True)
# Eight threads alive at once, each allocating: glibc gives each a new arena unless capped.
barrier = threading.Barrier(8)
kept = []
def work():
    kept.append(bytearray(4096))
    barrier.wait(30)
    kept.append(bytearray(4096))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join(30)
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
libc.malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


def _arenas(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))
    }
    done = subprocess.run(
        [sys.executable, "-c", THREADS, mode, "protocols.allocator"],
        cwd=ROOT,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    arenas = len(re.findall(r"^Arena \d+:", done.stderr, re.MULTILINE))
    assert arenas >= 1, done.stderr
    return done.stdout.strip(), arenas


@glibc_only
def test_the_settings_are_applied_and_cap_the_arenas() -> None:
    applied, arenas = _arenas("tune")
    assert applied == str(sorted(v for v, _ in ALLOCATOR_SETTINGS.values()))
    assert arenas <= 2
    # The same threads without the settings: one arena each (the test can fail).
    _, untuned = _arenas("plain")
    assert untuned > 2


@glibc_only
def test_the_environment_wins() -> None:
    applied, arenas = _arenas("tune", {"MALLOC_ARENA_MAX": "3"})
    assert "MALLOC_ARENA_MAX" not in applied and "MALLOC_MMAP_THRESHOLD_" in applied
    assert arenas == 3
    applied, _ = _arenas("tune", {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1048576"})
    assert "MALLOC_TRIM_THRESHOLD_" not in applied and "MALLOC_ARENA_MAX" in applied


def test_nothing_is_set_from_a_mapping_that_sets_everything() -> None:
    environ = {variable: "1" for variable, _ in ALLOCATOR_SETTINGS.values()}
    assert tune_allocator(environ) == {}


def test_central_tunes_before_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(allocator, "tune_allocator", lambda: calls.append("tuned") or {})
    missing = tmp_path / "missing.toml"
    assert central_cli.run(argparse.Namespace(config=missing, action=None)) == 2
    assert calls == ["tuned"]
    # A one-off command (an export, a migration) is no long-lived process: left as it is.
    assert central_cli.run(argparse.Namespace(config=missing, action="export")) == 2
    assert calls == ["tuned"]
    assert "missing.toml" in capsys.readouterr().err


def test_a_daemon_tunes_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``load_device``, the first thing every daemon does, applies them first of all."""
    calls: list[str] = []
    monkeypatch.setattr(cli_daemon, "tune_allocator", lambda: calls.append("tuned") or {})
    args = argparse.Namespace(config=tmp_path / "missing.toml", data_dir=None, socket=None)
    assert cli_daemon.load_device("kiosk", args) is None
    assert calls == ["tuned"]
    assert "missing.toml" in capsys.readouterr().err
