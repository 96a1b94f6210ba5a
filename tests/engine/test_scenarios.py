"""Every scenario in tests/scenarios/, run as `muontra scenario run` runs it.

A scenario with ``known_failure`` reproduces an open bug: it must fail (strict
xfail), so the day the bug is fixed the suite says so and the marker goes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario.runner import load, run_scenario

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    scenario = load(path)
    report = run_scenario(scenario)
    lines = [f"{'ok ' if o.ok else 'NO '} {o.text}" for o in report.steps + report.checks]
    if scenario.known_failure is not None:
        if report.ok:
            pytest.fail(f"passes now, remove its known_failure: {scenario.known_failure}")
        pytest.xfail(f"{scenario.known_failure}\n" + "\n".join([report.error, *lines]))
    assert report.ok, "\n".join([report.error, *lines])


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 15
