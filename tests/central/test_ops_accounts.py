"""Staff accounts: hashed passwords, roles, hostile logins and names, the add-staff CLI."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.accounts import (
    AccountError,
    Role,
    authenticate,
    check_display_name,
    check_login,
    create_staff,
    hash_password,
    may,
    verify_password,
)
from central.cli_staff import add_staff_arguments, add_staff_command
from central.staff_models import AuditEntry, StaffAccount
from tests.central.ops_db import fresh_db_fixture, sqlite_sessions  # noqa: F401  (a fixture)

NOW = 1_800_000_000.0
PASSWORD = "mật-khẩu-dài-10"


@pytest.fixture
def sessions(fresh_db: Callable[[], Session]) -> Callable[[], Session]:
    return fresh_db


def test_password_is_stored_hashed_and_salted(sessions: Callable[[], Session]) -> None:
    with sessions() as session:
        create_staff(session, "lan.nguyen", "Nguyễn Thị Lan", "desk", PASSWORD, now=NOW)
        create_staff(session, "minh", "Trần Minh", "viewer", PASSWORD, now=NOW)
        session.commit()
        rows = session.scalars(select(StaffAccount)).all()
    hashes = [row.password_hash for row in rows]
    assert all(PASSWORD not in h and h.startswith("scrypt$") for h in hashes)
    assert hashes[0] != hashes[1]  # same password, different salts
    with sessions() as session:
        staff = authenticate(session, "lan.nguyen", PASSWORD)
        assert (
            staff is not None and staff.role is Role.DESK and staff.display_name == "Nguyễn Thị Lan"
        )
        assert authenticate(session, "lan.nguyen", PASSWORD + "x") is None
        assert authenticate(session, "nobody", PASSWORD) is None
        assert authenticate(session, "'; DROP TABLE staff_accounts; --", PASSWORD) is None


def test_roles_are_ordered() -> None:
    assert not may(Role.VIEWER, "lock") and not may(Role.VIEWER, "ack")
    assert may(Role.DESK, "lock") and may(Role.DESK, "ack") and not may(Role.DESK, "reload")
    assert may(Role.ADMIN, "reload") and may(Role.ADMIN, "manage_staff")
    assert not may(Role.ADMIN, "format_disk")
    with pytest.raises(AccountError):
        Role.parse("root")


@pytest.mark.parametrize(
    "login",
    [
        "",
        "Lan",
        "lan nguyen",
        "lan\nadmin",
        "'; DROP TABLE staff_accounts; --",
        "a" * 65,
        "-x",
        "ü",
    ],
)
def test_hostile_logins_are_refused(sessions: Callable[[], Session], login: str) -> None:
    with sessions() as session, pytest.raises(AccountError):
        create_staff(session, login, "Tên", "desk", PASSWORD, now=NOW)
    with sessions() as session:
        assert session.scalars(select(StaffAccount)).all() == []


def test_injection_in_a_display_name_is_stored_as_text(sessions: Callable[[], Session]) -> None:
    name = "Robert'); DROP TABLE staff_accounts;--"
    with sessions() as session:
        create_staff(session, "bobby", name, "viewer", PASSWORD, now=NOW)
        session.commit()
    with sessions() as session:
        assert [r.display_name for r in session.scalars(select(StaffAccount))] == [name]


@pytest.mark.parametrize(
    "name", ["", "   ", "Lan\nadmin", "Lan\radmin", "x\x00", "a\u202eb", "x" * 129]
)
def test_hostile_display_names_are_refused(name: str) -> None:
    with pytest.raises(AccountError):
        check_display_name(name)


def test_a_taken_login_is_refused_and_the_first_kept(sessions: Callable[[], Session]) -> None:
    with sessions() as session:
        create_staff(session, "lan", "Lan", "admin", PASSWORD, now=NOW)
        session.commit()
    with sessions() as session, pytest.raises(AccountError, match="taken"):
        create_staff(session, "lan", "Someone else", "viewer", PASSWORD, now=NOW)
    with sessions() as session:
        assert authenticate(session, "lan", PASSWORD) is not None


def test_short_password_refused() -> None:
    with pytest.raises(AccountError):
        hash_password("short")


@given(st.text(max_size=120))
def test_verify_never_raises_on_a_damaged_hash(stored: str) -> None:
    assert verify_password(PASSWORD, stored) is False


@given(st.text(max_size=80))
def test_check_login_accepts_only_plain_names(login: str) -> None:
    try:
        check_login(login)
    except AccountError:
        return
    assert login.isascii() and "\n" not in login and " " not in login and len(login) <= 64


def test_add_staff_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    add_staff_arguments(parser)
    url = f"sqlite:///{tmp_path / 'central.sqlite'}"
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    args = parser.parse_args(
        [
            "hoa",
            "--name",
            "Lê Hoa",
            "--role",
            "admin",
            "--password-file",
            str(secret),
            "--database",
            url,
        ]
    )
    assert add_staff_command(args) == 0
    assert add_staff_command(args) == 2  # taken
    bad = parser.parse_args(["HOA!", "--name", "x", "--role", "desk", "--database", url])
    monkeypatch.setenv("MUONTRA_STAFF_PASSWORD", PASSWORD)
    assert add_staff_command(bad) == 2
    sessions = sqlite_sessions(tmp_path)
    with sessions() as session:
        staff = authenticate(session, "hoa", PASSWORD)
    assert staff is not None and staff.role is Role.ADMIN
    with sessions() as session:
        audit = session.scalars(select(AuditEntry)).all()
    assert [(a.action, a.actor.startswith("shell:"), a.args) for a in audit] == [
        ("add_staff", True, '{"login": "hoa", "role": "admin"}')
    ]
