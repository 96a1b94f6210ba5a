"""Who may use the local API socket: the daemon's own user and the configured few.

The socket's mode (0660) already keeps out users outside the daemon's group;
this is the second lock, for a member of that group (or a process that got the
socket passed to it) that is not the touchscreen. The kernel tells us who is
at the other end of a Unix socket (SO_PEERCRED, taken at connect time, so it
cannot be forged by the peer); a peer not on the list is refused with one log
line and an ``api_peer_refused`` event naming its uid.
"""

from __future__ import annotations

import logging
import os
import pwd
import socket
import struct
from collections.abc import Iterable

from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat

__all__ = ["PeerGate", "allowed_uids", "peer_uid"]

log = logging.getLogger(__name__)

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of Unix socket ``sock``; None if unknown."""
    if sock.family != socket.AF_UNIX:
        return None  # Linux answers -1 for a TCP socket: no one to admit
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    except (OSError, AttributeError):  # not a Unix socket, or not Linux
        return None
    _pid, uid, _gid = _UCRED.unpack(raw)
    return int(uid) if uid >= 0 else None


def allowed_uids(users: Iterable[str], own: int | None = None) -> frozenset[int]:
    """The daemon's own uid and those of ``users`` (names or numbers).

    A name with no account on this machine is skipped with a warning: the
    default list names the touchscreen's user, which a developer's PC lacks.
    """
    uids = {os.geteuid() if own is None else own}
    for user in users:
        if user.isdigit():
            uids.add(int(user))
            continue
        try:
            uids.add(pwd.getpwnam(user).pw_uid)
        except KeyError:
            log.warning("detection.api_users: no user %r on this machine; skipped", user)
    return frozenset(uids)


class PeerGate:
    """Decides on each accepted connection of the local API."""

    def __init__(self, allowed: frozenset[int], reporter: SecurityReporter | None = None) -> None:
        self.allowed = allowed
        self.reporter = reporter

    def admits(self, sock: socket.socket) -> bool:
        uid = peer_uid(sock)
        if uid is not None and uid in self.allowed:
            return True
        published = True
        if self.reporter is not None:
            published = self.reporter.report(
                Threat.API_PEER_REFUSED,
                Severity.WARNING,
                ("uid", uid),
                **({"peer_uid": uid} if uid is not None else {}),
            )
        # One line per uid and window (as the events): a local flood must not flood the log.
        if published:
            log.warning(
                "local API: refused a connection from uid %s (not the daemon's user nor in "
                "detection.api_users)",
                "unknown" if uid is None else uid,
            )
        return False
