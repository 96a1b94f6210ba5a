"""Inventories filtered on the AFI: the exact frames FEIG and 3M readers are sent, and
which tags answer them (ISO/IEC 15693-3's AFI coding)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.readers import feig_iso, threem
from protocols.readers.feig import FeigFrame
from protocols.readers.iso15693 import afi_answers


def test_feig_inventory_with_the_afi_flag_is_these_bytes() -> None:
    # STX, LEN 000A, COM-ADR FF, CMD B0, 01 inventory, MODE 10 (AFI), AFI 07, CRC LSB first.
    assert feig_iso.inventory(afi=0x07).encode() == bytes.fromhex("02000affb0011007d971")
    assert feig_iso.inventory(afi=0xD7).data == bytes([0x01, 0x10, 0xD7])
    assert feig_iso.inventory(more=True, afi=0x07).data == bytes([0x01, 0x90, 0x07])


def test_feig_inventory_without_afi_is_unchanged() -> None:
    assert feig_iso.inventory().encode() == bytes.fromhex("020009ffb001001843")


def test_feig_refuses_an_afi_that_is_not_a_byte() -> None:
    with pytest.raises(feig_iso.FeigIsoError):
        feig_iso.inventory(afi=0x100)


def test_feig_request_parser_reads_the_afi_back() -> None:
    assert feig_iso.parse_request(feig_iso.inventory(afi=0x07)) == {
        "sub_command": 0x01,
        "mode": 0x10,
        "afi": 0x07,
    }
    assert feig_iso.parse_request(feig_iso.inventory()) == {"sub_command": 0x01, "mode": 0x00}
    # The AFI bit without its byte, or a byte without the bit: not an inventory we know.
    assert feig_iso.parse_request(FeigFrame(0xFF, 0xB0, bytes([0x01, 0x10]))) is None
    assert feig_iso.parse_request(FeigFrame(0xFF, 0xB0, bytes([0x01, 0x00, 0x07]))) is None


def test_threem_inventory_with_the_afi_is_these_bytes() -> None:
    # 0xD6, LEN 0005, CMD FE, AFI 07, options 03, CRC-16/GENIBUS MSB first.
    assert threem.inventory(0x07).encode() == bytes.fromhex("d60005fe07030311")
    assert threem.request_fields(threem.inventory(0x07)) == {"afi": 0x07, "options": 0x03}


@pytest.mark.parametrize(
    ("requested", "afi", "answers"),
    [
        (0x07, 0x07, True),
        (0x07, 0xC2, False),  # a lent book keeps silent
        (0x07, 0xD7, False),  # 0Y is the proprietary subfamily Y, not Y of every family
        (0x07, 0x00, False),
        (0xD7, 0xD7, True),
        (0xD7, 0xDA, False),
        (0xD0, 0xDA, True),  # X0: every subfamily of family X
        (0xD0, 0xC2, False),
        (0x00, 0xC2, True),  # 0: no selection
    ],
)
def test_which_tags_answer(requested: int, afi: int, answers: bool) -> None:
    assert afi_answers(requested, afi) is answers


@given(st.integers(0, 255), st.integers(0, 255))
def test_an_exact_request_selects_exactly_its_value(requested: int, afi: int) -> None:
    if requested & 0x0F:
        assert afi_answers(requested, afi) is (afi == requested)
    elif requested:
        assert afi_answers(requested, afi) is (afi >> 4 == requested >> 4)
    else:
        assert afi_answers(requested, afi)


@given(st.binary(max_size=12))
def test_fuzzed_feig_inventory_requests_parse_or_are_refused(data: bytes) -> None:
    fields = feig_iso.parse_request(FeigFrame(0xFF, 0xB0, bytes([0x01]) + data))
    assert fields is None or fields["sub_command"] == 0x01
