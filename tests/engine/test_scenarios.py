"""Every scenario in tests/scenarios/, run as `muontra scenario run` runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.scenario.runner import run_file

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    report = run_file(path)
    lines = [f"{'ok ' if o.ok else 'NO '} {o.text}" for o in report.steps + report.checks]
    assert report.ok, "\n".join([report.error, *lines])


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 15
