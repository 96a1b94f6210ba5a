"""``POST /v1/login`` on a real socket: sessions, roles, expiry, and an attacker's guesses.

The attacker's tests send their guesses over HTTP from loopback addresses of their own
(127.0.0.N: Linux routes all of 127/8 to lo), so the per-address lock is the real one.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.accounts import Staff, create_staff
from central.alerts import AlertStore
from central.api import ApiServer
from central.commands import CommandBook, CommandView
from central.settings_ops import ApiSection
from central.staff_models import StaffAccount
from tests.central.ops_db import fresh_db_fixture, sqlite_sessions  # noqa: F401  (a fixture)

SITE = "VN-HN0001"
NOW = 1_800_000_000.0
PASSWORDS = {"xem": "mật khẩu xem 01", "lan": "mật khẩu lan 02", "boss": "mật khẩu sếp 03"}
SECTION = ApiSection(
    enabled=True, port=0, session_s=3600.0, login_failures=5, address_failures=20, lockout_s=900.0
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _serve(sessions: Callable[[], Session], clock: Clock) -> ApiServer:
    with sessions() as session:
        for login, role in (("xem", "viewer"), ("lan", "desk"), ("boss", "admin")):
            create_staff(session, login, login.title(), role, PASSWORDS[login], site=SITE, now=NOW)
        session.commit()
    book = CommandBook(sessions, "muontra")

    def send(
        staff: Staff, site: str, device: str, name: str, args: Mapping[str, Any]
    ) -> CommandView:
        return book.prepare(staff, site, device, name, args, now=clock())[2]

    server = ApiServer(
        SECTION, sessions, alerts=AlertStore(sessions), book=book, send=send, clock=clock
    )
    server.start()
    return server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(fresh_db: Callable[[], Session], clock: Clock) -> Iterator[ApiServer]:
    server = _serve(fresh_db, clock)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lite(tmp_path: Any, clock: Clock) -> Iterator[tuple[ApiServer, Callable[[], Session]]]:
    """The API on SQLite only: the guessing tests are about the API, not the database."""
    sessions = sqlite_sessions(tmp_path)
    server = _serve(sessions, clock)
    try:
        yield server, sessions
    finally:
        server.stop()


def call(
    api: ApiServer,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    source: str = "127.0.0.1",
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30, source_address=(source, 0))
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def login(api: ApiServer, who: str, password: str, source: str = "127.0.0.1") -> tuple[int, Any]:
    return call(api, "POST", "/v1/login", body={"login": who, "password": password}, source=source)


COMMAND = {"site": SITE, "device": "kiosk-01", "command": "lock", "args": {}}


def test_a_session_acts_with_its_staff_role(api: ApiServer) -> None:
    status, desk = login(api, "lan", PASSWORDS["lan"])
    assert status == 200
    assert desk["role"] == "desk" and desk["login"] == "lan"
    assert desk["expires"] == NOW + SECTION.session_s
    assert desk["token"].startswith("ms_") and PASSWORDS["lan"] not in json.dumps(desk)
    assert call(api, "GET", "/v1/alerts", token=desk["token"])[0] == 200
    status, sent = call(api, "POST", "/v1/commands", token=desk["token"], body=COMMAND)
    assert status == 202 and sent["actor"] == "lan"

    _, viewer = login(api, "xem", PASSWORDS["xem"])
    assert call(api, "GET", "/v1/alerts", token=viewer["token"])[0] == 200
    assert call(api, "POST", "/v1/commands", token=viewer["token"], body=COMMAND)[0] == 403
    reload = dict(COMMAND, command="reload")
    assert call(api, "POST", "/v1/commands", token=desk["token"], body=reload)[0] == 403
    _, admin = login(api, "boss", PASSWORDS["boss"])
    assert call(api, "POST", "/v1/commands", token=admin["token"], body=reload)[0] == 202

    assert call(api, "POST", "/v1/logout", token=desk["token"])[1] == {"closed": True}
    assert call(api, "GET", "/v1/alerts", token=desk["token"])[0] == 401


def test_a_session_expires_and_a_deactivated_account_stops_at_once(
    lite: tuple[ApiServer, Callable[[], Session]], clock: Clock
) -> None:
    api, sessions = lite
    _, desk = login(api, "lan", PASSWORDS["lan"])
    _, viewer = login(api, "xem", PASSWORDS["xem"])
    clock.now += SECTION.session_s - 1
    assert call(api, "GET", "/v1/alerts", token=desk["token"])[0] == 200
    clock.now += 1
    assert call(api, "GET", "/v1/alerts", token=desk["token"])[0] == 401

    clock.now = NOW
    with sessions() as session:
        account = session.scalar(select(StaffAccount).where(StaffAccount.login == "xem"))
        assert account is not None
        account.active = False
        session.commit()
    assert call(api, "GET", "/v1/alerts", token=viewer["token"])[0] == 401
    assert login(api, "xem", PASSWORDS["xem"])[0] == 401


def test_wrong_password_and_unknown_login_answer_alike(
    lite: tuple[ApiServer, Callable[[], Session]],
) -> None:
    api, _ = lite
    wrong = login(api, "lan", "not the password")
    unknown = login(api, "nobody", "not the password")
    assert wrong == unknown == (401, {"error": "wrong login or password"})
    for body in (
        {"login": "lan"},
        {"login": 1, "password": "x"},
        {"login": "a" * 65, "password": "x"},
    ):
        assert call(api, "POST", "/v1/login", body=body)[0] == 400


def test_a_thousand_guesses_do_not_get_through(
    lite: tuple[ApiServer, Callable[[], Session]], clock: Clock
) -> None:
    """The right password is guess 500: by then the account is locked, and the lock's
    answer to it is the same as to a wrong one."""
    api, _ = lite
    guesses = [f"guess-{n:04d}-xx" for n in range(1000)]
    guesses[500] = PASSWORDS["lan"]
    answers = [login(api, "lan", guess, source="127.0.0.9") for guess in guesses]
    statuses = [status for status, _ in answers]
    assert 200 not in statuses
    assert statuses[: SECTION.login_failures] == [401] * SECTION.login_failures
    assert set(statuses[SECTION.login_failures :]) == {429}
    assert answers[500] == answers[501]  # right or wrong, a locked account says the same
    # From another address, the account is still locked: the lock is the account's.
    assert login(api, "lan", PASSWORDS["lan"], source="127.0.0.10")[0] == 429
    clock.now += SECTION.lockout_s
    assert login(api, "lan", PASSWORDS["lan"], source="127.0.0.10")[0] == 200


def test_one_address_cannot_walk_through_logins(
    lite: tuple[ApiServer, Callable[[], Session]],
) -> None:
    api, _ = lite
    statuses = [
        login(api, f"user{n}", "wrong password", source="127.0.0.11")[0] for n in range(100)
    ]
    assert statuses[: SECTION.address_failures] == [401] * SECTION.address_failures
    assert set(statuses[SECTION.address_failures :]) == {429}
    # The real account is not locked; this address is.
    assert login(api, "lan", PASSWORDS["lan"], source="127.0.0.11")[0] == 429
    assert login(api, "lan", PASSWORDS["lan"], source="127.0.0.12")[0] == 200


def test_guesses_sent_at_once_get_no_more_tries(
    lite: tuple[ApiServer, Callable[[], Session]],
) -> None:
    """Each try is charged before the password is hashed: 40 parallel guesses, 5 tries."""
    api, _ = lite
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(
            pool.map(
                lambda n: login(api, "boss", f"parallel-{n}-guess", "127.0.0.13")[0], range(40)
            )
        )
    assert statuses.count(401) == SECTION.login_failures
    assert statuses.count(429) == 40 - SECTION.login_failures


def test_a_right_password_starts_the_account_afresh(
    lite: tuple[ApiServer, Callable[[], Session]],
) -> None:
    api, _ = lite
    for _ in range(SECTION.login_failures - 1):
        assert login(api, "lan", "a wrong one!")[0] == 401
    assert login(api, "lan", PASSWORDS["lan"])[0] == 200
    for _ in range(SECTION.login_failures - 1):
        assert login(api, "lan", "a wrong one!")[0] == 401
    assert login(api, "lan", PASSWORDS["lan"])[0] == 200


def test_no_password_in_the_logs(
    lite: tuple[ApiServer, Callable[[], Session]], caplog: pytest.LogCaptureFixture
) -> None:
    api, _ = lite
    caplog.set_level(logging.DEBUG)
    typed_in_the_login_box = "lan-secret-password-1"
    login(api, typed_in_the_login_box, "whatever-else-2")
    login(api, "lan", "a wrong password 3")
    _, session = login(api, "lan", PASSWORDS["lan"])
    for _ in range(SECTION.login_failures + 1):
        login(api, "boss", "locking it out 4")
    text = caplog.text
    for secret in (
        typed_in_the_login_box,
        "whatever-else-2",
        "a wrong password 3",
        "locking it out 4",
        PASSWORDS["lan"],
        session["token"],
    ):
        assert secret not in text
    assert "lan signed in from 127.0.0.1" in text  # the log does say who got in
