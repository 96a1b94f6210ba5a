"""FEIG ISC readers' serial protocols: frames and an incremental parser.

Advanced protocol: ``0x02, LENGTH (2 bytes, MSB first, the whole frame),
COM-ADR, CMD, DATA…, CRC16`` — standard protocol: ``LENGTH (1 byte), COM-ADR,
CMD, DATA…, CRC16``. The CRC is CRC-16/MCRF4XX over every byte before it,
least significant byte first. In answers from the reader the first data byte
is the status (0x00 OK). Host commands for ISO 15693 tags sit under 0xB0
(sub-command in the first data byte); 0xB1 carries NXP custom commands.

The parser takes bytes in any chunking, skips noise before a frame, reports a
frame with a bad CRC and resynchronises one byte further on.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.crc import CRC16_MCRF4XX
from protocols.readers.resync import BadFrame, FrameStream

STX = 0x02
MIN_ADVANCED = 7  # STX, 2 length, address, command, 2 CRC
MAX_FRAME = 4096

COMMANDS = {
    0x52: "baud rate detection",
    0x55: "start flash loader",
    0x63: "CPU reset",
    0x65: "get software version",
    0x66: "get reader info",
    0x69: "RF reset",
    0x6A: "RF on/off",
    0x71: "set output",
    0x80: "read configuration",
    0x81: "write configuration",
    0xB0: "ISO host command",
    0xB1: "NXP custom command",
    0xB2: "ISO 14443 special command",
    0xBC: "transparent command",
}

ISO_HOST_COMMANDS = {
    0x01: "inventory",
    0x02: "stay quiet",
    0x22: "lock multiple blocks",
    0x23: "read multiple blocks",
    0x24: "write multiple blocks",
    0x25: "select",
    0x26: "reset to ready",
    0x27: "write AFI",
    0x28: "lock AFI",
    0x29: "write DSFID",
    0x2A: "lock DSFID",
    0x2B: "get system information",
    0x2C: "get multiple block security status",
}

NXP_COMMANDS = {0xA2: "set EAS", 0xA3: "reset EAS", 0xA4: "lock EAS", 0xA5: "EAS alarm"}


class FeigFrameError(ValueError):
    """A frame that cannot be built or parsed."""


@dataclass(frozen=True, slots=True)
class FeigFrame:
    address: int
    command: int
    data: bytes
    advanced: bool = True
    crc_ok: bool = True

    @property
    def command_name(self) -> str:
        name = COMMANDS.get(self.command, f"command 0x{self.command:02X}")
        if self.command == 0xB0 and self.data[:1]:
            # In a request the first byte is the ISO sub-command; in an answer, the status.
            sub = ISO_HOST_COMMANDS.get(self.data[0])
            if sub:
                name += f" / {sub} (if a request)"
        if self.command == 0xB1 and self.data[:1]:
            sub = NXP_COMMANDS.get(self.data[0])
            if sub:
                name += f" / {sub} (if a request)"
        return name

    def encode(self) -> bytes:
        if self.advanced:
            length = len(self.data) + MIN_ADVANCED
            if length > 0xFFFF:
                raise FeigFrameError("frame too long")
            body = bytes([STX, length >> 8, length & 0xFF, self.address, self.command])
        else:
            length = len(self.data) + 5
            if length > 0xFF:
                raise FeigFrameError("too long for the standard protocol; use the advanced one")
            body = bytes([length, self.address, self.command])
        body += self.data
        crc = CRC16_MCRF4XX(body)
        return body + bytes([crc & 0xFF, crc >> 8])


def _advanced_length(buffer: bytes | bytearray, offset: int) -> int | None:
    if offset + 3 > len(buffer):
        return None
    length = buffer[offset + 1] << 8 | buffer[offset + 2]
    return length if MIN_ADVANCED <= length <= MAX_FRAME else None


def _check(frame: bytes) -> bool:
    crc = CRC16_MCRF4XX(frame[:-2])
    return frame[-2] == crc & 0xFF and frame[-1] == crc >> 8


class FeigParser(FrameStream[FeigFrame]):
    """Advanced-protocol frames from a byte stream in any chunking."""

    starts = (STX,)

    def frame_length(self, buffer: bytes | bytearray, offset: int) -> int | None:
        return _advanced_length(buffer, offset)

    def crc_ok(self, frame: bytes) -> bool:
        return _check(frame)

    def build(self, frame: bytes) -> FeigFrame:
        return FeigFrame(frame[3], frame[4], frame[5:-2])


def decode_frames(data: bytes) -> list[FeigFrame | BadFrame]:
    """Every frame in ``data`` (advanced protocol; a standard frame when there is no STX)."""
    frames = FeigParser().feed(data)
    if not frames and len(data) >= 5 and data[0] == len(data):
        frame = FeigFrame(data[1], data[2], data[3:-2], advanced=False, crc_ok=_check(data))
        return [frame]
    return frames
