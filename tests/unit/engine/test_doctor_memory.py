"""`muontra doctor`'s memory check: the role's need against what this board has for muontra.

The kernel's figures come from a meminfo file (the real /proc/meminfo, or one written by the
test for a smaller board); muontra's own running programs are found in the real /proc."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import DeviceConfig, parse_config
from engine.config.model import Role
from engine.doctor.findings import Status
from engine.doctor.memory import check_memory, need_mb, running_muontra_mb

ROOT = Path(__file__).resolve().parents[3]


def example(name: str) -> DeviceConfig:
    return parse_config((ROOT / "config" / f"{name}.example.toml").read_text(encoding="utf-8"))


def board(tmp_path: Path, total_mb: int, available_mb: int) -> Path:
    path = tmp_path / "meminfo"
    path.write_text(
        f"MemTotal:       {total_mb * 1024} kB\n"
        f"MemFree:        {available_mb * 512} kB\n"
        f"MemAvailable:   {available_mb * 1024} kB\n"
        "Buffers:           1234 kB\n"
        "HugePages_Total:       0\n",
        encoding="ascii",
    )
    return path


def test_the_needs_follow_the_bench() -> None:
    assert need_mb(Role.GATE) == 80
    assert need_mb(Role.BOTH) == need_mb(Role.SORTER) == 230


@pytest.mark.parametrize(
    ("available", "status"), [(100, Status.FAIL), (300, Status.WARN), (2000, Status.OK)]
)
def test_a_kiosk_on_a_small_board(tmp_path: Path, available: int, status: Status) -> None:
    [found] = check_memory(
        example("kiosk-self-checkout"), meminfo=board(tmp_path, 512, available), ours_mb=0
    )
    assert found.check == "memory" and found.status is status
    assert f"{available} MB available" in found.detail and "needs about 230 MB" in found.detail
    if status is not Status.OK:
        assert "RAM" in found.fix_en and "RAM" in found.fix_vi


def test_a_gate_fits_where_a_kiosk_does_not(tmp_path: Path) -> None:
    meminfo = board(tmp_path, 512, 150)
    [kiosk] = check_memory(example("kiosk-self-checkout"), meminfo=meminfo, ours_mb=0)
    [gate] = check_memory(example("gate"), meminfo=meminfo, ours_mb=0)
    assert kiosk.status is Status.FAIL and gate.status is Status.OK


def test_the_running_service_counts_as_room(tmp_path: Path) -> None:
    # The doctor runs beside the kiosk it checks: what the kiosk holds is its own.
    meminfo = board(tmp_path, 1024, 120)
    [alone] = check_memory(example("kiosk-self-checkout"), meminfo=meminfo, ours_mb=0)
    [beside] = check_memory(example("kiosk-self-checkout"), meminfo=meminfo, ours_mb=200)
    assert alone.status is Status.FAIL and beside.status is Status.WARN
    assert "200 MB held by muontra now" in beside.detail


@pytest.fixture
def a_muontra_program() -> Iterator[subprocess.Popen[bytes]]:
    # A real muontra process (the ILS simulator on a random port), found by its command line.
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "ils-sim", "--port", "0", "--host", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.readline()  # it has started and said so
    yield process
    process.terminate()
    process.wait(20)


def test_running_muontra_programs_are_found(a_muontra_program: subprocess.Popen[bytes]) -> None:
    rss = next(
        int(line.split()[1]) / 1024
        for line in Path(f"/proc/{a_muontra_program.pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    assert running_muontra_mb() >= rss * 0.9


def test_this_machine_is_read_for_real() -> None:
    [found] = check_memory(example("gate"))
    assert found.status in set(Status) and "MB available" in found.detail
