"""A sans-IO parser of server-sent events (the WHATWG event-stream format), as central sends them.

Fed raw bytes in any slicing; returns each complete event as ``(name, data)``.
Comment lines (``: keep-alive``) are dropped; ``id`` and ``retry`` are ignored (central
does not send them). A line longer than ``max_line`` raises :class:`StreamError`, so a
hostile or broken server cannot grow the console's memory without bound.
"""

from __future__ import annotations

MAX_LINE = 1024 * 1024


class StreamError(ValueError):
    """The stream broke the format beyond repair; the caller hangs up and reconnects."""


class SseParser:
    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        self._buffer += chunk
        out: list[tuple[str, str]] = []
        while True:
            cut = self._buffer.find(b"\n")
            if cut < 0:
                if len(self._buffer) > self.max_line:
                    raise StreamError("a line of the stream is too long")
                return out
            raw, self._buffer = self._buffer[:cut], self._buffer[cut + 1 :]
            if len(raw) > self.max_line:
                raise StreamError("a line of the stream is too long")
            line = raw.removesuffix(b"\r").decode("utf-8", "replace")
            if not line:
                if self._data:
                    out.append((self._event or "message", "\n".join(self._data)))
                self._event, self._data = "", []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                self._event = value
            elif field == "data":
                self._data.append(value)
