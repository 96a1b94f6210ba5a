"""The gate's alarm rules, fed sightings with explicit times (no clock, no reader)."""

from __future__ import annotations

from gates.decision import AlarmReason, GateDecider
from protocols.tags import PRESETS, SecurityPolicy

UID = bytes.fromhex("E004010000000001")
OTHER = bytes.fromhex("E004010000000002")
SECURED, ON_LOAN = 0x07, 0xC2


def decider(**kwargs: float) -> GateDecider:
    return GateDecider(PRESETS["afi"], **kwargs)


def test_secured_tag_alarms_with_both_languages() -> None:
    alarm = decider().seen(UID, SECURED, None, "B0001", 10.0)
    assert alarm is not None
    assert alarm.reason is AlarmReason.SECURED
    assert (alarm.uid, alarm.item_id, alarm.time) == (UID, "B0001", 10.0)
    assert alarm.en == "item is not checked out"
    assert alarm.vi == "tài liệu chưa được mượn"


def test_item_on_loan_does_not_alarm() -> None:
    assert decider().seen(UID, ON_LOAN, None, "B0001", 10.0) is None


def test_one_alarm_per_pass_and_a_new_pass_alarms_again() -> None:
    gate = decider(pass_window=3.0)
    assert gate.seen(UID, SECURED, None, "B0001", 0.0) is not None
    for step in range(1, 20):  # the tag stays in the field, seen every 0.5 s
        assert gate.seen(UID, SECURED, None, "B0001", step * 0.5) is None
    assert gate.alarmed_in_pass(UID, 9.6)
    # Gone for longer than the window: the next sighting is a new pass.
    assert not gate.alarmed_in_pass(UID, 13.0)
    assert gate.seen(UID, SECURED, None, "B0001", 13.0) is not None


def test_missed_rounds_within_the_window_stay_one_pass() -> None:
    gate = decider(pass_window=3.0)
    assert gate.seen(UID, SECURED, None, None, 0.0) is not None
    assert gate.seen(UID, SECURED, None, None, 2.9) is None


def test_every_tag_has_its_own_pass() -> None:
    gate = decider()
    assert gate.seen(UID, SECURED, None, "B0001", 0.0) is not None
    assert gate.seen(OTHER, SECURED, None, "B0002", 0.0) is not None


def test_grace_after_checkout() -> None:
    gate = decider(grace_minutes=2)
    gate.checked_out("B0001", 100.0)
    assert gate.needs_item_id(101.0)
    assert gate.seen(UID, SECURED, None, "B0001", 150.0) is None
    # After the grace period the same secured tag is theft again (a new pass).
    assert gate.seen(UID, SECURED, None, "B0001", 221.0) is not None
    assert not gate.needs_item_id(400.0)


def test_no_grace_when_grace_minutes_is_zero() -> None:
    gate = decider()
    gate.checked_out("B0001", 100.0)
    assert not gate.needs_item_id(100.0)
    assert gate.seen(UID, SECURED, None, "B0001", 100.5) is not None


def test_kiosk_write_failure_alarms_with_its_own_reason() -> None:
    gate = decider(grace_minutes=5)
    gate.kiosk_write_failed("B0001")
    alarm = gate.seen(UID, SECURED, None, "B0001", 10.0)
    assert alarm is not None
    assert alarm.reason is AlarmReason.KIOSK_WRITE_FAILED
    assert alarm.en == "kiosk security write failed — item is on loan"
    assert alarm.vi == "ghi bảo mật ở máy mượn thất bại — tài liệu đang được mượn"


def test_write_failure_fixed_later_does_not_alarm() -> None:
    gate = decider()
    gate.kiosk_write_failed("B0001")
    # Staff released the tag by hand: it reads on loan, nothing to alarm about.
    assert gate.seen(UID, ON_LOAN, None, "B0001", 10.0) is None
    gate.returned("B0001")
    alarm = gate.seen(OTHER, SECURED, None, "B0001", 20.0)
    assert alarm is not None and alarm.reason is AlarmReason.SECURED


def test_reported_missing_alarms_whatever_the_tag_says() -> None:
    gate = decider()
    gate.missing("B0009")
    alarm = gate.seen(UID, ON_LOAN, None, "B0009", 1.0)
    assert alarm is not None
    assert alarm.reason is AlarmReason.REPORTED_MISSING
    assert alarm.en == "reported missing"
    gate.found("B0009")
    assert gate.seen(OTHER, ON_LOAN, None, "B0009", 1.0) is None


def test_eas_policy_uses_the_eas_bit() -> None:
    gate = GateDecider(PRESETS["eas"])
    assert gate.seen(UID, ON_LOAN, True, None, 0.0) is not None
    assert gate.seen(OTHER, SECURED, False, None, 0.0) is None


def test_foreign_afi_follows_the_policy() -> None:
    strict = GateDecider(SecurityPolicy(alarm_on_foreign_afi=True))
    assert strict.seen(UID, 0x00, None, None, 0.0) is not None
    assert decider().seen(UID, 0x00, None, None, 0.0) is None


def test_old_passes_are_forgotten() -> None:
    gate = decider(pass_window=1.0)
    for index in range(100):
        gate.seen(index.to_bytes(8, "big"), SECURED, None, None, float(index))
    assert len(gate._passes) <= 3
