"""Signed commands, sans-IO: the canonical bytes of a command, its HMAC, the check.

Where a site cannot trust its broker (a shared provincial cluster, a broker run by
someone else), the ACL alone does not stop whoever controls the broker from writing
a command. Central then signs each command with the site's command key and the
devices configured ``require_signed_commands`` refuse any command that is not
signed, not signed right, or past its expiry; the device refuses a replayed id
itself (engine/mqtt/signed.py), since that needs memory.

The MAC is HMAC-SHA256 over :func:`canonical_bytes`: a fixed label line and the
JSON of exactly the fields that decide what the command does and for whom (its
id, time, expiry, device, site, name and arguments), keys sorted, no spaces,
ASCII. A field outside that list cannot change what is run, so it need not be
signed; a field inside it cannot change without breaking the MAC. The label keeps
a MAC made for anything else under the same key from passing as a command's.

Nothing here reads a clock: the caller passes ``now`` (epoch seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import replace
from enum import StrEnum
from typing import Final

from protocols.mqtt.payloads import Command, PayloadError, epoch_of, iso_time

__all__ = [
    "CLOCK_SKEW",
    "LABEL",
    "MIN_KEY",
    "Refusal",
    "canonical_bytes",
    "check_signature",
    "mac",
    "sign",
]

LABEL: Final = b"muontra-command-v1\n"
"""The first line of the signed bytes: what they are, and the version of their layout."""

CLOCK_SKEW: Final = 30.0
"""Seconds a device allows between its clock and central's when it checks an expiry."""

MIN_KEY: Final = 32
"""Bytes a command key holds at the least (``openssl rand -hex 32`` gives 64)."""

_SIG = re.compile(r"[0-9a-f]{64}")


class Refusal(StrEnum):
    """Why a device refused a command it was told to check (the result's ``reason``)."""

    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    REPLAYED = "replayed"


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY:
        raise ValueError(f"a command key must be at least {MIN_KEY} bytes")


def canonical_bytes(command: Command) -> bytes:
    """The bytes the MAC covers; PayloadError if the command has no expiry."""
    if command.expires is None:
        raise PayloadError("a signed command needs an expiry")
    env = command.envelope
    body = {
        "args": dict(command.args),
        "command": command.name,
        "device": env.device,
        "expires": command.expires,
        "id": env.id,
        "site": env.site,
        "time": env.time,
    }
    text = json.dumps(body, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return LABEL + text.encode("ascii")


def mac(command: Command, key: bytes) -> str:
    """HMAC-SHA256 of :func:`canonical_bytes` under ``key``, 64 lower-case hex digits."""
    _check_key(key)
    return hmac.new(key, canonical_bytes(command), hashlib.sha256).hexdigest()


def sign(command: Command, key: bytes, expires: float) -> Command:
    """``command`` with its expiry (epoch seconds) and signature set."""
    dated = replace(command, expires=iso_time(expires), sig=None)
    return replace(dated, sig=mac(dated, key))


def check_signature(
    command: Command,
    key: bytes,
    now: float,
    *,
    skew: float = CLOCK_SKEW,
    max_lifetime: float | None = None,
) -> Refusal | None:
    """None when ``command`` is signed under ``key`` and not expired at ``now``; else why not.

    The MAC is compared in constant time. ``max_lifetime`` (seconds) refuses an expiry
    further ahead of ``now`` than that as :attr:`Refusal.EXPIRED` too: the device
    remembers ids only so long, and a command must not outlive its id's memory.
    """
    if command.sig is None:
        return Refusal.UNSIGNED
    if command.expires is None or not _SIG.fullmatch(command.sig):
        return Refusal.BAD_SIGNATURE
    expected = mac(command, key)
    if not hmac.compare_digest(expected.encode("ascii"), command.sig.encode("ascii")):
        return Refusal.BAD_SIGNATURE
    expires = epoch_of(command.expires)
    if now > expires + skew:
        return Refusal.EXPIRED
    if max_lifetime is not None and expires - now > max_lifetime:
        return Refusal.EXPIRED
    return None
