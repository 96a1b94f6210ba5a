"""FEIG notification mode frames: exact bytes, round trips, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.readers import feig_notify
from protocols.readers.feig import FeigFrame, FeigParser
from protocols.readers.feig_iso import FeigIsoError

UID = bytes.fromhex("E004010000000001")


def _crc_ok(frame: bytes) -> bool:
    """CRC-16/MCRF4XX, LSB first, computed here independently of the codec."""
    crc = 0xFFFF
    for byte in frame[:-2]:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return frame[-2:] == bytes([crc & 0xFF, crc >> 8])


def test_the_gate_switch_is_these_bytes() -> None:
    """Notification mode, AFI filter 0x07, one-slot rounds: write configuration 0x81,
    CFG-ADR 0x01, mode 0x80, flags 0x03 (AFI set | one slot), AFI 0x07, 11 zeros."""
    wire = feig_notify.set_mode(feig_notify.Mode(True, 0x07, single_slot=True)).encode()
    assert wire == bytes.fromhex("020016ff81018003070000000000000000000000493a")
    assert _crc_ok(wire)


def test_back_to_host_mode_is_these_bytes() -> None:
    wire = feig_notify.set_mode(feig_notify.Mode(False, None)).encode()
    assert wire == bytes.fromhex("020016ff81010000000000000000000000000000f830")
    assert _crc_ok(wire)


def test_a_pushed_tag_is_these_bytes() -> None:
    """0x22, STATUS 0, TR-DATA 0x01, DATA-SETS 0x0001, TR-TYPE 0x03, DSFID 0, UID."""
    wire = feig_notify.notification([(0x00, UID)]).encode()
    assert wire == bytes.fromhex("020015ff22000100010300e0040100000000016ad1")
    assert _crc_ok(wire)
    (frame,) = FeigParser().feed(wire)
    assert isinstance(frame, FeigFrame)
    assert feig_notify.parse_notification(frame) == [(0x00, UID)]


def test_the_mode_answer_is_a_status_byte() -> None:
    request = feig_notify.set_mode(feig_notify.Mode(True, 0x07, single_slot=True))
    assert feig_notify.mode_answer(request).encode() == bytes.fromhex("020008ff810019b6")


def test_other_transponder_types_are_skipped() -> None:
    data = bytes([0, 1, 0, 2]) + bytes([0x04, 0]) + bytes(8) + bytes([0x03, 5]) + UID
    assert feig_notify.parse_notification(FeigFrame(0xFF, 0x22, data)) == [(5, UID)]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "lacks"),
        (bytes([0x01, 1, 0, 0]), "status"),
        (bytes([0, 0x05, 0, 0]), "TR-DATA"),
        (bytes([0, 1, 0, 2]) + bytes(10), "records"),
    ],
)
def test_a_bad_notification_says_what_is_wrong(data: bytes, why: str) -> None:
    with pytest.raises(FeigIsoError, match=why):
        feig_notify.parse_notification(FeigFrame(0xFF, 0x22, data))


def test_a_wrong_uid_or_afi_is_refused_when_building() -> None:
    with pytest.raises(FeigIsoError):
        feig_notify.notification([(0, b"\x01")])
    with pytest.raises(FeigIsoError):
        feig_notify.set_mode(feig_notify.Mode(True, 0x100))


@given(st.booleans(), st.one_of(st.none(), st.integers(0, 255)), st.booleans())
def test_mode_round_trip(notify: bool, afi: int | None, single: bool) -> None:
    mode = feig_notify.Mode(notify, afi, single)
    assert feig_notify.parse_set_mode(feig_notify.set_mode(mode)) == mode


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(min_size=8, max_size=8)), max_size=40))
def test_notification_round_trip(tags: list[tuple[int, bytes]]) -> None:
    (frame,) = FeigParser().feed(feig_notify.notification(tags).encode())
    assert isinstance(frame, FeigFrame)
    assert feig_notify.parse_notification(frame) == tags


@given(st.integers(0, 255), st.binary(max_size=200))
def test_hostile_frames_give_a_clear_error_or_a_value(command: int, data: bytes) -> None:
    frame = FeigFrame(0xFF, command, data)
    try:
        tags = feig_notify.parse_notification(frame)
    except FeigIsoError:
        pass
    else:
        assert all(len(uid) == 8 for _dsfid, uid in tags)
    mode = feig_notify.parse_set_mode(frame)
    assert mode is None or isinstance(mode, feig_notify.Mode)
