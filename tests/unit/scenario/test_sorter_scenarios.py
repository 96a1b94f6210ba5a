"""The sorter's scenario config: generated from plain values only, every bin where it belongs."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from engine.config import parse_config
from scenario.runner import load
from scenario.sorter_run import DIVERTERS, POSITIONS, sorter_config

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    path, _ = sorter_config(tmp_path, 6001, overrides)
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_the_generated_config_is_a_valid_sorter_with_every_bin_on_its_diverter(
    tmp_path: Path,
) -> None:
    path, _ = sorter_config(tmp_path, 6001, {"overflow_1": "2", "rules": ["AQ=TN → 2"]})
    config = parse_config(path.read_text(encoding="utf-8"))  # the engine's own validation
    sorter = config.section("sorter")
    outputs = {b.id: b.output for b in sorter.bins}  # type: ignore[attr-defined]
    assert outputs == {**{k: f"diverter{v}" for k, v in DIVERTERS.items()}, "x": None}
    assert sorter.bin("1").overflow == "2"  # type: ignore[attr-defined]
    assert list(POSITIONS) == list(DIVERTERS)


def test_a_hostile_value_stays_a_value(tmp_path: Path) -> None:
    hostile = 'hold_belt"\nexception_bin = "1'
    with pytest.raises(Exception, match="late_ils"):
        # Not a policy: the config is refused, and the quote added no key of its own.
        path, _ = sorter_config(tmp_path, 6001, {"late_ils": hostile})
        parse_config(path.read_text(encoding="utf-8"))
    assert _config(tmp_path, late_ils=hostile)["sorter"]["late_ils"] == hostile
    assert _config(tmp_path, late_ils=hostile)["sorter"]["exception_bin"] == "x"


@pytest.mark.parametrize(
    ("key", "value"),
    [("sneaky", 1), ("late_ils", {"a": 1}), ("owners", [1]), ("capacity_1", "9"), ("plc", 1)],
)
def test_unknown_keys_and_values_unlike_their_default_are_refused(
    tmp_path: Path, key: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=r"\[sorter\]"):
        sorter_config(tmp_path, 6001, {key: value})


def test_there_are_enough_sorter_scenarios_and_each_is_valid() -> None:
    found = sorted(SCENARIOS.glob("sorter-*.toml"))
    assert len(found) >= 15
    for path in found:
        assert load(path).sorter is not None, path.name
