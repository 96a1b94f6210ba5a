"""Staff accounts: hashed passwords, roles, and what each role may do.

Passwords are hashed with scrypt (hashlib, no extra library): memory-hard, salted per
account, parameters stored beside the hash so they can be raised later without
locking anyone out. A login is a short plain name (letters, digits, ``.``, ``_``,
``-``) because it lands in the audit log and in log lines: nothing in it can forge a
line or a column. The display name may be any Vietnamese text, but no control
characters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.staff_models import StaffAccount

__all__ = [
    "AccountError",
    "Role",
    "Staff",
    "authenticate",
    "check_display_name",
    "check_login",
    "create_staff",
    "find_staff",
    "hash_password",
    "may",
    "staff_of",
    "verify_password",
]

_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MAX_NAME = 128
MIN_PASSWORD = 10
# scrypt: N=2**14, r=8 (16 MiB a try): about 50 ms here, slow enough for guessing.
_N, _R, _P = 2**14, 8, 1


class AccountError(ValueError):
    """A staff account that cannot be made or used as asked; the message says why (en)."""


class Role(IntEnum):
    """Each role may do what the ones below it may."""

    VIEWER = 1
    """Sees the fleet, events, alerts and statistics."""
    DESK = 2
    """Also acknowledges alerts and locks, unlocks, messages and empties bins."""
    ADMIN = 3
    """Also reloads a device's configuration and manages staff and API tokens."""

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()] if isinstance(name, str) else cls(-1)
        except (KeyError, ValueError):
            raise AccountError(f"unknown role {name!r}: viewer, desk or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


# The least role for each staff action: commands by name, then the rest.
_NEEDS: dict[str, Role] = {
    "lock": Role.DESK,
    "unlock": Role.DESK,
    "message": Role.DESK,
    "empty_bin": Role.DESK,
    "reload": Role.ADMIN,
    "ack": Role.DESK,
    "manage_staff": Role.ADMIN,
}


def may(role: Role, action: str) -> bool:
    """Whether ``role`` may do ``action`` (a command name, "ack" or "manage_staff")."""
    needed = _NEEDS.get(action)
    return needed is not None and role >= needed


@dataclass(frozen=True, slots=True)
class Staff:
    """A logged-in staff member, as the rest of central sees them (no password hash)."""

    id: int
    login: str
    display_name: str
    role: Role
    site: str | None


def check_login(login: object) -> str:
    if not isinstance(login, str) or not _LOGIN.fullmatch(login):
        raise AccountError(
            "a login is 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        )
    return login


def check_display_name(name: object) -> str:
    if not isinstance(name, str):
        raise AccountError("a display name is text")
    name = unicodedata.normalize("NFC", name.strip())
    if not name or len(name) > _MAX_NAME:
        raise AccountError(f"a display name is 1 to {_MAX_NAME} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise AccountError("a display name may not hold control characters or line breaks")
    return name


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) of ``password``."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False (never an exception) for a damaged hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not isinstance(password, str):
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        if not (2 <= n_ <= 2**20 and 1 <= r_ <= 32 and 1 <= p_ <= 16):
            return False
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=n_,
            r=r_,
            p=p_,
            dklen=len(bytes.fromhex(digest)),
            maxmem=2**27,
        )
        return hmac.compare_digest(actual, bytes.fromhex(digest))
    except (ValueError, TypeError, MemoryError):
        return False


def staff_of(row: StaffAccount) -> Staff:
    return Staff(row.id, row.login, row.display_name, Role.parse(row.role), row.site)


def create_staff(
    session: Session,
    login: str,
    display_name: str,
    role: str | Role,
    password: str,
    *,
    site: str | None = None,
    now: float,
) -> Staff:
    """Add a staff member (the caller commits); AccountError if any part is unfit or taken."""
    level = role if isinstance(role, Role) else Role.parse(role)
    row = StaffAccount(
        login=check_login(login),
        display_name=check_display_name(display_name),
        role=level.label,
        password_hash=hash_password(password),
        site=check_display_name(site) if site is not None else None,
        active=True,
        created=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise AccountError(f"login {login!r} is taken") from None
    return staff_of(row)


def find_staff(session: Session, login: str) -> Staff | None:
    row = session.scalar(select(StaffAccount).where(StaffAccount.login == login))
    return staff_of(row) if row is not None and row.active else None


_DUMMY = hash_password("x" * MIN_PASSWORD, salt=b"\0" * 16)


def authenticate(session: Session, login: str, password: str) -> Staff | None:
    """The staff member if ``login`` and ``password`` match an active account, else None.

    An unknown login costs as much time as a wrong password, so timing does not tell
    which logins exist.
    """
    try:
        check_login(login)
    except AccountError:
        verify_password(password, _DUMMY)
        return None
    row = session.scalar(select(StaffAccount).where(StaffAccount.login == login))
    if row is None or not row.active:
        verify_password(password, _DUMMY)
        return None
    return staff_of(row) if verify_password(password, row.password_hash) else None
