"""The SIP2 client as a sans-IO state machine.

The I/O shell (engine/ils) owns the socket: it passes what it reads to
:meth:`ClientConnection.receive_data`, writes every :class:`SendData` it gets
back, and tells the machine about time-outs and lost connections. Everything
SIP2 itself demands is decided here and testable without a socket:

- one request in flight at a time (SIP2 is strictly request / response);
- sequence numbers 0-9 that wrap, and responses matched to them;
- a bad checksum from the server is answered with 97 (resend), a bounded
  number of times; a 96 from the server resends our last request;
- a response that does not belong to the request is reported, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.sip2.errors import SIP2Error
from protocols.sip2.framing import Framer
from protocols.sip2.message import Message, decode, encode
from protocols.sip2.messages import RESPONSE_FOR, RequestACSResend
from protocols.sip2.profiles import GENERIC, Profile


@dataclass(frozen=True, slots=True)
class SendData:
    """Bytes the shell must write to the ILS now."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    request: Message
    response: Message


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The request cannot be completed on this connection; the shell should reconnect."""

    request: Message
    reason: str


@dataclass(frozen=True, slots=True)
class ProtocolWarning:
    """Something odd that was survived (stale or unexpected message, garbage)."""

    reason: str
    raw: bytes


Event = SendData | ResponseReceived | RequestFailed | ProtocolWarning


@dataclass(slots=True)
class _Pending:
    request: Message
    data: bytes
    sequence: int
    expected: str
    resends: int = 0


class ClientConnection:
    """SIP2 client state for one connection."""

    def __init__(self, profile: Profile = GENERIC, max_resends: int = 2) -> None:
        self.profile = profile
        self.max_resends = max_resends
        self.framer = Framer()
        self._next_sequence = 0
        self.last_sequence: int | None = None
        self._pending: _Pending | None = None
        self._resend_request = encode(
            RequestACSResend.create(),
            profile.encoding,
            profile.error_detection,
            terminator=profile.terminator,
        )

    @property
    def busy(self) -> bool:
        """True while a request waits for its response."""
        return self._pending is not None

    def send(self, request: Message) -> bytes:
        """The bytes for ``request``; only one request may be in flight."""
        if self._pending is not None:
            raise SIP2Error(
                f"cannot send {request.command}: {self._pending.request.command} "
                "is still waiting for its response"
            )
        expected = RESPONSE_FOR.get(request.command)
        if expected is None:
            raise SIP2Error(f"{request.command} is not a request a client can send")
        sequence = self._next_sequence
        self._next_sequence = (sequence + 1) % 10
        self.last_sequence = sequence
        data = encode(
            request,
            self.profile.encoding,
            self.profile.error_detection,
            sequence,
            self.profile.terminator,
        )
        self._pending = _Pending(request, data, sequence, expected)
        return data

    def receive_data(self, data: bytes) -> list[Event]:
        """Events caused by bytes read from the ILS."""
        try:
            frames = self.framer.feed(data)
        except SIP2Error as exc:
            return [ProtocolWarning(str(exc), b""), *self._fail(str(exc))]
        events: list[Event] = []
        for frame in frames:
            events.extend(self._handle(frame))
        return events

    def timed_out(self) -> list[Event]:
        """The shell's timer for the pending request ran out.

        The request is not sent again here: a checkout repeated blindly could
        be taken as a renewal. The shell reconnects and decides.
        """
        return self._fail("no response from the ILS in time")

    def connection_lost(self) -> list[Event]:
        """The socket closed; a fresh connection starts with a clean state."""
        self.framer.reset()
        return self._fail("the ILS closed the connection")

    # ------------------------------------------------------------------------

    def _fail(self, reason: str) -> list[Event]:
        pending, self._pending = self._pending, None
        return [] if pending is None else [RequestFailed(pending.request, reason)]

    def _ask_again(self, reason: str, frame: bytes) -> list[Event]:
        """Answer a garbled response with 97, within the resend budget."""
        pending = self._pending
        if pending is None:
            return [ProtocolWarning(reason + " (nothing was pending)", frame)]
        if pending.resends >= self.max_resends:
            return [ProtocolWarning(reason, frame), *self._fail(f"{reason}; gave up after resends")]
        pending.resends += 1
        return [
            ProtocolWarning(reason + "; asked the ILS to resend", frame),
            SendData(self._resend_request),
        ]

    def _handle(self, frame: bytes) -> list[Event]:
        try:
            message = decode(frame, self.profile.encoding)
        except SIP2Error as exc:
            return self._ask_again(f"undecodable response: {exc}", frame)
        if message.checksum_ok is False and self.profile.verify_checksum:
            return self._ask_again("bad checksum in response", frame)
        pending = self._pending
        if message.command == "96":
            if pending is None:
                return [ProtocolWarning("ILS asked for a resend with nothing pending", frame)]
            if pending.resends >= self.max_resends:
                return self._fail("the ILS kept asking for resends")
            pending.resends += 1
            return [SendData(pending.data)]
        if pending is None:
            return [ProtocolWarning(f"unsolicited {message.command} from the ILS", frame)]
        if message.command != pending.expected:
            return [
                ProtocolWarning(
                    f"expected {pending.expected} in answer to {pending.request.command}, "
                    f"got {message.command}; ignored",
                    frame,
                )
            ]
        if (
            self.profile.error_detection
            and message.sequence is not None
            and message.sequence != pending.sequence
        ):
            return [
                ProtocolWarning(
                    f"response carries sequence {message.sequence}, expected {pending.sequence}; "
                    "a late answer to an earlier request, ignored",
                    frame,
                )
            ]
        self._pending = None
        return [ResponseReceived(pending.request, message)]
