"""``muontra central add-staff`` and ``add-token``: staff accounts and API tokens from the shell.

core's ``muontra central`` calls :func:`add_staff_arguments` (:func:`add_token_arguments`)
on its sub-parser and :func:`add_staff_command` (:func:`add_token_command`) with the
parsed arguments, ``args.database`` set to the config's database URL. The password never comes from
the command line (it would sit in the shell's history and in ``ps``): it is read
from a file, from an environment variable, or typed twice at a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import importlib.util
import json
import logging
import os
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from central.accounts import AccountError, create_staff
from central.base import Base
from central.staff_models import AuditEntry

__all__ = [
    "add_staff_arguments",
    "add_staff_command",
    "add_token_arguments",
    "add_token_command",
    "open_database",
]

log = logging.getLogger(__name__)
PASSWORD_ENV = "MUONTRA_STAFF_PASSWORD"


def add_staff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("login", help="login: a-z, 0-9, '.', '_', '-' (e.g. lan.nguyen)")
    parser.add_argument("--name", required=True, help="display name, e.g. 'Nguyễn Thị Lan'")
    parser.add_argument("--role", required=True, choices=["viewer", "desk", "admin"])
    parser.add_argument("--site", default=None, help="the site whose alerts they get at once")
    parser.add_argument(
        "--password-file",
        type=Path,
        default=None,
        help=f"read the password here (or ${PASSWORD_ENV})",
    )
    parser.add_argument("--database", default=None, help="database URL (default: the config's)")


def _audit(session: Session, action: str, what: dict[str, object], now: float) -> None:
    """Staff management from the shell, in the audit log: the actor is the shell's user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    actor = "shell:" + "".join(c for c in user if c.isalnum() or c in "._-")[:50]
    session.add(
        AuditEntry(time=now, actor=actor, action=action, args=json.dumps(what), outcome="ok")
    )


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        return Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    first = getpass.getpass("Mật khẩu / Password: ")
    if getpass.getpass("Nhập lại / Again: ") != first:
        raise AccountError("the two passwords differ")
    return first


DEFAULT_DATABASE = "sqlite:///muontra-central.db"
"""The same default as ``[central.database] url``."""


def open_database(url: str) -> Engine:
    """An engine on ``url`` with the schema in place: through core's alembic history
    (``central.db``) where it is installed, else straight from the models."""
    if importlib.util.find_spec("central.db") is not None:
        db = importlib.import_module("central.db")
        engine: Engine = db.make_engine(url)
        db.migrate(engine)
        return engine
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    return engine


def add_staff_command(args: argparse.Namespace) -> int:
    """Add the staff member ``args`` describe; 0 on success, 2 with a message when refused.

    ``args.database`` is the database URL (core's cli sets it from the config's
    ``[central.database]``); without it, the default SQLite file.
    """
    url = getattr(args, "database", None) or DEFAULT_DATABASE
    engine = open_database(url)
    try:
        with Session(engine) as session:
            now = time.time()
            staff = create_staff(
                session,
                args.login,
                args.name,
                args.role,
                _password(args),
                site=args.site,
                now=now,
            )
            _audit(session, "add_staff", {"login": staff.login, "role": staff.role.label}, now)
            session.commit()
    except (AccountError, OSError) as error:
        print(f"không thêm được / not added: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    log.info("staff %s added with role %s", staff.login, staff.role.label)
    print(f"đã thêm / added: {staff.login} ({staff.role.label})")
    return 0


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("client", help="the tool's name, e.g. grafana or console-desk")
    parser.add_argument(
        "--as-staff",
        default=None,
        help="commands and acks through this token are done as this staff login (and role)",
    )
    parser.add_argument(
        "--may-command", action="store_true", help="allow commands and acks (needs --as-staff)"
    )
    parser.add_argument("--revoke", action="store_true", help="revoke the client's token instead")
    parser.add_argument("--database", default=None, help="database URL (default: the config's)")


def add_token_command(args: argparse.Namespace) -> int:
    """Issue a client's API token and print it once (only its hash is kept), or revoke it."""
    from central.api import issue_token, revoke_token

    engine = open_database(getattr(args, "database", None) or DEFAULT_DATABASE)
    try:
        with Session(engine) as session:
            if args.revoke:
                if not revoke_token(session, args.client):
                    raise AccountError(f"no token for {args.client!r}")
                _audit(session, "revoke_token", {"client": args.client}, time.time())
                session.commit()
                print(f"đã thu hồi / revoked: {args.client}")
                return 0
            token = issue_token(
                session,
                args.client,
                may_command=args.may_command,
                staff_login=args.as_staff,
                now=time.time(),
            )
            what = {"client": args.client, "may_command": args.may_command, "as": args.as_staff}
            _audit(session, "add_token", what, time.time())
            session.commit()
    except AccountError as error:
        print(f"không cấp được / not issued: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    log.info("API token issued to %s (may command: %s)", args.client, args.may_command)
    print("Mã chỉ hiện một lần / shown once, keep it secret:")
    print(token)
    return 0
