"""The HTTP JSON API on a real socket: tokens, roles, hostile requests, then what it serves."""

from __future__ import annotations

import argparse
import http.client
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.accounts import AccountError, Staff, create_staff
from central.alerts import AlertEvaluator, AlertStore
from central.api import ApiServer, issue_token, revoke_token
from central.cli_staff import add_token_arguments, add_token_command
from central.commands import CommandBook, CommandView
from central.settings_ops import AlertsSection, ApiSection
from central.staff_models import ApiToken, AuditEntry
from tests.central.ops_db import fresh_db_fixture, sqlite_sessions  # noqa: F401  (a fixture)

SITE = "VN-HN0001"
NOW = 1_800_000_000.0
PASSWORD = "0123456789ab"


class Fleet:
    """Stands in for core's store: answers the three fleet reads."""

    def devices(self, site: str | None) -> list[dict[str, Any]]:
        return [{"device": "gate-a", "site": site or SITE, "state": "online"}]

    def events(self, site: str | None, device: str | None, limit: int) -> list[dict[str, Any]]:
        return [{"event": "alarm", "device": device, "limit": limit}]

    def stats(self, site: str, day: str) -> list[dict[str, Any]]:
        return [{"site": site, "day": day, "checkouts": 3}]


@pytest.fixture
def sessions(fresh_db: Callable[[], Session]) -> Callable[[], Session]:
    return fresh_db


@pytest.fixture
def tokens(sessions: Callable[[], Session]) -> dict[str, str]:
    with sessions() as session:
        for login, role in (("xem", "viewer"), ("lan", "desk"), ("boss", "admin")):
            create_staff(session, login, login.title(), role, PASSWORD, site=SITE, now=NOW)
        made = {
            "reader": issue_token(session, "grafana", now=NOW),
            "viewer": issue_token(
                session, "kiosk-wall", may_command=True, staff_login="xem", now=NOW
            ),
            "desk": issue_token(
                session, "console-desk", may_command=True, staff_login="lan", now=NOW
            ),
            "admin": issue_token(
                session, "console-it", may_command=True, staff_login="boss", now=NOW
            ),
            "revoked": issue_token(session, "old-tool", now=NOW),
        }
        assert revoke_token(session, "old-tool")
        session.commit()
    return made


@pytest.fixture
def api(sessions: Callable[[], Session], tokens: dict[str, str]) -> Iterator[ApiServer]:
    book = CommandBook(sessions, "muontra")

    def send(
        staff: Staff, site: str, device: str, name: str, args: Mapping[str, Any]
    ) -> CommandView:
        return book.prepare(staff, site, device, name, args, now=NOW)[2]

    evaluator = AlertEvaluator(AlertsSection())
    store = AlertStore(sessions)
    store.apply(
        evaluator.on_event(SITE, "gate-a", "alarm", {"item_id": "30077", "title": "Số đỏ"}, NOW)
    )
    server = ApiServer(
        ApiSection(enabled=True, port=0),
        sessions,
        alerts=store,
        book=book,
        send=send,
        evaluator=evaluator,
        fleet=Fleet(),
        clock=lambda: NOW + 60,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def call(
    api: ApiServer,
    method: str,
    path: str,
    token: str | None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return response.status, data


def post(api: ApiServer, path: str, token: str, value: Any) -> tuple[int, Any]:
    return call(api, "POST", path, token, json.dumps(value).encode())


# --- hostile first -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic Z3JhZmFuYTp4",
        "Bearer not-a-token",
        "Bearer " + "x" * 300,
    ],
)
def test_requests_without_a_good_token_are_refused(api: ApiServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    status, body = call(api, "GET", "/v1/alerts", None, headers=headers)
    assert status == 401 and "alerts" not in body


def test_a_revoked_token_is_refused(api: ApiServer, tokens: dict[str, str]) -> None:
    assert call(api, "GET", "/v1/alerts", tokens["revoked"])[0] == 401


def test_tokens_are_stored_hashed(sessions: Callable[[], Session], tokens: dict[str, str]) -> None:
    with sessions() as session:
        stored = [row.token_hash for row in session.scalars(select(ApiToken))]
    assert not any(token in stored or token[3:] in "".join(stored) for token in tokens.values())


def test_a_read_only_token_cannot_command_or_ack(api: ApiServer, tokens: dict[str, str]) -> None:
    command = {"site": SITE, "device": "kiosk-01", "command": "lock"}
    assert post(api, "/v1/commands", tokens["reader"], command)[0] == 403
    assert post(api, "/v1/alerts/1/ack", tokens["reader"], {})[0] == 403
    assert call(api, "GET", "/v1/commands", tokens["reader"])[1] == {"commands": []}


def test_the_staff_role_behind_a_token_decides(api: ApiServer, tokens: dict[str, str]) -> None:
    lock = {"site": SITE, "device": "kiosk-01", "command": "lock"}
    reload = {"site": SITE, "device": "kiosk-01", "command": "reload"}
    assert post(api, "/v1/commands", tokens["viewer"], lock)[0] == 403
    assert post(api, "/v1/alerts/1/ack", tokens["viewer"], {})[0] == 403
    assert post(api, "/v1/commands", tokens["desk"], reload)[0] == 403
    status, body = post(api, "/v1/commands", tokens["admin"], reload)
    assert status == 202 and body["actor"] == "boss" and body["outcome"] is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"site": 1, "device": "kiosk-01", "command": "lock"}',
        b'{"site": "VN-HN0001", "device": "kiosk-01/#", "command": "lock"}',
        b'{"site": "VN-HN0001", "device": "kiosk-01", "command": "lock", "args": []}',
        b'{"site": "VN-HN0001", "device": "kiosk-01", "command": "rm -rf"}',
        b"\xff\xfe",
        b"[" * 5000,
    ],
)
def test_bad_command_bodies(api: ApiServer, tokens: dict[str, str], body: bytes) -> None:
    status, answer = call(api, "POST", "/v1/commands", tokens["desk"], body)
    assert status == 400 and answer["error"]
    assert call(api, "GET", "/v1/commands", tokens["desk"])[1] == {"commands": []}


