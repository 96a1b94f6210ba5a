import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.crc import CRC16_GENIBUS, CRC16_IBM_3740, CRC16_IBM_SDLC, CRC16_MCRF4XX, Crc16


@pytest.mark.parametrize(
    ("crc", "check"),
    [
        (CRC16_IBM_3740, 0x29B1),
        (CRC16_MCRF4XX, 0x6F91),
        (CRC16_GENIBUS, 0xD64E),
        (CRC16_IBM_SDLC, 0x906E),
    ],
)
def test_standard_check_values(crc: Crc16, check: int) -> None:
    assert crc(b"123456789") == check


def _bitwise(data: bytes, reflected: bool, xorout: int) -> int:
    crc = 0xFFFF
    for byte in data:
        if reflected:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        else:
            crc ^= byte << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc ^ xorout


@given(st.binary(max_size=64))
def test_tables_agree_with_the_bitwise_definition(data: bytes) -> None:
    assert CRC16_IBM_3740(data) == _bitwise(data, False, 0)
    assert CRC16_MCRF4XX(data) == _bitwise(data, True, 0)
    assert CRC16_GENIBUS(data) == _bitwise(data, False, 0xFFFF)
