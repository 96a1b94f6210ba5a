"""Fault switches of the ILS simulator: how a real ILS misbehaves, on demand.

Every switch can be set from the config file, on the command line, by tests
through the Python object, and at run time through the control port
(``set latency 0.5``), so a demo can make the ILS slow or take it down while a
kiosk is in the middle of a stack.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


@dataclass(slots=True)
class Faults:
    latency: float = 0.0
    """Seconds added before every response."""
    down: bool = False
    """Accept connections and close them at once, as an ILS that is down behind a proxy."""
    drop_after: int = 0
    """Close the connection without answering after every N-th request (0 = never)."""
    drop_mid_message: bool = False
    """When dropping, first send half of the response, then close."""
    idle_close: float = 0.0
    """Close a connection that has been idle this many seconds (0 = never)."""
    garbage_every: int = 0
    """Send a line of garbage bytes before every N-th response (0 = never)."""
    bad_checksum_every: int = 0
    """Corrupt the checksum of every N-th response (0 = never)."""
    terminator: str = "cr"
    """Line terminator of responses: cr, lf or crlf."""
    encoding: str = "utf-8"
    """Text encoding of the wire (utf-8, cp850, latin-1, cp1258…)."""

    def set(self, name: str, value: str) -> None:
        """Set one switch from text (the control port and the command line)."""
        for spec in fields(self):
            if spec.name == name:
                current = getattr(self, name)
                if isinstance(current, bool):
                    parsed: object = value.strip().lower() in ("1", "true", "yes", "on")
                elif isinstance(current, int):
                    parsed = int(value)
                elif isinstance(current, float):
                    parsed = float(value)
                else:
                    parsed = value.strip()
                if name == "terminator" and parsed not in TERMINATORS:
                    raise ValueError(f"terminator must be one of {', '.join(TERMINATORS)}")
                if name == "encoding":
                    "".encode(str(parsed))  # LookupError for an unknown codec
                setattr(self, name, parsed)
                return
        known = ", ".join(spec.name for spec in fields(self))
        raise ValueError(f"unknown fault {name!r}; known faults: {known}")

    def describe(self) -> dict[str, object]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

    @property
    def terminator_bytes(self) -> bytes:
        return TERMINATORS[self.terminator]
