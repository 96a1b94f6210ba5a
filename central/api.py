"""The HTTP JSON API for other tools (and the staff console): read-only unless a token allows.

Every request carries ``Authorization: Bearer <token>``: a client's API token, or a
staff session's from ``POST /v1/login`` (central/login.py). A token is issued once per
client (:func:`issue_token`) and only its SHA-256 is stored: the tokens are 32 random
bytes, so a fast hash is enough and a copy of the database lets nobody in. A token
reads; a token marked ``may_command`` and tied to a staff account may also send
commands and acknowledge alerts, as that staff member and with their role (looked up
on every request, so a demoted or deactivated account stops at once).

Endpoints (all JSON):

- ``POST /v1/login`` with ``{"login", "password"}`` (no token): a staff session,
  ``{"token", "expires", "login", "display_name", "role"}``; 401 for a wrong login or
  password, 429 while the account or the source address is locked (the same answer
  whatever the password). ``POST /v1/logout`` ends the session it is sent with.

- ``GET /v1/devices[?site=]``, ``GET /v1/events[?site=&device=&limit=]``,
  ``GET /v1/stats?site=&day=YYYY-MM-DD``: the fleet, through a :class:`FleetReader`
  (core's store); 503 when none is plugged in.
- ``GET /v1/whoami``: the client, and the staff member and role it acts as (None: reads only).
- ``GET /v1/alerts[?site=&open=1]``; ``POST /v1/alerts/{id}/ack``.
- ``GET /v1/stream[?site=]``: server-sent events as they happen: ``alert`` (raised),
  ``alert_update`` (a security alert's count grown, or cleared after its quiet time),
  ``ack``, and ``security`` (each stored security event; docs/central-security.md).
- ``GET /v1/commands[?device=]``, ``GET /v1/commands/{command id}``;
  ``POST /v1/commands`` with ``{"site", "device", "command", "args"}`` (202).

The server is the standard library's ThreadingHTTPServer: a few tools and consoles
poll it, which needs no framework; put a TLS proxy in front beyond loopback (a
password and a session token cross the wire: docs/central.md shows one).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.accounts import AccountError, Staff, authenticate, check_login, staff_of
from central.alerts import AlertError, AlertEvaluator, AlertStore
from central.commands import CommandBook, CommandError, CommandView
from central.login import LoginGuard, SessionBook
from central.settings_ops import ApiSection
from central.staff_models import ApiToken, StaffAccount

__all__ = ["ApiServer", "FleetReader", "TokenHolder", "issue_token", "revoke_token"]

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024
KEEPALIVE_S = 15.0
"""A comment line this often keeps proxies from closing a quiet stream."""
STREAM_BACKLOG = 1000
_COMMAND_ID = re.compile(r"[0-9a-f]{32}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

Json = Any
SendCommand = Callable[[Staff, str, str, str, Mapping[str, Any]], CommandView]


class FleetReader(Protocol):
    """What core's store answers for the API (devices, events, statistics), as JSON values."""

    def devices(self, site: str | None) -> list[dict[str, Json]]: ...

    def events(self, site: str | None, device: str | None, limit: int) -> list[dict[str, Json]]: ...

    def stats(self, site: str, day: str) -> list[dict[str, Json]]: ...


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    session: Session,
    client: str,
    *,
    may_command: bool = False,
    staff_login: str | None = None,
    now: float,
) -> str:
    """A new token for ``client`` (shown once, stored hashed); the caller commits."""
    check_login(client)
    staff_id = None
    if staff_login is not None:
        staff = session.scalar(select(StaffAccount).where(StaffAccount.login == staff_login))
        if staff is None:
            raise AccountError(f"no staff member {staff_login!r}")
        staff_id = staff.id
    if may_command and staff_id is None:
        raise AccountError("a token that may command acts as a staff member: name one")
    token = "mt_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            client=client,
            token_hash=_digest(token),
            may_command=may_command,
            staff_id=staff_id,
            created=now,
            revoked=False,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise AccountError(f"client {client!r} already has a token") from None
    return token


def revoke_token(session: Session, client: str) -> bool:
    row = session.scalar(select(ApiToken).where(ApiToken.client == client))
    if row is None:
        return False
    row.revoked = True
    return True


