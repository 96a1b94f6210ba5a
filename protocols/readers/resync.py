"""Frames out of a serial byte stream: the incremental parser every reader protocol shares.

A reader's frames start with a start byte and announce their length near the
start; a CRC ends them. Bytes arrive in any chunking with noise between
frames. :class:`FrameStream` finds start bytes, waits for whole frames, checks
the CRC, reports a bad frame and resynchronises one byte further on.

Noise can hold a start byte followed by a plausible length; trusting it would
wait for bytes that never come while the real answer sits behind it. So while
a candidate is incomplete, a complete frame with a good CRC later in the buffer
wins; and when the line goes quiet inside a frame, :meth:`FrameStream.resync`
drops the false start.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Generic, TypeVar

F = TypeVar("F")

MAX_SCAN = 4096


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Bytes that looked like a frame but whose CRC did not match; skipped."""

    raw: bytes
    reason: str


def later_frame_start(
    buffer: bytes | bytearray,
    starts: Container[int],
    frame_length: Callable[[bytes | bytearray, int], int | None],
    crc_ok: Callable[[bytes], bool],
) -> int:
    """Offset (> 0) of the first complete, CRC-valid frame after offset 0, or -1."""
    for offset in range(1, min(len(buffer), MAX_SCAN)):
        if buffer[offset] not in starts:
            continue
        length = frame_length(buffer, offset)
        if length is None or offset + length > len(buffer):
            continue
        if crc_ok(bytes(buffer[offset : offset + length])):
            return offset
    return -1


class FrameStream(Generic[F]):
    """Subclasses set ``starts`` and implement ``frame_length``, ``crc_ok`` and ``build``."""

    starts: Container[int] = ()

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0

    def frame_length(self, buffer: bytes | bytearray, offset: int) -> int | None:
        """The whole frame's length if ``buffer[offset:]`` can start one, None if it cannot."""
        raise NotImplementedError

    def crc_ok(self, frame: bytes) -> bool:
        raise NotImplementedError

    def build(self, frame: bytes) -> F:
        raise NotImplementedError

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buffer)

    def resync(self) -> list[F | BadFrame]:
        """The line went quiet inside a frame: its start byte was noise; look past it."""
        if not self._buffer:
            return []
        self.skipped += 1
        del self._buffer[:1]
        return self.feed(b"")

    def _drop(self, count: int) -> None:
        self.skipped += count
        del self._buffer[:count]

    def feed(self, data: bytes) -> list[F | BadFrame]:
        buffer = self._buffer
        buffer += data
        out: list[F | BadFrame] = []
        while True:
            start = next((i for i, byte in enumerate(buffer) if byte in self.starts), -1)
            if start < 0:
                self._drop(len(buffer))
                return out
            if start:
                self._drop(start)
            if len(buffer) < 3:
                return out
            length = self.frame_length(buffer, 0)
            if length is None:
                self._drop(1)  # not a frame start after all
                continue
            if len(buffer) < length:
                later = later_frame_start(buffer, self.starts, self.frame_length, self.crc_ok)
                if later < 0:
                    return out
                self._drop(later)
                continue
            frame = bytes(buffer[:length])
            if self.crc_ok(frame):
                out.append(self.build(frame))
                del buffer[:length]
            else:
                out.append(BadFrame(frame, "CRC mismatch"))
                self._drop(1)  # resynchronise on the next start byte
