"""The configuration of `muontra central`: the ``[central]`` table of its TOML file.

The store, the MQTT link and retention live here; the staff side's sections
(``alerts``, ``api``, ``homeassistant``) come from central/settings_ops.py, so
each side of central owns its own keys. Secrets (the broker password, the
database URL with its password) may come from a file or an environment variable
instead of the config, so the file can be world-readable.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from central.broker_acl import BrokerSection
from central.command_signing import SigningSection
from central.settings_ops import AlertsSection, ApiSection, HomeAssistantSection
from protocols.mqtt.topics import TopicError, check_level, check_prefix

__all__ = [
    "CentralSettings",
    "DatabaseSection",
    "MqttSection",
    "RetentionSection",
    "SettingsError",
    "load_settings",
]


class SettingsError(ValueError):
    """A config file that cannot be read or does not fit the model (the message names the key)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSection(_Section):
    """Where central keeps the fleet: SQLite for one library, PostgreSQL for a province."""

    url: str = Field(
        "sqlite:///muontra-central.db",
        description="SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB.",
    )
    url_env: str | None = Field(
        None, description="Name of an environment variable holding the URL (wins over url)."
    )

    def resolved_url(self) -> str:
        if self.url_env:
            value = os.environ.get(self.url_env)
            if not value:
                raise SettingsError(f"database.url_env: ${self.url_env} is not set")
            return value
        return self.url


class MqttSection(_Section):
    """The broker central listens to: the site's mosquitto, or the province's cluster."""

    host: str = Field("127.0.0.1", description="Broker host name or address.")
    port: int = Field(8883, ge=1, le=65535, description="Broker port (8883: MQTT over TLS).")
    tls: bool = Field(True, description="Connect over TLS.")
    ca_file: Path | None = Field(None, description="CA certificate of the broker (PEM).")
    username: str | None = Field(None, description="Login name at the broker.")
    password: str | None = Field(None, description="Password (prefer password_file).")
    password_file: Path | None = Field(None, description="File holding the password.")
    prefix: str = Field("muontra", description="Topic prefix of the fleet (docs/mqtt.md).")
    group: str = Field(
        "central",
        description="Shared subscription group: every central process of one fleet uses "
        "the same group, so each message goes to one of them ($share/GROUP/...).",
    )
    shared: bool = Field(
        True,
        description="Subscribe through $share/GROUP (several central processes share the "
        "stream). With one process on a mosquitto, false is safer across a broker restart: "
        "mosquitto 2.0 does not route to a restored shared subscription until its client "
        "subscribes again, so what devices publish in between is lost (docs/central.md).",
    )
    client_id: str = Field(
        "central-1",
        description="Client id of this process; keep it stable across restarts so the broker "
        "hands back its session and whatever was queued for it.",
    )
    session_expiry_s: int = Field(
        3600,
        ge=0,
        description="How long the broker keeps this process's session (and queues its "
        "messages) while it is away.",
    )
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive, seconds.")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        try:
            return check_prefix(value)
        except TopicError as error:
            raise ValueError(str(error)) from None

    @field_validator("group", "client_id")
    @classmethod
    def _level(cls, value: str) -> str:
        try:
            return check_level(value)
        except TopicError as error:
            raise ValueError(str(error)) from None

    def secret(self) -> str | None:
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return self.password


class RetentionSection(_Section):
    """How long what is kept: raw events briefly, hourly statistics for years."""

    events_days: int = Field(90, ge=1, description="Days raw events are kept.")
    stats_days: int = Field(
        3650, ge=1, description="Days hourly statistics are kept (ten years by default)."
    )
    every_s: float = Field(3600.0, gt=0, description="How often the purge runs, seconds.")


class CentralSettings(_Section):
    """The ``[central]`` table."""

    timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="The libraries' time zone: days and hours in reports."
    )
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    mqtt: MqttSection = Field(default_factory=MqttSection)
    retention: RetentionSection = Field(default_factory=RetentionSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    api: ApiSection = Field(default_factory=ApiSection)
    homeassistant: HomeAssistantSection = Field(default_factory=HomeAssistantSection)
    signing: SigningSection = Field(default_factory=SigningSection)
    broker: BrokerSection = Field(default_factory=BrokerSection)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _where(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top)"


def load_settings(path: Path) -> CentralSettings:
    """The ``[central]`` table of ``path``; :class:`SettingsError` naming the key if it is off."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not TOML: {error}") from None
    table = data.get("central", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [central] must be a table")
    try:
        return CentralSettings.model_validate(table)
    except ValidationError as error:
        problems = "; ".join(f"central.{_where(e['loc'])}: {e['msg']}" for e in error.errors())
        raise SettingsError(f"{path}: {problems}") from None