class TokenHolder:
    """Who a request's token is: the client's name, and the staff member it acts as."""

    def __init__(self, client: str, may_command: bool, staff: Staff | None) -> None:
        self.client = client
        self.may_command = may_command
        self.staff = staff


def _offer(listener: queue.Queue[bytes | None], item: bytes | None) -> None:
    """Queue ``item`` for a stream; a stream too far behind is closed, never waited for."""
    try:
        listener.put_nowait(item)
    except queue.Full:
        with contextlib.suppress(queue.Empty):
            while True:
                listener.get_nowait()
        listener.put_nowait(None)


class _HttpServer(ThreadingHTTPServer):
    # The standard library listens with a backlog of 5: a burst of requests (consoles
    # reconnecting together after a restart, or a guesser) got connections reset.
    request_queue_size = 128
    daemon_threads = True


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ApiServer:
    """The API on a ThreadingHTTPServer; :meth:`start` serves it in a thread."""

    def __init__(
        self,
        section: ApiSection,
        sessions: Callable[[], Session],
        *,
        alerts: AlertStore,
        book: CommandBook,
        send: SendCommand | None = None,
        evaluator: AlertEvaluator | None = None,
        fleet: FleetReader | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.section = section
        self.sessions = sessions
        self.alerts = alerts
        self.book = book
        self.send = send
        self.evaluator = evaluator
        self.fleet = fleet
        self.clock = clock
        self.guard = LoginGuard(
            account_failures=section.login_failures,
            address_failures=section.address_failures,
            lockout_s=section.lockout_s,
        )
        self.staff_sessions = SessionBook(section.session_s, clock)
        api = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "muontra-central"
            sys_version = ""

            def do_GET(self) -> None:
                api._handle(self, "GET")

            def do_POST(self) -> None:
                api._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                # The request line only (never headers: they hold the token).
                log.debug("api %s", format % args)

        self.httpd = _HttpServer((section.host, section.port), Handler)
        self._thread: threading.Thread | None = None
        self._listeners: list[tuple[queue.Queue[bytes | None], str | None]] = []
        self._listeners_lock = threading.Lock()
        self._closing = threading.Event()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="central-api")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._closing.set()
        with self._listeners_lock:
            for listener, _site in self._listeners:
                _offer(listener, None)
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(10)

    # --- the live stream ---------------------------------------------------------------

    def broadcast(self, kind: str, site: str, body: Json) -> int:
        """Send ``body`` as a server-sent event to every stream of ``site`` (or of all sites)."""
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        data = f"event: {kind}\ndata: {text}\n\n".encode()
        with self._listeners_lock:
            targets = [q for q, wanted in self._listeners if wanted is None or wanted == site]
        for target in targets:
            _offer(target, data)
        return len(targets)

    def _stream(self, handler: BaseHTTPRequestHandler, site: str | None) -> None:
        """``GET /v1/stream[?site=]``: alerts, their updates, acknowledgements and security
        events as they happen (SSE)."""
        listener: queue.Queue[bytes | None] = queue.Queue(maxsize=STREAM_BACKLOG)
        with self._listeners_lock:
            self._listeners.append((listener, site))
        handler.close_connection = True
        try:
            handler.send_response(HTTPStatus.OK)
            handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
            handler.send_header("Cache-Control", "no-store")
            handler.end_headers()
            handler.wfile.write(b": muontra central\n\n")
            handler.wfile.flush()
            while not self._closing.is_set():
                try:
                    item = listener.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    item = b": keep-alive\n\n"
                if item is None:
                    return
                handler.wfile.write(item)
                handler.wfile.flush()
        except OSError:
            return  # the client went away
        finally:
            with self._listeners_lock:
                self._listeners = [(q, s) for q, s in self._listeners if q is not listener]

    # --- requests ------------------------------------------------------------------------

    @staticmethod
    def _bearer(handler: BaseHTTPRequestHandler) -> str:
        header = handler.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
            raise _Refused(HTTPStatus.UNAUTHORIZED, "a bearer token is needed")
        return token.strip()

    def _holder(self, handler: BaseHTTPRequestHandler) -> TokenHolder:
        token = self._bearer(handler)
        staff_session = self.staff_sessions.find(token) if token.startswith("ms_") else None
        with self.sessions() as session:
            if staff_session is not None:
                account = session.get(StaffAccount, staff_session.staff_id)
                if account is None or not account.active:
                    raise _Refused(HTTPStatus.UNAUTHORIZED, "this staff account is inactive")
                member = staff_of(account)
                # A session acts as its staff member: what they may do is their role's.
                return TokenHolder(f"session:{member.login}", True, member)
            row = session.scalar(
                select(ApiToken).where(ApiToken.token_hash == _digest(token.strip()))
            )
            if row is None or row.revoked:
                raise _Refused(HTTPStatus.UNAUTHORIZED, "unknown or revoked token")
            staff: Staff | None = None
            if row.staff_id is not None:
                account = session.get(StaffAccount, row.staff_id)
                staff = staff_of(account) if account is not None and account.active else None
            return TokenHolder(row.client, row.may_command, staff)

    def _login(self, handler: BaseHTTPRequestHandler) -> tuple[HTTPStatus, Json]:
        """``POST /v1/login``: a session for a staff login and password, unless locked out.

        The password is never logged nor kept. A failed sign-in is logged with its source
        address only: what was typed as the login may be a password typed in the wrong box.
        """
        body = self._body(handler)
        login, password = body.get("login"), body.get("password")
        if not isinstance(login, str) or not isinstance(password, str):
            raise _Refused(HTTPStatus.BAD_REQUEST, "login and password are text")
        if len(login) > 64 or len(password) > 1024:
            raise _Refused(HTTPStatus.BAD_REQUEST, "login or password too long")
        address = str(handler.client_address[0])
        if not self.guard.begin(login, address, self.clock()):
            log.warning("api: sign-in refused, account or address locked (from %s)", address)
            raise _Refused(
                HTTPStatus.TOO_MANY_REQUESTS,
                "too many wrong passwords: this account or address is locked for a while",
            )
        with self.sessions() as session:
            staff = authenticate(session, login, password)
        if staff is None:
            log.info("api: sign-in failed (from %s)", address)
            raise _Refused(HTTPStatus.UNAUTHORIZED, "wrong login or password")
        self.guard.succeeded(login, address)
        token, expires = self.staff_sessions.open(staff.id)
        log.info("api: %s signed in from %s", staff.login, address)
        return HTTPStatus.OK, {
            "token": token,
            "expires": expires,
            "login": staff.login,
            "display_name": staff.display_name,
            "role": staff.role.label,
        }

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        try:
            if method == "POST" and urlsplit(handler.path).path.rstrip("/") == "/v1/login":
                status, body = self._login(handler)
                self._answer(handler, status, body)
                return
            holder = self._holder(handler)
            url = urlsplit(handler.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, max_num_fields=20).items()}
            parts = [p for p in url.path.split("/") if p]
            if not parts or parts[0] != "v1":
                raise _Refused(HTTPStatus.NOT_FOUND, "no such endpoint")
            if method == "GET" and parts[1:] == ["stream"]:
                self._stream(handler, query.get("site"))
                return
            if method == "GET" and parts[1:] == ["whoami"]:
                staff = holder.staff if holder.may_command else None
                status, body = (
                    HTTPStatus.OK,
                    {
                        "client": holder.client,
                        "login": staff.login if staff else None,
                        "display_name": staff.display_name if staff else None,
                        "role": staff.role.label if staff else None,
                    },
                )
            elif method == "GET":
                status, body = HTTPStatus.OK, self._get(parts[1:], query)
            elif parts[1:] == ["logout"]:
                closed = self.staff_sessions.close(self._bearer(handler))
                status, body = HTTPStatus.OK, {"closed": closed}
            else:
                status, body = self._post(parts[1:], holder, self._body(handler))
        except _Refused as refused:
            status, body = refused.status, {"error": refused.message}
        except ValueError as error:
            status, body = HTTPStatus.BAD_REQUEST, {"error": str(error)[:300]}
        except Exception:
            log.exception("api request failed")
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"}
        self._answer(handler, status, body)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: HTTPStatus, body: Json) -> None:
        data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Cache-Control", "no-store")
        if status == HTTPStatus.UNAUTHORIZED:
            handler.send_header("WWW-Authenticate", 'Bearer realm="muontra"')
        handler.end_headers()
        handler.wfile.write(data)

    def _body(self, handler: BaseHTTPRequestHandler) -> dict[str, Json]:
        try:
            length = int(handler.headers.get("Content-Length", "0"))
        except ValueError:
            raise _Refused(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise _Refused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a body is at most {MAX_BODY} bytes"
            )
        raw = handler.rfile.read(length) if length else b"{}"
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
        if not isinstance(value, dict):
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body is a JSON object")
        return value

    def _limit(self, query: Mapping[str, str]) -> int:
        try:
            limit = int(query.get("limit", self.section.max_page))
        except ValueError:
            raise _Refused(HTTPStatus.BAD_REQUEST, "limit is a number") from None
        return max(1, min(limit, self.section.max_page))

    def _fleet(self) -> FleetReader:
        if self.fleet is None:
            raise _Refused(HTTPStatus.SERVICE_UNAVAILABLE, "the fleet store is not connected")
        return self.fleet

    def _get(self, parts: list[str], query: Mapping[str, str]) -> Json:
        site = query.get("site")
        match parts:
            case ["alerts"]:
                rows = self.alerts.list_alerts(
                    site=site, open_only=query.get("open") == "1", limit=self._limit(query)
                )
                return {"alerts": [row.as_json() for row in rows]}
            case ["commands"]:
                views = self.book.list_audit(device=query.get("device"), limit=self._limit(query))
                return {"commands": [view.as_json() for view in views]}
            case ["commands", command_id] if _COMMAND_ID.fullmatch(command_id):
                view = self.book.get(command_id)
                if view is None:
                    raise _Refused(HTTPStatus.NOT_FOUND, "no such command")
                return view.as_json()
            case ["devices"]:
                return {"devices": self._fleet().devices(site)}
            case ["events"]:
                events = self._fleet().events(site, query.get("device"), self._limit(query))
                return {"events": events}
            case ["stats"]:
                day = query.get("day", "")
                if site is None or not _DAY.fullmatch(day):
                    raise _Refused(HTTPStatus.BAD_REQUEST, "stats needs site and day=YYYY-MM-DD")
                return {"stats": self._fleet().stats(site, day)}
        raise _Refused(HTTPStatus.NOT_FOUND, "no such endpoint")

    def _post(
        self, parts: list[str], holder: TokenHolder, body: dict[str, Json]
    ) -> tuple[HTTPStatus, Json]:
        if not holder.may_command:
            raise _Refused(HTTPStatus.FORBIDDEN, "this token is read-only")
        staff = holder.staff
        if staff is None:
            raise _Refused(HTTPStatus.FORBIDDEN, "this token's staff account is inactive")
        match parts:
            case ["commands"]:
                if self.send is None:
                    raise _Refused(HTTPStatus.SERVICE_UNAVAILABLE, "commands are not connected")
                site, device, name = (body.get(k) for k in ("site", "device", "command"))
                if not (
                    isinstance(site, str) and isinstance(device, str) and isinstance(name, str)
                ):
                    raise _Refused(HTTPStatus.BAD_REQUEST, "site, device and command are text")
                args = body.get("args", {})
                if not isinstance(args, dict):
                    raise _Refused(HTTPStatus.BAD_REQUEST, "args is an object")
                try:
                    sent = self.send(staff, site, device, name, args)
                except CommandError as error:
                    status = (
                        HTTPStatus.FORBIDDEN if "may not" in str(error) else HTTPStatus.BAD_REQUEST
                    )
                    raise _Refused(status, str(error)) from None
                return HTTPStatus.ACCEPTED, sent.as_json()
            case ["alerts", number, "ack"] if number.isdigit() and len(number) < 12:
                try:
                    acked, key = self.alerts.acknowledge(int(number), staff, self.clock())
                except AlertError as error:
                    status = (
                        HTTPStatus.FORBIDDEN if "may not" in str(error) else HTTPStatus.CONFLICT
                    )
                    if str(error).startswith("no alert"):
                        status = HTTPStatus.NOT_FOUND
                    raise _Refused(status, str(error)) from None
                if self.evaluator is not None:
                    self.evaluator.acknowledged(key)
                self.broadcast("ack", acked.site, acked.as_json())
                return HTTPStatus.OK, acked.as_json()
        raise _Refused(HTTPStatus.NOT_FOUND, "no such endpoint")
