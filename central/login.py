"""Staff sign-in on central's API: session tokens with an expiry, and lockout of guessers.

``POST /v1/login`` trades a staff login and password for a session token. Two
counters stop guessing, both checked *and charged before* the password is hashed, so
a thousand requests sent at once get no more tries than a thousand sent one by one:

- per account: after ``login_failures`` wrong passwords in a row the account is
  locked for ``lockout_s``; while locked every answer is the same "locked", right
  password or not, so the lock tells a guesser nothing;
- per source address: after ``address_failures`` wrong passwords (on any accounts)
  the address is locked the same way, so one machine cannot walk through logins.

Unknown logins are counted like real ones (the answer must not tell which exist).
Both tables are bounded (:data:`MAX_TRACKED`): an attacker who floods them with new
names pushes out the oldest entries, never the memory of the process.

Sessions live in this process's memory, only their SHA-256 kept: a central restart
signs consoles out (they sign in again), and nothing on disk is a live credential.
The role is not kept in the session: the API looks the account up on every request,
so a demoted or deactivated member of staff stops at once.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_TRACKED", "LoginGuard", "Session", "SessionBook"]

MAX_TRACKED = 10_000
"""Accounts (or addresses) whose failures are remembered at once."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class _Count:
    failures: int = 0
    locked_until: float = 0.0


class _Counter:
    """Failures per key (an account or an address), and when each key's lock ends."""

    def __init__(self, limit: int, lockout_s: float) -> None:
        self.limit = limit
        self.lockout_s = lockout_s
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def locked(self, key: str, now: float) -> bool:
        count = self._counts.get(key)
        if count is None:
            return False
        if count.locked_until and now >= count.locked_until:
            del self._counts[key]  # the lock has run out: a fresh start
            return False
        return count.locked_until > now

    def charge(self, key: str, now: float) -> None:
        count = self._counts.pop(key, None) or _Count()
        count.failures += 1
        if count.failures >= self.limit:
            count.locked_until = now + self.lockout_s
        self._counts[key] = count  # newest last
        while len(self._counts) > MAX_TRACKED:
            self._counts.popitem(last=False)

    def refund(self, key: str) -> None:
        count = self._counts.get(key)
        if count is not None and count.failures > 0 and not count.locked_until:
            count.failures -= 1

    def clear(self, key: str) -> None:
        self._counts.pop(key, None)


class LoginGuard:
    """Whether a sign-in may be tried now, charged before the password is checked."""

    def __init__(self, *, account_failures: int, address_failures: int, lockout_s: float) -> None:
        self._accounts = _Counter(account_failures, lockout_s)
        self._addresses = _Counter(address_failures, lockout_s)
        self._lock = threading.Lock()

    def begin(self, login: str, address: str, now: float) -> bool:
        """False if the account or the address is locked; else the try is charged to both."""
        with self._lock:
            if self._accounts.locked(login, now) or self._addresses.locked(address, now):
                return False
            self._accounts.charge(login, now)
            self._addresses.charge(address, now)
            return True

    def succeeded(self, login: str, address: str) -> None:
        """The password was right: the account starts afresh, the address gets its try back."""
        with self._lock:
            self._accounts.clear(login)
            self._addresses.refund(address)


@dataclass(frozen=True, slots=True)
class Session:
    staff_id: int
    expires: float


class SessionBook:
    """Session tokens → the staff member and expiry (by the token's SHA-256)."""

    def __init__(self, lifetime_s: float, clock: Callable[[], float]) -> None:
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, staff_id: int) -> tuple[str, float]:
        """A new token (shown once) for ``staff_id`` and when it expires."""
        token = "ms_" + secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.lifetime_s
        with self._lock:
            # Expired sessions go when new ones come: the book stays as big as the staff.
            for key in [k for k, s in self._sessions.items() if s.expires <= now]:
                del self._sessions[key]
            self._sessions[_digest(token)] = Session(staff_id, expires)
        return token, expires

    def find(self, token: str) -> Session | None:
        """The live session of ``token``, or None (unknown or expired)."""
        with self._lock:
            found = self._sessions.get(_digest(token))
            if found is not None and found.expires <= self.clock():
                del self._sessions[_digest(token)]
                return None
            return found

    def close(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(_digest(token), None) is not None
