"""The durable record of answered command ids: taken once, pruned by age, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.mqtt import command_log
from engine.mqtt.command_log import CommandLog, PreviousAnswer
from engine.mqtt.outbox import Outbox

NOW = 1_900_000_000.0
DAY = 24 * 3600.0


def test_an_id_is_taken_once_and_its_answer_kept(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "outbox.sqlite") as outbox:
        log = CommandLog(outbox, keep=DAY)
        assert log.claim("a" * 32, "lock", NOW) is None
        # Taken but not answered yet (what a power cut during the command leaves).
        assert log.claim("a" * 32, "lock", NOW + 1) == PreviousAnswer("lock", False, False, None)
        log.finish("a" * 32, True, "out of service")
    with Outbox.open(tmp_path / "outbox.sqlite") as outbox:  # reopened: still known
        log = CommandLog(outbox, keep=DAY)
        assert log.claim("a" * 32, "lock", NOW + 2) == PreviousAnswer(
            "lock", True, True, "out of service"
        )
        assert log.claim("b" * 32, "unlock", NOW + 3) is None


def test_old_ids_are_pruned_by_age() -> None:
    with Outbox.open(None) as outbox:
        log = CommandLog(outbox, keep=DAY)
        assert log.claim("a" * 32, "lock", NOW) is None
        assert log.claim("b" * 32, "lock", NOW + DAY - 1) is None
        assert log.count() == 2
        assert log.claim("c" * 32, "lock", NOW + DAY + 1) is None  # prunes 'a' only
        assert log.count() == 2
        assert log.claim("a" * 32, "lock", NOW + DAY + 2) is None  # forgotten: new again
        assert log.claim("b" * 32, "lock", NOW + DAY + 3) is not None


def test_the_table_is_bounded_whatever_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command_log, "MAX_ROWS", 5)
    with Outbox.open(None) as outbox:
        log = CommandLog(outbox, keep=DAY)
        for n in range(8):
            assert log.claim(f"{n:032x}", "message", NOW + n) is None
        assert log.count() == 5
        assert log.claim(f"{7:032x}", "message", NOW + 9) is not None  # the newest are kept


def test_an_outbox_of_the_first_revision_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    with Outbox.open(path, migrate=False) as old:
        old.upgrade("0001")
        old.add("muontra/v1/S/kiosk-01/events/checkout", b"{}")
    with Outbox.open(path) as outbox:
        assert outbox.current_revision() == "0002"
        assert [e.topic for e in outbox.pending()] == ["muontra/v1/S/kiosk-01/events/checkout"]
        assert CommandLog(outbox, keep=DAY).claim("a" * 32, "lock", NOW) is None
