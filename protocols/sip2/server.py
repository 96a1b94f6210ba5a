"""The ILS side of SIP2 as a sans-IO state machine (used by the ILS simulator).

It frames and decodes requests, answers a garbled request with 96, resends the
last response on 97, and stamps each response with the request's sequence
number. What to answer is the application's business.

It also refuses what a client could only send through a field injection, so
that a request is never acted on in pieces: a request carrying a control
character in a field is answered with a refusal of its own type (nothing is
done); once a client has used checksums, a message without one is taken for
the first part of a message split by a CR inside a field and answered with 96;
whatever follows a refused message in the same write is dropped with it; and a
client without checksums gets one 96 for a write holding several messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocols.sip2.errors import SIP2Error
from protocols.sip2.framing import Framer
from protocols.sip2.message import REGISTRY, Message, decode, encode
from protocols.sip2.messages import RESPONSE_FOR, RequestSCResend
from protocols.sip2.profiles import GENERIC, Profile

# Control characters never belong in a request's values: received, they mean an
# injection attempt (or a broken client), never data to act on.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
REFUSED_SCREEN_MESSAGE = "Request refused: a field carries a control character"


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
        self._checksums_used = False

    def receive_data(self, data: bytes) -> list[ServerEvent]:
        try:
            frames = self.framer.feed(data)
        except SIP2Error as exc:
            return [BadRequest(str(exc), b"")]
        events: list[ServerEvent] = []
        if any(_has_checksum(frame) for frame in frames):
            # A client that checksums one message of a write checksums them all:
            # a piece without one in the same write is a split request.
            self._checksums_used = True
        elif len(frames) > 1 and not self._checksums_used:
            # Without checksums a split request cannot be told from several
            # requests; a client waits for each answer, so several in one write
            # are refused together rather than acted on in pieces.
            self.error_detection = False  # answer in kind
            events = [
                BadRequest("several messages in one write without checksums", f) for f in frames
            ]
            return [*events, Reply(self._resend_request())]
        refused = False
        for frame in frames:
            if refused:
                # The rest of a write whose first part was refused: a CR inside a
                # field splits one request into several, and the later pieces may
                # be a whole forged message with a valid checksum.
                events.append(BadRequest("follows a refused message in the same write", frame))
                continue
            handled = self._handle(frame)
            refused = not isinstance(handled[-1], RequestReceived) and any(
                isinstance(event, BadRequest) for event in handled
            )
            events.extend(handled)
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
        if message.checksum_ok is None and self._checksums_used:
            return [
                BadRequest("no checksum from a client that uses them", frame),
                Reply(self._resend_request()),
            ]
        # Answer in kind: a client that sends no AY/AZ gets none back.
        self.error_detection = message.checksum_ok is not None
        self._checksums_used = self._checksums_used or self.error_detection
        self._sequence = message.sequence
        where = _control_character_in(message)
        if where is not None:
            return [BadRequest(f"control character in {where}", frame), *self._refuse(message)]
        return [RequestReceived(message)]

    def _refuse(self, request: Message) -> list[ServerEvent]:
        """The request's own response type, saying no and echoing nothing of the request."""
        response_class = REGISTRY.get(RESPONSE_FOR.get(request.command, ""))
        if response_class is None:
            return [Reply(self._resend_request())]
        extra = [("AF", REFUSED_SCREEN_MESSAGE)] if response_class.COMMAND != "94" else []
        return [Reply(self.respond(response_class.create(extra=extra)))]

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


def _control_character_in(message: Message) -> str | None:
    """Where ``message`` carries a control character ("field AA"), or None."""
    for name, value in message.fixed.items():
        if _CONTROL.search(value):
            return f"fixed field {name}"
    for field_id, value in message.fields:
        if _CONTROL.search(value):
            return f"field {field_id}"
    return None


def _has_checksum(frame: bytes) -> bool:
    return frame[-6:-4] == b"AZ"
