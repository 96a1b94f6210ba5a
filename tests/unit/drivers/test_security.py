"""Verified security writes on the simulated reader, and the policy values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from drivers.interfaces import TagError
from drivers.security import NOT_SUPPORTED, TAG_GONE, set_security
from drivers.sim.field import TagField
from drivers.sim.reader import SimReader, item_tag
from protocols.tags import PRESETS, SecurityPolicy


@pytest.fixture
def reader() -> Iterator[SimReader]:
    yield SimReader("sim://security?timing=0", field=TagField())


def test_release_for_loan_is_written_and_verified(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001"))
    result = set_security(reader, tag.uid, SecurityPolicy(), secured=False)
    assert (result.verified, result.attempts, result.afi) == (True, 1, 0xC2)
    assert tag.afi == 0xC2


def test_already_in_the_wanted_state_is_verified_even_when_locked(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001", afi=0xC2))
    tag.afi_locked = True  # any write would fail
    assert set_security(reader, tag.uid, SecurityPolicy(), secured=False).verified


def test_a_write_the_tag_did_not_keep_is_retried(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001"))
    reader.field.faults.silent_write_fail[tag.uid] = 1
    result = set_security(reader, tag.uid, SecurityPolicy(), secured=False)
    assert (result.verified, result.attempts) == (True, 2)


def test_tag_lifted_off_the_pad_is_a_definite_failure(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001"))
    reader.field.faults.leave_during_write.add(tag.uid)
    result = set_security(reader, tag.uid, SecurityPolicy(), secured=False)
    assert not result.verified and result.tag_gone and result.reason == TAG_GONE
    assert result.attempts == 3


def test_locked_afi_fails_at_once(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001"))
    tag.afi_locked = True
    result = set_security(reader, tag.uid, SecurityPolicy(), secured=False)
    assert (result.verified, result.attempts, result.reason) == (False, 1, "AFI is locked")


def test_eas_and_afi_together(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001", eas=True))
    policy = PRESETS["afi+eas"]
    result = set_security(reader, tag.uid, policy, secured=False)
    assert result.verified and (tag.afi, tag.eas) == (0xC2, False)
    result = set_security(reader, tag.uid, policy, secured=True)
    assert result.verified and (tag.afi, tag.eas) == (0x07, True)


def test_policy_decisions() -> None:
    iso, eas, legacy = SecurityPolicy(), PRESETS["eas"], PRESETS["3m"]
    assert iso.alarms(0x07, None) and not iso.alarms(0xC2, None) and not iso.alarms(0x00, None)
    assert SecurityPolicy(alarm_on_foreign_afi=True).alarms(0x00, None)
    assert eas.alarms(None, True) and not eas.alarms(0x07, False)
    assert legacy.alarms(0xD7, None) and not legacy.alarms(0xDA, None)
    assert PRESETS["afi+eas"].is_secured(0x07, False) is None  # mechanisms disagree
    with pytest.raises(ValueError):
        SecurityPolicy(use_afi=False, use_eas=False)
    with pytest.raises(ValueError):
        SecurityPolicy(afi_secured=0xC2)


class Counting:
    """The reader, with the exchanges it was asked for written down."""

    def __init__(self, reader: SimReader) -> None:
        self.reader = reader
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.reader, name)

        def call(*args: Any) -> Any:
            self.calls.append(name)
            return method(*args)

        return call


def test_a_release_is_the_writes_and_their_read_back_only(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001", eas=True))
    counting = Counting(reader)
    assert set_security(counting, tag.uid, SecurityPolicy(), secured=False).verified  # type: ignore[arg-type]
    assert counting.calls == ["write_afi", "system_info"]
    counting.calls.clear()
    assert set_security(counting, tag.uid, PRESETS["afi+eas"], secured=True).verified  # type: ignore[arg-type]
    assert counting.calls == ["write_afi", "set_eas", "system_info", "eas_alarm"]


def test_a_locked_afi_still_lets_eas_be_set(reader: SimReader) -> None:
    tag = reader.field.place(item_tag("B0001", afi=0x07, eas=False))
    tag.afi_locked = True  # locked at the secured value: only EAS has to change
    result = set_security(reader, tag.uid, PRESETS["afi+eas"], secured=True)
    assert (result.verified, result.afi, result.eas) == (True, 0x07, True)


class _CannotReader(SimReader):
    """A reader that cannot send security commands at all (a storage-only PC/SC reader)."""

    calls = 0

    def write_afi(self, uid: bytes, afi: int) -> None:
        self.calls += 1
        raise TagError("this reader cannot write the AFI", code=NOT_SUPPORTED)

    def set_eas(self, uid: bytes) -> None:
        self.calls += 1
        raise TagError("this reader cannot set EAS", code=NOT_SUPPORTED)

    reset_eas = set_eas


@pytest.mark.parametrize("preset", ["afi", "eas", "afi+eas"])
def test_a_reader_that_cannot_is_a_refusal_at_once_never_a_success(preset: str) -> None:
    reader = _CannotReader("sim://cannot?timing=0", field=TagField())
    tag = reader.field.place(item_tag("B0001", eas=True))
    for secured in (False, True):
        reader.calls = 0
        result = set_security(reader, tag.uid, PRESETS[preset], secured=secured)
        assert (result.verified, result.attempts, reader.calls) == (False, 1, 1)
        assert result.reason.startswith("tag refused") and "cannot" in result.reason
        assert not result.tag_gone
    assert (tag.afi, tag.eas) == (0x07, True)
