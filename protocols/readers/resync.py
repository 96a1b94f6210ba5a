"""Resynchronising a byte stream when a false start byte announces a long frame.

Noise can contain a start byte followed by a plausible length; a parser that
trusts it waits for bytes that never come while the real answer sits behind
it. So while a candidate frame is incomplete, look for a complete frame with a
good CRC starting later in the buffer; if there is one, the candidate was noise.
"""

from __future__ import annotations

from collections.abc import Callable, Container


def later_frame_start(
    buffer: bytes | bytearray,
    starts: Container[int],
    frame_length: Callable[[bytes | bytearray, int], int | None],
    crc_ok: Callable[[bytes], bool],
) -> int:
    """Offset (> 0) of the first complete, CRC-valid frame after offset 0, or -1."""
    for offset in range(1, len(buffer)):
        if buffer[offset] not in starts:
            continue
        length = frame_length(buffer, offset)
        if length is None or offset + length > len(buffer):
            continue
        if crc_ok(bytes(buffer[offset : offset + length])):
            return offset
    return -1
