"""Scenario runner defects that need a real engine: each scenario here was judged wrongly before.

Each test plays a small scenario against `muontra kiosk` on simulators (a few
seconds each); the reports are read step by step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenario.model import Scenario
from scenario.runner import ScenarioRun, run_scenario

LOGIN = [{"do": "identify", "value": "P0001"}, {"do": "pin", "pin": "1234"}]
# The ILS takes 2 s per answer (the kiosk waits up to 10): a checkout is in flight that long.
SLOW_CHECKOUT = [
    {"do": "ils_latency", "seconds": 2.0},
    {"do": "place", "item": "B0001"},
    {"do": "wait", "event": "item", "match": {"outcome": "processing", "item_id": "B0001"}},
]


def _scenario(steps: list[dict[str, Any]], **extra: Any) -> Scenario:
    return Scenario.model_validate({"name": "defect", "steps": steps, **extra})


def test_wait_idle_with_work_pending_past_its_timeout_fails() -> None:
    report = run_scenario(
        _scenario(
            [*LOGIN, *SLOW_CHECKOUT, {"do": "wait_idle", "timeout": 0.3}], kiosk={"ils_timeout": 10}
        )
    )
    assert not report.ok
    assert report.steps[-1].ok is False
    assert "wait_idle: still busy after 0.3 s (1 pending)" in report.steps[-1].text


def test_the_settle_before_the_checks_fails_when_work_is_still_pending() -> None:
    report = run_scenario(
        _scenario([*LOGIN, *SLOW_CHECKOUT], kiosk={"ils_timeout": 10}, settle_timeout=0.3)
    )
    assert not report.ok
    assert report.steps[-1].text.startswith("before the checks: still busy after 0.3 s")


def test_reconciled_and_ready_after_a_restart_can_be_waited_for() -> None:
    report = run_scenario(
        _scenario(
            [
                *LOGIN,
                {"do": "place", "item": "B0004"},
                {"do": "wait", "event": "engine_exited"},
                {"do": "restart"},
                {
                    "do": "wait",
                    "event": "reconciled",
                    "match": {"item_id": "B0004"},
                    "timeout": 5,
                },
                {"do": "wait", "event": "ready", "count": 2, "timeout": 5},
            ],
            kiosk={"crash_at": "checkout:ils_ok"},
        )
    )
    assert report.ok, [s.text for s in report.steps]


def test_a_restart_that_fails_to_start_answers_start_failed(tmp_path: Path) -> None:
    scenario = _scenario([{"do": "restart", "expect_error": "start_failed"}])
    run = ScenarioRun(scenario, tmp_path)
    run.config = tmp_path / "broken.toml"
    run.config.write_text('[device]\nid = "x"\n')  # no site, no [ils]: the engine refuses it
    run.socket = tmp_path / "kiosk.sock"
    assert "as expected" in run._play(scenario.steps[0])
