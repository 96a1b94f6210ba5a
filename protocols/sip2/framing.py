"""Splitting a SIP2 byte stream into messages.

Servers end messages with CR, CRLF or LF, split one message over several TCP
segments and pack several into one. A message is whatever lies between
terminators; empty lines (the LF of a CRLF) are skipped. The terminators seen
are recorded so `muontra sip2 doctor` can report a server's dialect.
"""

from __future__ import annotations

from protocols.sip2.errors import SIP2Error

DEFAULT_MAX_MESSAGE = 64 * 1024


class Framer:
    """Feed bytes in any chunking, get complete messages (without terminator)."""

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self.max_message = max_message
        self.terminators_seen: set[bytes] = set()
        self._buffer = bytearray()
        self._after_cr = False

    @property
    def pending(self) -> bytes:
        """Bytes received that do not yet end in a terminator."""
        return bytes(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()
        self._after_cr = False

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data``.

        Raises :class:`SIP2Error` when more than ``max_message`` bytes arrive
        without a terminator (garbage or a hostile peer); the buffer is dropped
        so the stream can recover at the next terminator.
        """
        if self._after_cr and data:
            # A CR ended the last chunk: only now do we know whether it was CRLF.
            self._after_cr = False
            if data[:1] == b"\n":
                self.terminators_seen.add(b"\r\n")
                data = data[1:]
            else:
                self.terminators_seen.add(b"\r")
        buf = self._buffer
        buf += data
        frames: list[bytes] = []
        start = 0
        end = len(buf)
        while start < end:
            cr = buf.find(b"\r", start)
            lf = buf.find(b"\n", start)
            if cr < 0 and lf < 0:
                break
            if lf < 0 or 0 <= cr < lf:
                frame_end, next_start = cr, cr + 1
                if next_start == end:
                    self._after_cr = True
                elif buf[next_start] == 0x0A:
                    self.terminators_seen.add(b"\r\n")
                    next_start += 1
                else:
                    self.terminators_seen.add(b"\r")
            else:
                frame_end, next_start = lf, lf + 1
                self.terminators_seen.add(b"\n")
            if frame_end > start:
                frame = bytes(buf[start:frame_end])
                if frame.strip(b"\x00 "):
                    frames.append(frame)
            start = next_start
        del buf[:start]
        if len(buf) > self.max_message:
            size = len(buf)
            self.reset()
            raise SIP2Error(f"{size} bytes without a message terminator; discarded")
        return frames
