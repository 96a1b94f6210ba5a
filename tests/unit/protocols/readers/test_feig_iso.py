"""FEIG host commands for ISO 15693 tags: requests, answers, byte-reversed blocks."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.readers import feig_iso
from protocols.readers.feig import FeigFrame, FeigParser

UID = bytes.fromhex("E004015012345678")


def test_inventory_request_is_the_published_frame() -> None:
    assert feig_iso.inventory().encode() == bytes.fromhex("020009ffb001001843")


def test_read_request_layout() -> None:
    frame = feig_iso.read_blocks(UID, 3, 4)
    assert frame.data == bytes([0x23, 0x01]) + UID + bytes([3, 4])


def test_write_sends_each_block_byte_reversed() -> None:
    frame = feig_iso.write_blocks(UID, 0, b"ABCDEFGH")
    assert frame.data[-11:] == bytes([0, 2, 4]) + b"DCBAHGFE"
    assert feig_iso.parse_request(frame)["data"] == b"ABCDEFGH"  # type: ignore[index]


def test_inventory_answer_as_captured_from_a_cpr_m02() -> None:
    # STATUS 00, DATA-SETS 2, then TR-TYPE 03, DSFID, UID for each tag.
    data = bytes.fromhex("00 02 03 00 E004015012345678 03 06 E004015087654321")
    answer = feig_iso.parse_answer(feig_iso.INVENTORY, FeigFrame(0xFF, 0xB0, data))
    assert answer.fields["tags"] == [(0, UID), (6, bytes.fromhex("E004015087654321"))]


def test_read_answer_reverses_blocks_back_into_tag_order() -> None:
    data = bytes.fromhex("00 02 04 00 44434241 00 48474645")
    answer = feig_iso.parse_answer(feig_iso.READ_BLOCKS, FeigFrame(0xFF, 0xB0, data))
    assert answer.fields["data"] == b"ABCDEFGH"


def test_system_info_and_error_statuses() -> None:
    payload = feig_iso.system_info_payload(
        UID, dsfid=6, afi=0x07, block_size=4, block_count=28, ic_reference=1
    )
    answer = feig_iso.parse_answer(feig_iso.SYSTEM_INFO, FeigFrame(0xFF, 0xB0, b"\x00" + payload))
    assert (answer.number("afi"), answer.number("block_count"), answer.number("block_size")) == (
        7,
        28,
        4,
    )
    gone = feig_iso.parse_answer(feig_iso.READ_BLOCKS, FeigFrame(0xFF, 0xB0, b"\x01"))
    assert gone.status_text == "no transponder" and not gone.ok
    locked = feig_iso.parse_answer(feig_iso.WRITE_AFI, FeigFrame(0xFF, 0xB0, b"\x95\x12"))
    assert locked.iso_error == 0x12 and "0x12" in locked.status_text


def test_nxp_eas_alarm_request_unaddressed() -> None:
    assert feig_iso.nxp(feig_iso.EAS_ALARM, None).data == bytes([0xA5, 0x04, 0x00])


def test_malformed_answers() -> None:
    with pytest.raises(feig_iso.FeigIsoError):
        feig_iso.parse_answer(feig_iso.INVENTORY, FeigFrame(0xFF, 0xB0, b"\x00\x02\x03"))


@given(st.sampled_from([1, 0x23, 0x24, 0x27, 0x2B, 0xA5]), st.binary(max_size=80))
def test_fuzzed_answers_raise_only_the_codec_error(sub: int, data: bytes) -> None:
    frame = FeigFrame(0xFF, 0xB0, data)
    with contextlib.suppress(feig_iso.FeigIsoError):
        feig_iso.parse_answer(sub, frame)
    feig_iso.parse_request(frame)


@given(st.binary(min_size=4, max_size=64).filter(lambda b: len(b) % 4 == 0), st.integers(0, 200))
def test_write_round_trip(data: bytes, first: int) -> None:
    frame = feig_iso.write_blocks(UID, first, data)
    (parsed,) = FeigParser().feed(frame.encode())
    assert isinstance(parsed, FeigFrame)
    fields = feig_iso.parse_request(parsed)
    assert fields is not None and fields["data"] == data and fields["first_block"] == first
