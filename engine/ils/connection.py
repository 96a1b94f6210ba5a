"""One SIP2 connection to an ILS: a thin blocking shell around the sans-IO client.

It owns the socket (TCP or TLS), logs in and asks for the ILS status on
connect, notices a link the ILS closed while idle and reconnects with
backoff, and applies a time-out to every call. What SIP2 itself demands
(sequence numbers, resends, framing) is :class:`ClientConnection`'s job.

A call that breaks mid-flight is retried on a fresh link only when repeating
it cannot change anything in the ILS (status and lookups). A checkout,
checkin, renewal, payment or hold is never resent blindly: a resent checkout
can be taken for a renewal. The caller gets :class:`IlsConnectionError` and
its journal decides.
"""

from __future__ import annotations

import logging
import random
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable

from engine.ils.errors import (
    IlsAnswerLost,
    IlsConnectionError,
    IlsError,
    IlsLoginError,
    IlsRequestRefused,
    IlsTimeout,
    IlsTlsUnverified,
    tls_detail,
)
from engine.ils.url import IlsSettings
from protocols.sip2 import (
    ACSStatusResponse,
    LoginRequest,
    LoginResponse,
    Message,
    SCStatusRequest,
    SIP2Error,
)
from protocols.sip2.client import (
    ClientConnection,
    ProtocolWarning,
    RequestFailed,
    ResponseReceived,
    SendData,
)

log = logging.getLogger(__name__)

# Requests whose repetition changes nothing in the ILS: safe to resend on a new link.
IDEMPOTENT = frozenset({"93", "99", "23", "63", "17", "35"})

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

# A hostile or broken ILS can send warnings as fast as the link carries them (248,058
# lines in 5 s were measured): keep the latest few for `sip2 doctor`, log one line per
# interval and then how many were left out.
WARNINGS_KEPT = 100
WARNING_LOG_INTERVAL = 10.0
# The raw bytes kept of the last exchange (for `sip2 doctor`): a message is at most
# 64 KB (the framer's limit), so twice that always holds the answer.
RAW_KEPT = 128 * 1024


class _LinkLost(Exception):
    pass


