"""The [sorter] section: documented fields, unknown keys refused, every cross-check keyed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from sort_fixtures import bin_, settings, settings_data

from sorter.settings import (
    BinSettings,
    LatePolicy,
    SettingsProblems,
    SorterSettings,
    TransitSettings,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "sorter.md"


def problems(**changes: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        settings(**changes)
    [error] = caught.value.errors()
    cause = error["ctx"]["error"]
    assert isinstance(cause, SettingsProblems)
    return cause.problems


def test_the_fixture_machine_is_valid_with_its_defaults() -> None:
    config = settings()
    assert config.late_ils is LatePolicy.HOLD_BELT
    assert config.decision_margin == 0.1
    assert [rule.bin for rule in config.rule_set.rules] == ["2", "1"]
    assert config.bin("hold").name_en == "Bin hold"
    with pytest.raises(KeyError):
        config.bin("nope")


@pytest.mark.parametrize("model", [SorterSettings, BinSettings, TransitSettings])
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, name


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="overflow_bin"):
        SorterSettings.model_validate(
            settings_data(bins=[{**bin_("x", None), "overflow_bin": "x"}], default_bin="x")
        )
    with pytest.raises(ValidationError, match="exeption_bin"):
        SorterSettings.model_validate({**settings_data(), "exeption_bin": "x"})


def test_references_to_missing_bins_are_named_by_key() -> None:
    found = problems(
        hold_bin="h",
        sort_bins={"A": "9"},
        transit={"by_destination": {"BR2": "b"}},
        default_bin="d",
    )
    keys = [key for key, _ in found]
    assert keys == ["default_bin", "hold_bin", "transit.by_destination.BR2", "sort_bins.A"]
    assert found[0][1].startswith("no bin 'd'; the bins are 1, 2, 3, br2, hold, ill")


def test_a_bin_listed_twice() -> None:
    twice = [bin_("1", 1.0), bin_("3", 2.0), bin_("1", 2.0), bin_("x", None)]
    found = problems(bins=twice, hold_bin=None, ill_bin=None, transit={}, sort_bins={}, rules="")
    assert found == [("bins.2.id", "bin '1' is listed twice")]


def test_overflow_loops_and_missing_timing() -> None:
    found = problems(
        bins=[
            bin_("1", 1.0, overflow="2"),
            bin_("2", None, overflow="1"),
            bin_("3", 2.0),
            bin_("x", None),
            {**bin_("4", None), "output": "diverter_4"},
        ],
        default_bin="1",
        hold_bin=None,
        ill_bin=None,
        transit={},
        sort_bins={},
        rules="",
    )
    assert found == [
        ("bins.0.overflow", "overflow goes round: 1 → 2 → 1"),
        ("bins.1.overflow", "overflow goes round: 2 → 1 → 2"),
        ("bins.1.output", "only the exception bin may have no diverter output"),
        ("bins.4.travel_seconds", "set travel_seconds, or position and belt_speed"),
    ]


def test_rule_mistakes_carry_their_line_or_list_entry() -> None:
    assert problems(rules="AQ=TN -> 2\nAQ=TK -> 7") == [
        ("rules", "line 2, column 10: no bin '7'; the bins are 1, 2, 3, br2, hold, ill, transit, x")
    ]
    assert problems(rules=["AQ=TN -> 2", "AQ TK -> 1"]) == [
        ("rules.1", "rule 2, column 4: expected '=' or '!=' after AQ, found 'T'")
    ]
    assert settings(rules=["AQ=TN -> 2", "CK=011 -> 1"]).rules_text == "AQ=TN -> 2\nCK=011 -> 1"


def test_timing_from_belt_speed_and_positions() -> None:
    positioned = [
        {**bin_("1", None), "output": "d1", "position": 1.5},
        {**bin_("2", None), "output": "d2", "position": 2.5},
        bin_("x", None),
    ]
    base = {
        "bins": positioned,
        "default_bin": "1",
        "hold_bin": None,
        "ill_bin": None,
        "transit": {},
        "sort_bins": {},
        "rules": "",
    }
    config = settings(**base, belt_speed=0.5, reader_position=0.5)
    assert config.travel_seconds("1") == 2.0 and config.travel_seconds("2") == 4.0
    assert config.travel_seconds("x") is None
    assert config.decision_deadline() == pytest.approx(1.9)
    assert problems(**base) == [
        ("belt_speed", "bin '1' has a position: set it"),
        ("belt_speed", "bin '2' has a position: set it"),
    ]
    assert problems(**base, belt_speed=0.5, reader_position=2.0) == [
        ("bins.0.position", "must be past the reader (greater than reader_position)"),
    ]
    assert problems(**base, belt_speed=0.5, decision_margin=3.0) == [
        ("decision_margin", "must be shorter than the travel to the first diverter (3 s)")
    ]


def test_measured_travel_time_wins_and_the_first_diverter_sets_the_deadline() -> None:
    config = settings(decision_margin=0.25)
    assert config.travel_seconds("3") == 2.0
    assert config.decision_deadline() == 0.75


def test_field_checks() -> None:
    with pytest.raises(ValidationError, match="capacity"):
        settings(bins=[bin_("x", None, 0)], default_bin="x")
    with pytest.raises(ValidationError, match="late_ils"):
        settings(late_ils="wait")
    with pytest.raises(ValidationError, match="id"):
        settings(bins=[bin_("bin 1", None)], default_bin="x")
    with pytest.raises(ValidationError, match="sort_bins"):
        settings(sort_bins={"A|B": "1"})


def _docs_example() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert blocks, "docs/sorter.md has no toml example"
    return str(blocks[0])


def test_the_documented_example_is_valid() -> None:
    data = tomllib.loads(_docs_example())
    config = SorterSettings.model_validate(data["sorter"])
    assert config.rule_set.rules
    assert config.exception_bin in {b.id for b in config.bins}


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=20),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    ["bins", "exception_bin", "default_bin", "hold_bin", "transit", "sort_bins", "rules",
     "belt_speed", "reader_position", "late_ils", "decision_margin", "ill_bin"]
)  # fmt: skip


_BIN_KEYS = st.sampled_from(
    ["id", "name_vi", "name_en", "capacity", "overflow", "output", "full_sensor",
     "travel_seconds", "position"]
)  # fmt: skip
# Mostly well-formed bins with one or two hostile values: reaches the cross-checks.
_BIN_LISTS = st.lists(
    st.builds(
        lambda bin_id, travel, spoilt: {**bin_(bin_id, travel), **spoilt},
        st.sampled_from(["1", "2", "3", "x", "hold"]),
        st.one_of(st.none(), st.floats(0.01, 20)),
        st.dictionaries(_BIN_KEYS, _JSON, max_size=2),
    ),
    max_size=5,
)


@hsettings(max_examples=150)
@given(st.dictionaries(_KEYS, _JSON, max_size=6), st.one_of(st.none(), _BIN_LISTS))
def test_hostile_values_give_validation_errors_only(
    changes: dict[str, Any], bins: list[dict[str, Any]] | None
) -> None:
    if bins is not None:
        changes["bins"] = bins
    try:
        config = settings(**changes)
    except ValidationError as exc:
        for error in exc.errors():
            cause = error.get("ctx", {}).get("error")
            if cause is not None:
                assert isinstance(cause, (SettingsProblems, ValueError))
    else:
        assert config.default_bin in {b.id for b in config.bins}
        assert config.decision_deadline() >= 0


def test_the_jam_threshold_is_a_checked_key() -> None:
    assert settings().jam_seconds == 6.0
    assert settings(jam_seconds=10).jam_seconds == 10.0
    for wrong in (0, 0.5, 121, "soon"):
        with pytest.raises(ValidationError, match="jam_seconds"):
            settings(jam_seconds=wrong)


def _positioned(**more: Any) -> SorterSettings:
    positioned = [
        {**bin_("1", None), "output": "d1", "position": 1.6},
        {**bin_("2", None), "output": "d2", "position": 2.4},
        bin_("x", None),
    ]
    base = {
        "bins": positioned,
        "default_bin": "1",
        "hold_bin": None,
        "ill_bin": None,
        "transit": {},
        "sort_bins": {},
        "rules": "",
        "belt_speed": 0.5,
        "reader_position": 0.6,
        "decision_margin": 0.3,
    }
    return settings(**{**base, **more})


def test_the_reader_field_gives_the_belt_time_an_item_stays_in_it() -> None:
    assert _positioned().field_seconds() is None
    assert _positioned(reader_field=0.95).field_seconds() == pytest.approx(1.9)


def test_under_hold_belt_a_late_item_must_stop_inside_the_reader_field() -> None:
    # Deadline: 2 s to the first diverter less 0.3 s; at 0.5 m/s the item stops 0.85 m on.
    assert _positioned(reader_field=0.95).late_ils is LatePolicy.HOLD_BELT
    with pytest.raises(ValidationError) as caught:
        _positioned(reader_field=0.6)
    [error] = caught.value.errors()
    [(key, message)] = error["ctx"]["error"].problems
    assert key == "reader_field"
    assert "0.85 m past the reader's eye" in message and "(0.6 m)" in message
    # Sent aside instead, the item need not wait in the field.
    assert _positioned(reader_field=0.6, late_ils="exception_then_finish").reader_field == 0.6
    # A wider margin decides earlier, with the item still inside.
    assert _positioned(reader_field=0.6, decision_margin=1.0).reader_field == 0.6


def test_the_reader_field_is_in_metres_so_it_needs_the_belt_speed() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(reader_field=0.5)
    [error] = caught.value.errors()
    assert error["ctx"]["error"].problems == [
        ("belt_speed", "reader_field is in metres: set belt_speed too")
    ]
