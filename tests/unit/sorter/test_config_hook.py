"""The [sorter] section in the device's file: validated by `muontra config check` through
the entry point, every problem at its key and line, and the role's devices required."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, parse_config
from engine.config.model import Role
from sorter.settings import LatePolicy, SorterSettings

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "sorter.example.toml"


def example() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def line_with(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_example_gives_the_sorter_its_own_model() -> None:
    config = parse_config(example())
    assert config.device.role is Role.SORTER
    settings = config.section("sorter")
    assert isinstance(settings, SorterSettings)
    assert settings.late_ils is LatePolicy.HOLD_BELT
    assert [b.id for b in settings.bins] == ["1", "2", "3", "x"]
    assert settings.travel_seconds("2") == pytest.approx(3.6)


def test_a_rule_naming_no_bin_is_reported_at_its_line() -> None:
    text = example().replace('"AQ=TN → 3"', '"AQ=TN → 9"')
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    (problem,) = exc.value.problems
    assert problem.key == "sorter.rules[0]"
    assert problem.line == line_with(text, "AQ=TN → 9")
    assert "no bin '9'" in problem.message


def test_an_unknown_key_in_a_bin_is_named_with_its_line() -> None:
    text = example().replace('overflow = "x"', 'overflow = "x"\noverflwo = "2"')
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    (problem,) = exc.value.problems
    assert problem.key == "sorter.bins[0].overflwo"
    assert problem.line == line_with(text, "overflwo")
    assert "did you mean 'overflow'" in problem.message


def test_an_overflow_to_nowhere_and_a_bad_capacity_are_both_found() -> None:
    text = example().replace('overflow = "x"', 'overflow = "z"')
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert [(p.key, p.line) for p in exc.value.problems] == [
        ("sorter.bins[0].overflow", line_with(text, 'overflow = "z"'))
    ]


@pytest.mark.parametrize("key", ["tunnel", "conveyor"])
def test_the_role_needs_its_reader_and_its_conveyor(key: str) -> None:
    text = "\n".join(line for line in example().splitlines() if not line.startswith(key))
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert [p.key for p in exc.value.problems] == [f"devices.{key}"]


def test_the_role_needs_a_sorter_section() -> None:
    text = example().split("\n[sorter]\n")[0]
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert [p.key for p in exc.value.problems] == ["sorter"]


def test_a_sorter_section_on_a_kiosk_is_refused() -> None:
    text = (
        example()
        .replace('role = "sorter"', 'role = "return"')
        .replace('tunnel = "sim://conveyor"', 'pad = "sim://pad"')
    )
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert [p.key for p in exc.value.problems] == ["sorter"]


def test_a_pad_reader_scheme_is_no_conveyor() -> None:
    text = example().replace('conveyor = "conveyor+sim://conveyor', 'conveyor = "sim://conveyor')
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    (problem,) = exc.value.problems
    assert problem.key == "devices.conveyor"
    assert "not a conveyor" in problem.message


def test_each_daemon_refuses_the_others_config(capsys: pytest.CaptureFixture[str]) -> None:
    from muontra.cli import main

    kiosk = EXAMPLE.parent / "return-station.example.toml"
    assert main(["sorter", "--config", str(kiosk)]) == 2
    assert 'set device.role = "sorter"' in capsys.readouterr().err
    assert main(["kiosk", "--config", str(EXAMPLE)]) == 2
    assert "run `muontra sorter`" in capsys.readouterr().err


def test_the_hold_point_must_lie_in_the_reader_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from muontra.cli import main

    # The example's belt holds a late item 0.95 m past the reader's eye (deadline 1.9 s at
    # 0.5 m/s), inside its 1.25 m field; a 0.6 m field would not hold it.
    assert parse_config(example()).section("sorter").field_seconds() == pytest.approx(2.5)
    text = example().replace("reader_field = 1.25", "reader_field = 0.6")
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    (problem,) = exc.value.problems
    assert problem.key == "sorter.reader_field"
    assert problem.line == line_with(text, "reader_field = 0.6")
    assert "0.95 m past the reader's eye" in problem.message
    assert "outside the reader's field (0.6 m)" in problem.message
    path = tmp_path / "sorter.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["config", "check", str(path)]) == 1
    printed = capsys.readouterr().out
    assert f"{path}:{problem.line}: sorter.reader_field: under late_ils = 'hold_belt'" in printed
    # Sending late items aside instead, the belt never holds one: the same field is fine.
    aside = text.replace('late_ils = "hold_belt"', 'late_ils = "exception_then_finish"')
    assert parse_config(aside).section("sorter").reader_field == 0.6


def test_the_gate_daemon_sends_a_sorter_config_to_muontra_sorter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from muontra.cli import main

    assert main(["gate", "--config", str(EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert "run `muontra sorter`" in err and "muontra kiosk" not in err