def test_oversized_body_and_unknown_paths(api: ApiServer, tokens: dict[str, str]) -> None:
    big = json.dumps({"site": SITE, "pad": "x" * 20_000}).encode()
    assert call(api, "POST", "/v1/commands", tokens["desk"], big)[0] == 413
    for path in ["/", "/v2/alerts", "/v1/../etc/passwd", "/v1/commands/xyz", "/v1/staff"]:
        assert call(api, "GET", path, tokens["reader"])[0] == 404, path
    assert post(api, "/v1/alerts/99999/ack", tokens["desk"], {})[0] == 404
    assert post(api, "/v1/alerts/abc/ack", tokens["desk"], {})[0] == 404


def test_injection_in_a_query_is_only_a_value(api: ApiServer, tokens: dict[str, str]) -> None:
    status, body = call(api, "GET", "/v1/alerts?site=%27%20OR%201%3D1%20--", tokens["reader"])
    assert status == 200 and body == {"alerts": []}
    assert call(api, "GET", "/v1/stats?site=x&day=2026-13-0%27", tokens["reader"])[0] == 400


def test_issuing_tokens_refuses_bad_requests(sessions: Callable[[], Session]) -> None:
    with sessions() as session:
        with pytest.raises(AccountError):
            issue_token(session, "tool", may_command=True, now=NOW)  # commands need a person
        with pytest.raises(AccountError):
            issue_token(session, "tool", staff_login="ghost", now=NOW)
        with pytest.raises(AccountError):
            issue_token(session, "Tool; DROP", now=NOW)
        issue_token(session, "tool", now=NOW)
        with pytest.raises(AccountError, match="already"):
            issue_token(session, "tool", now=NOW)


# --- what it serves ------------------------------------------------------------------------


def test_alerts_ack_and_commands(api: ApiServer, tokens: dict[str, str]) -> None:
    status, body = call(api, "GET", f"/v1/alerts?site={SITE}&open=1", tokens["reader"])
    assert status == 200
    [alert] = body["alerts"]
    assert (alert["rule"], alert["subject"], alert["detail"]) == ("gate_alarm", "30077", "Số đỏ")
    assert alert["text_vi"] == "Cổng gate-a báo động: tài liệu 30077 chưa được mượn"
    assert alert["text_en"] == "Gate gate-a alarm: item 30077 is not checked out"
    status, acked = post(api, f"/v1/alerts/{alert['id']}/ack", tokens["desk"], {})
    assert status == 200 and acked["acked_by"] == "lan" and acked["cleared"] == NOW + 60
    assert post(api, f"/v1/alerts/{alert['id']}/ack", tokens["admin"], {})[0] == 409
    assert call(api, "GET", "/v1/alerts?open=1", tokens["reader"])[1] == {"alerts": []}
    message = {
        "site": SITE,
        "device": "kiosk-01",
        "command": "message",
        "args": {"text": "Xin chào"},
    }
    status, sent = post(api, "/v1/commands", tokens["desk"], message)
    assert status == 202 and sent["args"] == {"text": "Xin chào"}
    status, got = call(api, "GET", f"/v1/commands/{sent['command_id']}", tokens["reader"])
    assert status == 200 and got == sent
    listed = call(api, "GET", "/v1/commands?device=kiosk-01", tokens["reader"])[1]["commands"]
    assert [c["command_id"] for c in listed] == [sent["command_id"]]


def test_fleet_reads(api: ApiServer, tokens: dict[str, str]) -> None:
    reader = tokens["reader"]
    assert call(api, "GET", "/v1/devices", reader)[1]["devices"][0]["device"] == "gate-a"
    assert call(api, "GET", "/v1/events?device=gate-a&limit=99999", reader)[1]["events"] == [
        {"event": "alarm", "device": "gate-a", "limit": 500}
    ]
    assert (
        call(api, "GET", f"/v1/stats?site={SITE}&day=2026-12-02", reader)[1]["stats"][0][
            "checkouts"
        ]
        == 3
    )
    api.fleet = None
    assert call(api, "GET", "/v1/devices", reader)[0] == 503


def test_add_token_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_token_arguments(parser)
    url = f"sqlite:///{tmp_path / 'central.sqlite'}"
    assert add_token_command(parser.parse_args(["tool", "--may-command", "--database", url])) == 2
    assert "staff" in capsys.readouterr().err
    assert add_token_command(parser.parse_args(["grafana", "--database", url])) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    sessions = sqlite_sessions(tmp_path)
    with sessions() as session:
        [row] = session.scalars(select(ApiToken)).all()
    assert row.client == "grafana" and token not in row.token_hash and not row.may_command
    assert add_token_command(parser.parse_args(["grafana", "--revoke", "--database", url])) == 0
    assert add_token_command(parser.parse_args(["ghost", "--revoke", "--database", url])) == 2
    with sessions() as session:
        assert session.scalars(select(ApiToken.revoked)).all() == [True]
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["add_token", "revoke_token"]  # the refused ones changed nothing
