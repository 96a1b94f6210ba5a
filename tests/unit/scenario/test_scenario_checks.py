"""The scenario runner's checks and steps can fail: each test here passed wrongly before.

These run without an engine: the tag field's state file is written by hand, the
ILS simulator is a stand-in with real fault switches, events are given.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.sim.field import uid_for
from ilssim.faults import Faults
from scenario.model import Expectation, Scenario, Step
from scenario.runner import (
    Outcome,
    Report,
    ScenarioRun,
    StepFailed,
    device_config,
    event_matches,
)


def _run(tmp_path: Path, **kiosk: Any) -> ScenarioRun:
    scenario = Scenario(name="t", kiosk=kiosk, steps=[])
    run = ScenarioRun(scenario, tmp_path)
    run.sim = SimpleNamespace(faults=Faults(), drop_all_connections=lambda: None)  # type: ignore[assignment]
    return run


def _pad(tmp_path: Path, afi: int, eas: bool, item: str = "B0001") -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    tag = {"uid": uid_for(item).hex(), "afi": afi, "eas": eas, "on_pad": True}
    (tmp_path / "data" / "pad.json").write_text(json.dumps({"tags": [tag]}))


def _tag_ok(run: ScenarioRun, **wanted: Any) -> bool:
    return run._check(Expectation(tag={"item": "B0001", **wanted})).ok


# --- `tag = {secured}` follows the site's security policy --------------------------------------


def test_secured_under_the_3m_policy_is_afi_0xd7(tmp_path: Path) -> None:
    run = _run(tmp_path, policy="3m")
    _pad(tmp_path, afi=0xD7, eas=False)
    assert _tag_ok(run, secured=True)
    assert not _tag_ok(run, secured=False)
    _pad(tmp_path, afi=0xDA, eas=False)
    assert _tag_ok(run, secured=False)
    assert not _tag_ok(run, secured=True)


def test_afi_0x07_is_not_secured_under_the_3m_policy(tmp_path: Path) -> None:
    run = _run(tmp_path, policy="3m")
    _pad(tmp_path, afi=0x07, eas=True)
    assert not _tag_ok(run, secured=True)
    assert not _tag_ok(run, secured=False)  # neither of the site's values: a foreign tag


def test_secured_under_afi_plus_eas_needs_both(tmp_path: Path) -> None:
    run = _run(tmp_path, policy="afi+eas")
    _pad(tmp_path, afi=0x07, eas=False)  # the EAS bit was released, the AFI not: mixed
    assert not _tag_ok(run, secured=True)
    assert not _tag_ok(run, secured=False)
    _pad(tmp_path, afi=0x07, eas=True)
    assert _tag_ok(run, secured=True)


def test_secured_under_the_eas_policy_is_the_eas_bit(tmp_path: Path) -> None:
    run = _run(tmp_path, policy="eas")
    _pad(tmp_path, afi=0x07, eas=False)
    assert _tag_ok(run, secured=False)
    assert not _tag_ok(run, secured=True)


def test_eas_is_checked_when_stated(tmp_path: Path) -> None:
    run = _run(tmp_path)
    _pad(tmp_path, afi=0xC2, eas=True)
    assert _tag_ok(run, secured=False, eas=True)
    assert not _tag_ok(run, secured=False, eas=False)


# --- expect_error holds on every step ----------------------------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        {"do": "ils_down"},
        {"do": "ils_up"},
        {"do": "ils_latency", "seconds": 0.0},
        {"do": "ils_fault", "name": "garbage_every", "setting": 2},
        {"do": "delay", "seconds": 0.0},
    ],
    ids=lambda s: s["do"],
)
def test_a_step_that_succeeds_fails_its_expect_error(tmp_path: Path, step: dict[str, Any]) -> None:
    run = _run(tmp_path)
    with pytest.raises(StepFailed, match="got success"):
        run._play(Step(**step, expect_error="timeout"))
    run._play(Step(**step))  # the same step without expect_error passes


def test_a_wait_whose_event_came_fails_its_expect_error(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.events = [{"event": "ready", "seq": 1}]
    with pytest.raises(StepFailed, match="got success"):
        run._play(Step(do="wait", event="ready", expect_error="timeout"))


def test_a_wait_that_times_out_passes_with_expect_error_timeout(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.events = [{"event": "ready", "seq": 1}]
    # Without an engine the wait ends at once with engine_gone; that is not a timeout.
    with pytest.raises(StepFailed, match="expected error 'timeout', got 'engine_gone'"):
        run._play(Step(do="wait", event="summary", timeout=0.05, expect_error="timeout"))
    assert run._play(
        Step(do="wait", event="summary", timeout=0.05, expect_error="engine_gone")
    ).startswith("-> error engine_gone")


def test_kill_without_an_engine_fails_with_not_running(tmp_path: Path) -> None:
    run = _run(tmp_path)
    with pytest.raises(StepFailed) as failure:
        run._play(Step(do="kill"))
    assert failure.value.code == "not_running"
    assert "as expected" in run._play(Step(do="kill", expect_error="not_running"))


def test_a_bad_ils_fault_fails_with_bad_fault(tmp_path: Path) -> None:
    run = _run(tmp_path)
    with pytest.raises(StepFailed) as failure:
        run._play(Step(do="ils_fault", name="encoding", setting="no-such-codec"))
    assert failure.value.code == "bad_fault"
    run._play(Step(do="ils_fault", name="encoding", setting="cp1258"))
    assert run.sim.faults.encoding == "cp1258"


# --- events: counted, ordered, matched by substring --------------------------------------------

EVENTS = [
    {"event": "item", "item_id": "B1", "outcome": "checked_out"},
    {"event": "item", "item_id": "B2", "outcome": "ils_refused", "message": {"en": "On hold"}},
    {"event": "item", "item_id": "B3", "outcome": "checked_out"},
    {"event": "summary"},
]


@pytest.mark.parametrize(
    ("wanted", "ok"),
    [
        ({"event": "item", "outcome": "checked_out", "count": 2}, True),
        ({"event": "item", "outcome": "checked_out", "count": 1}, False),
        ({"event": "item", "contains": {"message": "HOLD"}}, False),  # case matters
        ({"event": "item", "contains": {"message": "On hold"}}, True),
        ({"event": "item", "item_id": "B1", "contains": {"message": "On"}}, False),
    ],
)
def test_events_counted_and_matched_by_substring(
    tmp_path: Path, wanted: dict[str, Any], ok: bool
) -> None:
    run = _run(tmp_path)
    run.events = list(EVENTS)
    assert run._check(Expectation(event=wanted)).ok is ok


def test_events_in_order(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.events = list(EVENTS)
    first, third = {"event": "item", "item_id": "B1"}, {"event": "item", "item_id": "B3"}
    assert run._check(Expectation(event_order=[first, third, {"event": "summary"}])).ok
    assert not run._check(Expectation(event_order=[third, first])).ok
    assert not run._check(Expectation(event_order=[{"event": "summary"}, first])).ok


def test_event_matches_needs_every_field() -> None:
    event = {"event": "item", "item_id": "B1", "outcome": "checked_out"}
    assert event_matches(event, "item", {"item_id": "B1"}, {"outcome": "checked"})
    assert not event_matches(event, "item", {"item_id": "B2"}, {})
    assert not event_matches(event, "item", {}, {"title": ""})  # a missing field has no text
    assert not event_matches(event, "summary", {}, {})


# --- [kiosk] values are TOML values, never pasted text -----------------------------------------


def _config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    path, _ = device_config(tmp_path, 6001, overrides)
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_a_quote_and_newline_in_a_value_cannot_add_keys(tmp_path: Path) -> None:
    hostile = 'self-checkout"\n[offline]\nenabled = false\n[patron]\npin = "never'
    config = _config(tmp_path, role=hostile, pin="required")
    assert config["device"]["role"] == hostile
    assert config["patron"]["pin"] == "required"
    assert config["offline"]["enabled"] is True


def test_an_unknown_kiosk_key_or_a_table_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown keys: sneaky"):
        device_config(tmp_path, 6001, {"sneaky": 1})
    with pytest.raises(ValueError, match="not a plain value"):
        device_config(tmp_path, 6001, {"role": {"a": 1}})


def test_profile_and_encoding_reach_the_ils_url(tmp_path: Path) -> None:
    config = _config(tmp_path, profile="koha", encoding="cp1258")
    assert config["ils"]["url"].endswith("&profile=koha&encoding=cp1258")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.lists(st.text(max_size=10), max_size=3))
def test_any_text_comes_back_exactly(tmp_path_factory: Any, text: str, owners: list[str]) -> None:
    folder = tmp_path_factory.mktemp("c")
    config = _config(folder, role=text, pin=text, owners=owners, encoding=text)
    assert config["device"]["role"] == text
    assert config["patron"]["pin"] == text
    assert config["tags"]["owner_libraries"] == owners
    assert set(config) == {"device", "ils", "devices", "security", "patron", "offline", "tags"}


# --- known failures are strict: failing is expected, passing is news ---------------------------


@pytest.mark.parametrize(
    ("known", "passed", "as_expected"),
    [(None, True, True), (None, False, False), ("bug", False, True), ("bug", True, False)],
)
def test_a_known_failure_is_as_expected_only_while_it_fails(
    known: str | None, passed: bool, as_expected: bool
) -> None:
    report = Report("t", steps=[Outcome(passed, "step")], known_failure=known)
    assert report.as_expected is as_expected


def test_a_wait_for_n_events_claims_them_and_the_next_wait_needs_new_ones(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.events = [dict(e) for e in EVENTS]
    run._play(Step(do="wait", event="item", contains={"outcome": "checked"}, count=2))
    with pytest.raises(StepFailed, match="engine is not running"):  # none left to claim
        run._play(Step(do="wait", event="item", match={"outcome": "checked_out"}, timeout=0.05))
    run._play(Step(do="wait", event="item", match={"outcome": "ils_refused"}))
