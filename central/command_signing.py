"""Central's side of signed commands: the per-site command keys and how long a command lives.

A site whose broker cannot be trusted gets a command key (``openssl rand -hex 32``,
one line in a file readable by central's user only), listed here by site and given
to every device of the site as ``[mqtt] command_key_file``. Central then signs each
command to that site (protocols/mqtt/signing.py) with an expiry ``ttl_s`` seconds
after it is sent; the site's devices with ``require_signed_commands`` refuse
anything else. A site without a key gets unsigned commands, as before.

A key is read from its file when first needed and kept; a key that is listed but
cannot be read stops commands to its site (CommandError) rather than sending them
unsigned. Nothing here logs a key.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from protocols.mqtt.signing import MIN_KEY
from protocols.mqtt.topics import TopicError, check_level

__all__ = ["SigningKeyError", "SigningSection", "SiteKeys"]

_MAX_KEY_FILE = 4096


class SigningKeyError(ValueError):
    """A site's command key is listed but cannot be used; says why, never the key."""


class SigningSection(BaseModel):
    """``[central.signing]``: the command key of each site whose commands are signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: dict[str, Path] = Field(
        default_factory=dict,
        description="Site id -> file holding that site's command key (one line, at least "
        "32 characters; the devices' [mqtt] command_key_file). A relative path is looked "
        "up in $CREDENTIALS_DIRECTORY under systemd's LoadCredential=.",
    )
    ttl_s: float = Field(
        300.0,
        gt=0,
        le=12 * 3600,
        description="Seconds a signed command stays valid after central sends it; the "
        "device refuses it later (it allows 30 s between the clocks).",
    )

    @field_validator("keys")
    @classmethod
    def _sites(cls, value: dict[str, Path]) -> dict[str, Path]:
        for site in value:
            try:
                check_level(site, "site")
            except TopicError as error:
                raise ValueError(str(error)) from None
        return value


def _key_path(file: Path) -> Path:
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if not file.is_absolute() and credentials:
        return Path(credentials) / file
    return file


class SiteKeys:
    """The command keys of :class:`SigningSection`, read once each."""

    def __init__(self, section: SigningSection) -> None:
        self.section = section
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float:
        return self.section.ttl_s

    def key_for(self, site: str) -> bytes | None:
        """``site``'s key, or None when its commands go unsigned; SigningKeyError if unusable."""
        file = self.section.keys.get(site)
        if file is None:
            return None
        with self._lock:
            key = self._keys.get(site)
            if key is None:
                key = self._read(site, _key_path(file))
                self._keys[site] = key
            return key

    @staticmethod
    def _read(site: str, path: Path) -> bytes:
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_KEY_FILE + 1)
        except OSError as error:
            raise SigningKeyError(
                f"the command key of site {site} ({path}): {error.strerror}"
            ) from None
        try:
            text = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise SigningKeyError(f"the command key of site {site} ({path}) is not text") from None
        if len(data) > _MAX_KEY_FILE or len(text) < MIN_KEY or "\n" in text:
            raise SigningKeyError(
                f"the command key of site {site} ({path}) must be one line of at least "
                f"{MIN_KEY} characters (make one with `openssl rand -hex 32`)"
            )
        return text.encode("utf-8")

    def problems(self) -> list[str]:
        """What is wrong with each listed key (empty: all can be read)."""
        found = []
        for site in self.section.keys:
            try:
                self.key_for(site)
            except SigningKeyError as error:
                found.append(str(error))
        return found
