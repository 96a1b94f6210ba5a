"""`muontra central`: migrate, export and config errors, through the dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from central.db import head_revisions, make_engine
from central.store import parse_message, store_batch
from muontra.cli import main
from tests.central.helpers import PREFIX, event


def _config(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "central.toml"
    db = tmp_path / "data" / "central.db"
    path.write_text(f'[central]\n{body}\n[central.database]\nurl = "sqlite:///{db}"\n')
    return path


def test_migrate_then_export_a_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["central", "--config", str(config), "migrate"]) == 0
    # The head of the whole history (the staff side's migration follows core's c0001).
    assert str(sorted(head_revisions())) in capsys.readouterr().err
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'central.db'}")
    topic, payload = event("checkout", datetime(2026, 11, 25, 2, tzinfo=UTC), success=True)
    with Session(engine) as session, session.begin():
        store_batch(session, [parse_message(topic, payload, PREFIX)], lambda: datetime.now(UTC))
    engine.dispose()
    out = tmp_path / "day.csv"
    argv = ["central", "--config", str(config), "export", "--site", "VN-HN0001"]
    assert main([*argv, "--day", "2026-11-25", "--out", str(out)]) == 0
    lines = out.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[10].startswith("VN-HN0001,25/11/2026,09:00,1,")
    assert main([*argv, "--month", "2026-11", "--out", str(out)]) == 0
    assert (
        out.read_bytes().decode("utf-8-sig").split("\r\n")[25].startswith("VN-HN0001,25/11/2026,1,")
    )
    assert main([*argv, "--month", "2026-13"]) == 2
    assert "--month '2026-13'" in capsys.readouterr().err


def test_a_wrong_key_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, 'timezone = "Mars/Olympus"\n[central.retention]\nevents_days = 0')
    assert main(["central", "--config", str(config), "migrate"]) == 2
    err = capsys.readouterr().err
    assert "central.timezone" in err and "central.retention.events_days" in err


def test_the_example_config_is_valid() -> None:
    from central.settings import load_settings

    settings = load_settings(Path(__file__).resolve().parents[2] / "config" / "central.toml")
    assert settings.mqtt.group == "central" and settings.retention.events_days == 90
