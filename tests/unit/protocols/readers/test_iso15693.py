"""ISO 15693 air-interface frames: exact bytes, round trips, and fuzzed parsers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.readers import iso15693 as air
from protocols.readers.iso15693 import Iso15693Error, SystemInfo

UID = bytes.fromhex("E0040150A1B2C3D4")
WIRE_UID = bytes.fromhex("D4C3B2A1500104E0")

uids = st.binary(min_size=8, max_size=8)


def test_frame_crc_is_x25_least_significant_byte_first() -> None:
    assert air.CRC16_IBM_SDLC(b"123456789") == 0x906E  # the one from protocols.crc
    # The one-slot inventory request as printed in reader application notes.
    assert air.add_crc(air.inventory()) == bytes.fromhex("260100F60A")
    assert air.strip_crc(bytes.fromhex("260100F60A")) == bytes.fromhex("260100")
    with pytest.raises(Iso15693Error, match="CRC"):
        air.strip_crc(bytes.fromhex("260100F60B"))
    with pytest.raises(Iso15693Error):
        air.strip_crc(b"\x26\x01")


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (air.inventory(), "260100"),
        (air.inventory(afi=0x07), "36010700"),
        (air.inventory(mask_bits=4, mask=0xA), "2601040A"),
        (air.inventory(mask_bits=12, mask=0xABC), "26010CBC0A"),
        (air.read_single_block(UID, 5), "2220" + WIRE_UID.hex() + "05"),
        (air.read_single_block(None, 5, security=True), "422005"),
        (air.read_multiple_blocks(None, 0, 4), "02230003"),
        (air.read_multiple_blocks(UID, 2, 1), "2223" + WIRE_UID.hex() + "0200"),
        (air.write_single_block(None, 3, b"abcd"), "02210361626364"),
        (air.write_afi(UID, 0xC2), "2227" + WIRE_UID.hex() + "C2"),
        (air.lock_afi(None), "0228"),
        (air.get_system_info(UID), "222B" + WIRE_UID.hex()),
        (air.set_eas(None), "02A204"),
        (air.reset_eas(UID), "22A304" + WIRE_UID.hex()),
        (air.lock_eas(None), "02A404"),
        (air.eas_alarm(), "02A504"),
        (air.eas_alarm(UID), "22A504" + WIRE_UID.hex()),
    ],
)
def test_request_exact_bytes(frame: bytes, expected: str) -> None:
    assert frame == bytes.fromhex(expected)


def test_request_builders_refuse_bad_values() -> None:
    with pytest.raises(Iso15693Error):
        air.read_single_block(UID[:7], 0)
    with pytest.raises(Iso15693Error):
        air.read_single_block(None, 256)
    with pytest.raises(Iso15693Error):
        air.read_multiple_blocks(None, 0, 0)
    with pytest.raises(Iso15693Error):
        air.write_afi(None, 0x100)
    with pytest.raises(Iso15693Error):
        air.write_single_block(None, 0, b"")
    with pytest.raises(Iso15693Error):
        air.inventory(mask_bits=3, mask=0x8)
    with pytest.raises(Iso15693Error):
        air.inventory(mask_bits=65)
    with pytest.raises(Iso15693Error):
        air.Request(0xA2).encode()  # a custom command needs its manufacturer code
    with pytest.raises(Iso15693Error):
        air.Request(0x20, manufacturer=0x04).encode()


def test_published_system_info_answer() -> None:
    # ICODE SLIX: DSFID, AFI, 28 blocks of 4 bytes, IC reference 01.
    frame = bytes.fromhex("000F" + WIRE_UID.hex() + "00071B0301")
    info = air.parse_system_info(frame)
    assert info == SystemInfo(UID, dsfid=0, afi=7, block_count=28, block_size=4, ic_reference=1)
    assert info.encode() == frame


def test_system_info_with_only_some_fields() -> None:
    frame = bytes.fromhex("0002" + WIRE_UID.hex() + "C2")
    assert air.parse_system_info(frame) == SystemInfo(UID, afi=0xC2)
    with pytest.raises(Iso15693Error, match="announce"):
        air.parse_system_info(bytes.fromhex("000F" + WIRE_UID.hex() + "00"))


def test_error_answers_carry_the_tag_code() -> None:
    with pytest.raises(Iso15693Error) as caught:
        air.parse_status(bytes.fromhex("0112"))
    assert caught.value.code == 0x12
    assert "block locked" in str(caught.value)
    with pytest.raises(Iso15693Error) as custom:
        air.parse_system_info(bytes.fromhex("01B0"))
    assert custom.value.code == 0xB0 and "custom" in str(custom.value)
    with pytest.raises(Iso15693Error) as bare:
        air.parse_response(b"\x01")
    assert bare.value.code is None


def test_inventory_answer() -> None:
    frame = bytes.fromhex("0000" + WIRE_UID.hex())
    assert air.parse_inventory(frame) == air.InventoryReply(uid=UID, dsfid=0)
    assert air.inventory_response(UID) == frame
    with pytest.raises(Iso15693Error):
        air.parse_inventory(frame[:-1])


def test_block_answers() -> None:
    assert air.parse_blocks(b"\x00abcdefgh", 2) == b"abcdefgh"
    assert air.parse_blocks(b"\x00abcd", 1, block_size=4) == b"abcd"
    with pytest.raises(Iso15693Error):
        air.parse_blocks(b"\x00abcde", 2)
    with pytest.raises(Iso15693Error):
        air.parse_blocks(b"\x00abcdefgh", 1, block_size=4)
    air.parse_status(b"\x00")
    with pytest.raises(Iso15693Error):
        air.parse_status(b"\x00\x00")


def test_parse_request_sees_what_a_tag_sees() -> None:
    parsed = air.parse_request(air.eas_alarm(UID))
    assert (parsed.command, parsed.manufacturer, parsed.uid, parsed.body) == (0xA5, 4, UID, b"")
    parsed = air.parse_request(air.inventory(afi=0x07))
    assert parsed.inventory and parsed.uid is None and parsed.body == b"\x07\x00"
    assert air.parse_inventory_request(parsed) == air.InventoryMask(0x07, 0, 0)
    parsed = air.parse_request(air.read_single_block(None, 9, security=True))
    assert parsed.option and parsed.uid is None and parsed.body == b"\x09"
    for bad in (b"", b"\x02", b"\x02\xa2", b"\x22\x20\x01\x02"):
        with pytest.raises(Iso15693Error):
            air.parse_request(bad)


@given(
    command=st.sampled_from([c for c in air.Command if c < air.CUSTOM_FIRST and c != 0x01]),
    uid=st.none() | uids,
    body=st.binary(max_size=40),
    option=st.booleans(),
)
def test_standard_request_round_trip(
    command: int, uid: bytes | None, body: bytes, option: bool
) -> None:
    frame = air.Request(command, uid, body, option=option).encode()
    parsed = air.parse_request(frame)
    assert (parsed.command, parsed.uid, parsed.body, parsed.option) == (command, uid, body, option)
    assert parsed.manufacturer is None


@given(uid=uids, bits=st.integers(0, 64), afi=st.none() | st.integers(0, 255))
def test_inventory_mask_selects_by_the_low_uid_bits(uid: bytes, bits: int, afi: int | None) -> None:
    low = int.from_bytes(uid, "big") & ((1 << bits) - 1)
    selection = air.parse_inventory_request(air.parse_request(air.inventory(afi, bits, low)))
    assert selection == air.InventoryMask(afi, bits, low)
    assert selection.matches(uid, 0x07 if afi is None else afi)
    if bits:
        other = low ^ (1 << (bits - 1))
        assert not air.InventoryMask(None, bits, other).matches(uid, 0x07)


@given(command=st.integers(0xA0, 0xDF), maker=st.integers(0, 255), uid=st.none() | uids)
def test_custom_request_round_trip(command: int, maker: int, uid: bytes | None) -> None:
    parsed = air.parse_request(air.Request(command, uid, manufacturer=maker).encode())
    assert (parsed.command, parsed.manufacturer, parsed.uid) == (command, maker, uid)


@given(
    uid=uids,
    dsfid=st.none() | st.integers(0, 255),
    afi=st.none() | st.integers(0, 255),
    memory=st.none() | st.tuples(st.integers(1, 256), st.integers(1, 32)),
    ic=st.none() | st.integers(0, 255),
)
def test_system_info_round_trip(
    uid: bytes,
    dsfid: int | None,
    afi: int | None,
    memory: tuple[int, int] | None,
    ic: int | None,
) -> None:
    count, size = memory if memory else (None, None)
    info = SystemInfo(uid, dsfid, afi, count, size, ic)
    assert air.parse_system_info(info.encode()) == info


@given(st.binary(max_size=64))
def test_crc_round_trip(frame: bytes) -> None:
    assert air.strip_crc(air.add_crc(frame + b"\x00")) == frame + b"\x00"


@given(st.binary(max_size=64), st.integers(1, 8), st.integers(1, 32))
def test_parsers_raise_only_their_own_error(frame: bytes, count: int, size: int) -> None:
    for parse in (
        air.parse_request,
        air.parse_response,
        air.parse_status,
        air.parse_inventory,
        lambda f: air.parse_inventory_request(air.parse_request(f)),
        air.parse_system_info,
        air.strip_crc,
        lambda f: air.parse_blocks(f, count, size),
    ):
        with contextlib.suppress(Iso15693Error):
            parse(frame)
