"""The console's link to central: its HTTP JSON API (requests) and its live stream (a thread).

No Qt here, so the tests and scripts can use it alone. The window makes every request
(sign-in, alerts, fleet, a device's detail, statistics, commands, acknowledgements) on
a worker thread (ui/console/worker.py), so a slow or dead central never freezes it; each
waits at most ``timeout`` seconds (TIMEOUT_S, `muontra console --timeout`) for central,
and ``Central.abort`` hangs up those still out when the window closes or signs out. The
stream has its own thread, which calls back on every event and on every change of
the link, and reconnects with a growing pause until stopped (or until central refuses
the session: 401).

Staff sign-in: a login and password are traded at ``POST /v1/login`` for a session
token with an expiry (central locks an account or address after wrong passwords); a
staff API token (``muontra central add-token … --may-command --as-staff LOGIN``) still
works for a wall display. An older central without the endpoint is told apart (404).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from ui.console.sse import SseParser, StreamError

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0
MAX_BODY = 32 * 1024 * 1024


class CentralError(Exception):
    """A request central refused or could not answer: ``status`` 0 when it was unreachable."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message

    @property
    def unavailable(self) -> bool:
        """503: central runs, but this part of it (the fleet store) is not connected."""
        return self.status == 503


def split_server(url: str) -> tuple[str, int, str]:
    """``http://host:port[/prefix]`` → host, port, path prefix. Only http (TLS by a proxy)."""
    parts = urlsplit(url.strip() if "://" in url else f"http://{url.strip()}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a central address: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, port, parts.path.rstrip("/")


class Central:
    """Requests to central's API with one staff token."""

    def __init__(self, server: str, token: str = "", timeout: float = TIMEOUT_S) -> None:
        self.server = server
        self.https = server.strip().lower().startswith("https://")
        self.host, self.port, self.prefix = split_server(server)
        self.token = token
        self.timeout = timeout
        self.role: str | None = None
        """The staff role behind the token (viewer, desk, admin) once known; None: reads only."""
        self._lock = threading.Lock()
        self._out: set[http.client.HTTPConnection] = set()
        self._aborted = False

    def abort(self) -> None:
        """Hang up every request still out, and refuse new ones (the window is done with us).

        A worker blocked reading from a central that never answers returns at once
        with "cannot be reached" instead of waiting out its timeout.
        """
        with self._lock:
            self._aborted = True
            out = list(self._out)
        for conn in out:
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)

    def _open(self) -> http.client.HTTPConnection:
        """A connected connection, registered so that ``abort`` can hang it up."""
        conn = self._connection(self.timeout)
        with self._lock:
            if self._aborted:
                raise CentralError(0, "central cannot be reached: the request was dropped")
            self._out.add(conn)
        try:
            conn.connect()
        except OSError:
            self._forget(conn)
            raise
        # After connecting, look again: an abort that came while connecting found no socket
        # to shut down, so this request must end itself.
        with self._lock:
            aborted = self._aborted
        if aborted:
            self._forget(conn)
            raise CentralError(0, "central cannot be reached: the request was dropped")
        return conn

    def _forget(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._out.discard(conn)
        conn.close()

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=timeout)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def request(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        wanted = {k: v for k, v in query.items() if v is not None}
        target = self.prefix + path + (f"?{urlencode(wanted)}" if wanted else "")
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = self._headers()
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn = self._open()
        except OSError as error:
            raise CentralError(0, f"central cannot be reached: {error}") from None
        try:
            conn.request(method, target, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_BODY + 1)
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            raise CentralError(0, f"central cannot be reached: {error}") from None
        finally:
            self._forget(conn)
        if len(raw) > MAX_BODY:
            raise CentralError(status, "central's answer is too long")
        try:
            value = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            raise CentralError(status, "central's answer is not JSON") from None
        if status >= 400:
            message = value.get("error") if isinstance(value, dict) else None
            raise CentralError(status, str(message or f"HTTP {status}"))
        return value

    # --- what the console asks ------------------------------------------------------------

    def sign_in(self, login: str, password: str) -> str:
        """A staff token for ``login`` (the proposed ``POST /v1/login``); kept for later calls."""
        try:
            answer = self.request("POST", "/v1/login", {"login": login, "password": password})
        except CentralError as error:
            # Today's central wants a token before it routes anything: that 401 (or a 404)
            # means it has no sign-in endpoint, not that the password is wrong.
            if error.status == 404 or (error.status == 401 and "token is needed" in error.message):
                raise CentralError(404, "central has no staff sign-in endpoint") from None
            raise
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise CentralError(502, "central's sign-in answer holds no token")
        self.token = token
        role = answer.get("role")
        self.role = role if isinstance(role, str) else None
        return token

    def whoami(self) -> dict[str, Any]:
        """The client and the staff member (login, role) this token acts as."""
        answer = self.request("GET", "/v1/whoami")
        if not isinstance(answer, dict):
            raise CentralError(502, "central's whoami answer is not an object")
        role = answer.get("role")
        self.role = role if isinstance(role, str) else None
        return answer

    def send_command(
        self, site: str, device: str, command: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /v1/commands``: the audit row of the command as sent (outcome None)."""
        body = {"site": site, "device": device, "command": command, "args": args}
        answer = self.request("POST", "/v1/commands", body)
        if not isinstance(answer, dict) or not isinstance(answer.get("command_id"), str):
            raise CentralError(502, "central's answer names no command")
        return answer

    def command(self, command_id: str) -> dict[str, Any]:
        """The audit row of one command: its outcome once the device has answered."""
        if not all(c in "0123456789abcdef" for c in command_id) or len(command_id) != 32:
            raise CentralError(400, "not a command id")
        answer = self.request("GET", f"/v1/commands/{command_id}")
        return answer if isinstance(answer, dict) else {}

    def alerts(self, site: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
        answer = self.request("GET", "/v1/alerts", site=site, open="1" if open_only else None)
        return _rows(answer, "alerts")

    def acknowledge(self, alert_id: int) -> dict[str, Any]:
        answer = self.request("POST", f"/v1/alerts/{int(alert_id)}/ack", {})
        return answer if isinstance(answer, dict) else {}

    def devices(self, site: str | None = None) -> list[dict[str, Any]]:
        return _rows(self.request("GET", "/v1/devices", site=site), "devices")

    def events(self, device: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return _rows(self.request("GET", "/v1/events", device=device, limit=limit), "events")

    def commands(self, device: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return _rows(self.request("GET", "/v1/commands", device=device, limit=limit), "commands")

    def stats(self, site: str, day: str) -> list[dict[str, Any]]:
        return _rows(self.request("GET", "/v1/stats", site=site, day=day), "stats")


def _rows(answer: Any, key: str) -> list[dict[str, Any]]:
    rows = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise CentralError(502, f"central's answer has no {key} list")
    return [row for row in rows if isinstance(row, dict)]


EventCallback = Callable[[str, dict[str, Any]], None]
StateCallback = Callable[[bool], None]


class LiveStream:
    """``GET /v1/stream`` in a thread: ``on_event(kind, body)``, ``on_state(up)``; reconnects."""

    def __init__(
        self,
        central: Central,
        on_event: EventCallback,
        on_state: StateCallback,
        site: str | None = None,
        retry_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.central = central
        self.on_event = on_event
        self.on_state = on_state
        self.site = site
        self.retry_s = retry_s
        self._stop = threading.Event()
        self.refused = False
        """Central answered 401: the token or session is no longer good (a session ends when
        central restarts, or expires); the stream stops instead of retrying for ever."""
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="console-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop following; returns at once. The thread tells nobody anything after this
        (it looks at the stop flag before each callback), so it need not be waited for:
        one still connecting to a central that never answers ends with its connect timeout."""
        self._stop.set()
        with self._lock:
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(0.5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._loop()
        except RuntimeError:
            # Qt deleted the receiver of the callbacks (its window is gone): nobody to tell.
            log.debug("live stream stopped: its receiver is gone")

    def _loop(self) -> None:
        pause = self.retry_s[0]
        while not self._stop.is_set():
            try:
                if self._follow():
                    pause = self.retry_s[0]
            except (OSError, http.client.HTTPException, StreamError) as error:
                log.info("live stream lost: %s", type(error).__name__)
            if self._stop.is_set():
                if self.refused:
                    self.on_state(False)  # the window sees ``refused`` and signs out
                return
            self.on_state(False)
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, self.retry_s[1])

    def _follow(self) -> bool:
        """One connection, read until it ends; True if it was up at some point."""
        c = self.central
        query = f"?{urlencode({'site': self.site})}" if self.site else ""
        # The connect is bounded by the API's timeout (an address that never answers would
        # otherwise hold it for the kernel's two minutes of SYN retries); the stream itself
        # then waits as long as central is quiet.
        conn = c._connection(c.timeout)
        conn.connect()
        conn.sock.settimeout(None)
        with self._lock:
            self._sock = conn.sock
        if self._stop.is_set():
            conn.close()
            return False
        try:
            conn.request("GET", f"{c.prefix}/v1/stream{query}", headers=c._headers())
            response = conn.getresponse()
            if response.status != 200:
                log.warning("live stream refused: HTTP %s", response.status)
                if response.status == 401:
                    self.refused = True
                    self._stop.set()
                return False
            if self._stop.is_set():
                return False
            self.on_state(True)
            parser = SseParser()
            while not self._stop.is_set():
                chunk = response.read1(65536)
                if not chunk:
                    return True
                for kind, data in parser.feed(chunk):
                    if self._stop.is_set():
                        return True
                    try:
                        body = json.loads(data)
                    except ValueError:
                        continue
                    if isinstance(body, dict):
                        self.on_event(kind, body)
            return True
        finally:
            with self._lock:
                self._sock = None
            conn.close()
