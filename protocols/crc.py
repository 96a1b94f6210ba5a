"""Every CRC the RFID side uses, table-driven, each checked against its standard check value.

Parameters follow the catalogue of parametrised CRC algorithms (width, poly,
init, reflected, xorout); the check value is the CRC of b"123456789".

- CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF, not reflected): ISO 28560-3 tags; check 0x29B1.
- CRC-16/MCRF4XX (poly 0x1021 reflected = 0x8408, init 0xFFFF): FEIG reader frames; 0x6F91.
- CRC-16/GENIBUS (poly 0x1021, init 0xFFFF, xorout 0xFFFF): 3M/Bibliotheca readers; 0xD64E.
- CRC-16/IBM-SDLC (X-25: MCRF4XX with xorout 0xFFFF): ISO 15693 air frames; 0x906E.
"""

from __future__ import annotations

from dataclasses import dataclass


def _table(poly: int, reflected: bool) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        if reflected:
            crc = byte
            for _ in range(8):
                crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        else:
            crc = byte << 8
            for _ in range(8):
                crc = ((crc << 1) ^ poly if crc & 0x8000 else crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


@dataclass(frozen=True, slots=True)
class Crc16:
    name: str
    init: int
    reflected: bool
    xorout: int
    table: tuple[int, ...]

    def __call__(self, data: bytes) -> int:
        crc = self.init
        table = self.table
        if self.reflected:
            for byte in data:
                crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
        else:
            for byte in data:
                crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ byte) & 0xFF]
        return crc ^ self.xorout


CRC16_IBM_3740 = Crc16("CRC-16/IBM-3740", 0xFFFF, False, 0x0000, _table(0x1021, False))
CRC16_MCRF4XX = Crc16("CRC-16/MCRF4XX", 0xFFFF, True, 0x0000, _table(0x8408, True))
CRC16_GENIBUS = Crc16("CRC-16/GENIBUS", 0xFFFF, False, 0xFFFF, _table(0x1021, False))
CRC16_IBM_SDLC = Crc16("CRC-16/IBM-SDLC", 0xFFFF, True, 0xFFFF, CRC16_MCRF4XX.table)
