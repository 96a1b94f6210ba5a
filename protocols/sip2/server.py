"""The ILS side of SIP2 as a sans-IO state machine (used by the ILS simulator).

It frames and decodes requests, answers a garbled request with 96, resends the
last response on 97, and stamps each response with the request's sequence
number. What to answer is the application's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.sip2.errors import SIP2Error
from protocols.sip2.framing import Framer
from protocols.sip2.message import Message, decode, encode
from protocols.sip2.messages import RequestSCResend
from protocols.sip2.profiles import GENERIC, Profile


@dataclass(frozen=True, slots=True)
class RequestReceived:
    request: Message


@dataclass(frozen=True, slots=True)
class Reply:
    """Bytes to write back at once (a resend or a request for one)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class BadRequest:
    reason: str
    raw: bytes


ServerEvent = RequestReceived | Reply | BadRequest


class ServerConnection:
    def __init__(self, profile: Profile = GENERIC) -> None:
        self.profile = profile
        self.framer = Framer()
        self.last_response: bytes | None = None
        self._sequence: int | None = None
        self.error_detection = profile.error_detection

    def receive_data(self, data: bytes) -> list[ServerEvent]:
        try:
            frames = self.framer.feed(data)
        except SIP2Error as exc:
            return [BadRequest(str(exc), b"")]
        events: list[ServerEvent] = []
        for frame in frames:
            events.extend(self._handle(frame))
        return events

    def _handle(self, frame: bytes) -> list[ServerEvent]:
        try:
            message = decode(frame, self.profile.encoding)
        except SIP2Error as exc:
            return [BadRequest(str(exc), frame), Reply(self._resend_request())]
        if message.checksum_ok is False:
            return [BadRequest("bad checksum", frame), Reply(self._resend_request())]
        if message.command == "97":
            if self.last_response is None:
                return [BadRequest("resend asked before any response", frame)]
            return [Reply(self.last_response)]
        # Answer in kind: a client that sends no AY/AZ gets none back.
        self.error_detection = message.checksum_ok is not None
        self._sequence = message.sequence
        return [RequestReceived(message)]

    def respond(self, response: Message) -> bytes:
        """The bytes of ``response`` to the last request, remembered for a 97."""
        data = encode(
            response,
            self.profile.encoding,
            self.error_detection,
            self._sequence if self._sequence is not None else 0,
            self.profile.terminator,
            errors="replace",  # a legacy code page shows '?' for what it cannot carry
        )
        self.last_response = data
        return data

    def _resend_request(self) -> bytes:
        return encode(
            RequestSCResend.create(),
            self.profile.encoding,
            self.error_detection,
            terminator=self.profile.terminator,
        )
