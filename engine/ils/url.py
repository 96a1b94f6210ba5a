"""The ILS named by one URL: ``sip2://user:password@host:port?institution=…&profile=koha``.

Every query parameter is known here; an unknown one is an error, so a typo
such as ``tsl=1`` cannot silently leave a link unencrypted. The password can
stay out of configuration files (``password_env`` / ``password_file``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from protocols.sip2.profiles import Profile, get_profile

log = logging.getLogger(__name__)

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}
DEFAULT_PORT = 6001

PARAMETERS: dict[str, str] = {
    "institution": "institution id (AO) sent with every request",
    "location": "location code: CP in login, AP in checkin",
    "profile": "dialect profile: generic, koha, evergreen, folio, alma, sierra",
    "tls": "1 to use TLS",
    "ca_file": "PEM file of the CA that signed the ILS certificate",
    "verify": "0 to skip certificate verification (labs only; logged as a warning)",
    "encoding": "text encoding of the wire (overrides the profile)",
    "terminator": "cr, lf or crlf (overrides the profile)",
    "error_detection": "1 or 0: send AY/AZ sequence and checksum (overrides the profile)",
    "verify_checksum": "0 to accept answers with wrong checksums (servers that always send AZ0000)",
    "terminal_password": "AC terminal password, when the ILS wants one",
    "timeout": "seconds to wait for each answer (default 10)",
    "connect_timeout": "seconds to wait for a connection (default 5)",
    "keepalive": "seconds of idleness before an SC Status keep-alive (default 60)",
    "retries": "reconnection attempts before a call fails (default 3)",
    "pool": "number of connections to keep (default 1)",
    "password_env": "environment variable holding the password",
    "password_file": "file holding the password",
}


@dataclass(frozen=True, slots=True)
class IlsSettings:
    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    institution: str = ""
    location: str = ""
    terminal_password: str = field(default="", repr=False)
    profile: Profile = field(default_factory=lambda: get_profile("generic"))
    tls: bool = False
    ca_file: str | None = None
    verify: bool = True
    timeout: float = 10.0
    connect_timeout: float = 5.0
    keepalive: float = 60.0
    retries: int = 3
    pool: int = 1

    @property
    def simulated(self) -> bool:
        """``sip2+sim://``: an in-process simulator instead of a network ILS."""
        return self.scheme == "sip2+sim"

    def display(self) -> str:
        """The URL for logs and reports, without secrets."""
        user = f"{self.user}:***@" if self.user else ""
        tls = "&tls=1" if self.tls else ""
        return (
            f"{self.scheme}://{user}{self.host}:{self.port}"
            f"?profile={self.profile.name}&institution={self.institution}{tls}"
        )

    def __str__(self) -> str:
        return self.display()


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"ILS URL: {name} must be 1 or 0, got {value!r}")


def _number(name: str, value: str, kind: type[int] | type[float]) -> float:
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(f"ILS URL: {name} must be a number, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"ILS URL: {name} must be more than 0, got {value!r}")
    return number


def parse_ils_url(url: str) -> IlsSettings:
    """Settings from an ILS URL; a ValueError names the part that is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("sip2", "sip2+sim"):
        raise ValueError(
            f"ILS URL must start with sip2:// or sip2+sim://, got {url.split(':', maxsplit=1)[0]!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError("ILS URL: the port must be a number from 1 to 65535") from None
    host = parts.hostname or ""
    if scheme == "sip2" and not host:
        raise ValueError("ILS URL: no host, e.g. sip2://user:password@ils.example.org:6001")
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in PARAMETERS:
            known = ", ".join(sorted(PARAMETERS))
            raise ValueError(f"ILS URL: unknown parameter {key!r}; known: {known}")
        query[key] = value

    password = unquote(parts.password) if parts.password is not None else None
    if "password_env" in query:
        name = query["password_env"]
        if name not in os.environ:
            raise ValueError(f"ILS URL: environment variable {name} (password_env) is not set")
        password = os.environ[name]
    if "password_file" in query:
        try:
            password = Path(query["password_file"]).read_text(encoding="utf-8").removesuffix("\n")
        except OSError as exc:
            raise ValueError(f"ILS URL: cannot read password_file: {exc.strerror}") from None

    profile = get_profile(query.get("profile", "generic"))
    overrides: dict[str, object] = {}
    if "encoding" in query:
        try:
            "".encode(query["encoding"])
        except LookupError:
            raise ValueError(f"ILS URL: unknown encoding {query['encoding']!r}") from None
        overrides["encoding"] = query["encoding"]
    if "terminator" in query:
        if query["terminator"] not in TERMINATORS:
            raise ValueError("ILS URL: terminator must be cr, lf or crlf")
        overrides["terminator"] = TERMINATORS[query["terminator"]]
    if "error_detection" in query:
        overrides["error_detection"] = _flag("error_detection", query["error_detection"])
    if "verify_checksum" in query:
        overrides["verify_checksum"] = _flag("verify_checksum", query["verify_checksum"])
    if overrides:
        profile = profile.with_overrides(**overrides)

    verify = _flag("verify", query.get("verify", "1"))
    if not verify:
        log.warning("ILS certificate verification is off (verify=0): use only in a lab")
    settings = IlsSettings(
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORT,
        user=unquote(parts.username) if parts.username else None,
        password=password,
        institution=query.get("institution", ""),
        location=query.get("location", ""),
        terminal_password=query.get("terminal_password", ""),
        profile=profile,
        tls=_flag("tls", query.get("tls", "0")),
        ca_file=query.get("ca_file"),
        verify=verify,
        timeout=_number("timeout", query.get("timeout", "10"), float),
        connect_timeout=_number("connect_timeout", query.get("connect_timeout", "5"), float),
        keepalive=_number("keepalive", query.get("keepalive", "60"), float),
        retries=int(_number("retries", query.get("retries", "3"), int)),
        pool=int(_number("pool", query.get("pool", "1"), int)),
    )
    if profile.idle_timeout is not None and settings.keepalive > profile.idle_timeout / 2:
        # The ILS drops idle links quickly: keep it busy well before that.
        settings = replace(settings, keepalive=profile.idle_timeout / 2)
    return settings