class SipConnection:
    """A SIP2 connection that reconnects by itself; safe to share between threads."""

    def __init__(
        self,
        settings: IlsSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self._sleep = sleep
        self._jitter = jitter
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self.link = ClientConnection(settings.profile)
        self.status: ACSStatusResponse | None = None
        self.last_activity = 0.0
        self.last_raw = b""
        self.reconnects = 0
        self._warnings: deque[str] = deque(maxlen=WARNINGS_KEPT)
        self.warnings_total = 0
        self._warning_logged_at: float | None = None
        self._warnings_suppressed = 0
        self.on_refused: Callable[[IlsError], None] | None = None
        """Told of a refused login or an unverified certificate before it is raised
        (the engine's security detectors: docs/security.md)."""

    @property
    def warnings(self) -> list[str]:
        """The latest :data:`WARNINGS_KEPT` protocol warnings, oldest first."""
        return list(self._warnings)

    # --- life cycle -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        """Open the link, log in when a user is set, and ask for the ILS status."""
        with self._lock:
            self._close_socket()
            self._sock = self._open_socket()
            self.link = ClientConnection(self.settings.profile)
            try:
                if self.settings.user:
                    answer = self._exchange(
                        LoginRequest.create(
                            login_user_id=self.settings.user,
                            login_password=self.settings.password or "",
                            location_code=self.settings.location or None,
                        )
                    )
                    if not (isinstance(answer, LoginResponse) and answer.ok):
                        raise IlsLoginError(
                            f"the ILS refused the SIP2 login of user {self.settings.user!r}"
                        )
                status = self._exchange(SCStatusRequest.create(max_print_width="040"))
                if isinstance(status, ACSStatusResponse):
                    self.status = status
            except (_LinkLost, OSError) as exc:
                self._close_socket()
                raise IlsConnectionError(
                    f"the ILS broke off the connection set-up: {exc}"
                ) from None
            except IlsLoginError as refused:
                self._close_socket()
                self._tell_refused(refused)
                raise
            except BaseException:
                self._close_socket()
                raise
            log.info("connected to ILS %s", self.settings.display())

    def _tell_refused(self, error: IlsError) -> None:
        if self.on_refused is None:
            return
        try:
            self.on_refused(error)
        except Exception:  # a detector's bug must not change what the caller sees
            log.exception("the ILS link's refusal callback failed")

    def close(self) -> None:
        with self._lock:
            self._close_socket()

    def __enter__(self) -> SipConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calls ------------------------------------------------------------------------------

    def request(self, message: Message) -> Message:
        """Send ``message`` and return the ILS's answer, reconnecting when needed."""
        with self._lock:
            self._ensure_link()
            try:
                return self._exchange(message)
            except (_LinkLost, OSError) as exc:
                self._close_socket()
                if message.command not in IDEMPOTENT:
                    raise IlsAnswerLost(
                        f"the link to the ILS broke during {message.name}: {exc}; "
                        "it may or may not have been done"
                    ) from None
                log.info("link lost during %s (%s); reconnecting to retry", message.name, exc)
                self._reconnect()
                try:
                    return self._exchange(message)
                except (_LinkLost, OSError) as again:
                    self._close_socket()
                    raise IlsConnectionError(f"{message.name} failed twice: {again}") from None

    def keepalive(self) -> bool:
        """Send SC Status when idle longer than the keep-alive interval; True if sent."""
        with self._lock:
            if self._sock is None:
                return False
            if self._monotonic() - self.last_activity < self.settings.keepalive:
                return False
            answer = self.request(SCStatusRequest.create(max_print_width="040"))
            if isinstance(answer, ACSStatusResponse):
                self.status = answer
            return True

    # --- internals ------------------------------------------------------------------------

    def _open_socket(self) -> socket.socket:
        settings = self.settings
        try:
            sock = socket.create_connection(
                (settings.host, settings.port), timeout=settings.connect_timeout
            )
        except OSError as exc:
            raise IlsConnectionError(
                f"cannot connect to the ILS at {settings.host}:{settings.port}: {exc}"
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not settings.tls:
            return sock
        context = ssl.create_default_context(cafile=settings.ca_file)
        if not settings.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            return context.wrap_socket(sock, server_hostname=settings.host)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            unverified = IlsTlsUnverified(
                f"the TLS certificate of the ILS at {settings.host}:{settings.port} "
                f"did not verify: {exc.verify_message or exc}",
                tls_detail(exc.verify_code),
            )
            self._tell_refused(unverified)
            raise unverified from None
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise IlsConnectionError(
                f"TLS with the ILS at {settings.host}:{settings.port} failed: {exc}"
            ) from None

    def _close_socket(self) -> None:
        self._log_suppressed()
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self.link.connection_lost()

    def _ensure_link(self) -> None:
        if self._sock is not None and self._closed_by_peer(self._sock):
            log.info("the ILS closed the idle link; reconnecting")
            self._close_socket()
        if self._sock is None:
            self._reconnect()

    def _closed_by_peer(self, sock: socket.socket) -> bool:
        """True when the ILS has closed the link since the last call (read ready, no data)."""
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            sock.settimeout(0)
            try:
                data = sock.recv(65536)
            finally:
                sock.settimeout(self.settings.timeout)
        except ssl.SSLWantReadError:
            return False
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        if not data:
            return True
        for event in self.link.receive_data(data):
            if isinstance(event, ProtocolWarning):
                self._warn(event.reason)
        return False

    def _reconnect(self) -> None:
        attempts = max(1, self.settings.retries)
        for attempt in range(attempts):
            try:
                self.connect()
                if self.last_activity:
                    self.reconnects += 1
                return
            except IlsLoginError:
                raise
            except IlsConnectionError as exc:
                if attempt == attempts - 1:
                    raise
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (0.5 + self._jitter() / 2)
                log.warning("%s; retrying in %.1f s", exc, delay)
                self._sleep(delay)

    def _exchange(self, message: Message) -> Message:
        sock = self._sock
        if sock is None:
            raise _LinkLost("not connected")
        try:
            request = self.link.send(message)
        except SIP2Error as refused:  # encoded before anything is written: the link is intact
            raise IlsRequestRefused(f"{message.name} not sent: {refused}") from None
        sock.sendall(request)
        deadline = self._monotonic() + self.settings.timeout
        received = bytearray()
        while True:
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                self.link.timed_out()
                self._close_socket()
                raise IlsTimeout(f"no answer to {message.name} within {self.settings.timeout} s")
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue  # the deadline check above raises
            if not data:
                self.link.connection_lost()
                raise _LinkLost("the ILS closed the connection")
            received += data
            _keep_tail(received)
            for event in self.link.receive_data(data):
                if isinstance(event, SendData):
                    sock.sendall(event.data)
                elif isinstance(event, ProtocolWarning):
                    self._warn(event.reason)
                elif isinstance(event, RequestFailed):
                    raise _LinkLost(event.reason)
                elif isinstance(event, ResponseReceived):
                    self.last_activity = self._monotonic()
                    self.last_raw = bytes(received)
                    return event.response

    def _warn(self, reason: str) -> None:
        self._warnings.append(reason)
        self.warnings_total += 1
        now = self._monotonic()
        logged = self._warning_logged_at
        if logged is not None and now - logged < WARNING_LOG_INTERVAL:
            self._warnings_suppressed += 1
            return
        self._log_suppressed()
        log.warning("SIP2: %s", reason)
        self._warning_logged_at = now

    def _log_suppressed(self) -> None:
        if self._warnings_suppressed:
            log.warning("SIP2: %d more warnings from the ILS suppressed", self._warnings_suppressed)
            self._warnings_suppressed = 0


def _keep_tail(received: bytearray) -> None:
    """Cut ``received`` to its last RAW_KEPT bytes, from a message boundary on."""
    if len(received) <= RAW_KEPT:
        return
    del received[:-RAW_KEPT]
    ends = [at for at in (received.find(b"\r"), received.find(b"\n")) if at >= 0]
    del received[: min(ends) + 1 if ends else len(received)]
