"""Configuration of the ILS simulator (``[ils_sim]`` in a TOML file).

Validated by pydantic so that a misspelt key is an error that names the key,
not a setting silently ignored. Command-line options override the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SimFaultsConfig(BaseModel):
    """Fault switches at start; the control port changes them at run time."""

    model_config = ConfigDict(extra="forbid")

    latency: float = Field(0.0, ge=0, description="Seconds added before every response.")
    down: bool = Field(False, description="Close every connection at once.")
    drop_after: int = Field(0, ge=0, description="Drop the connection after every N-th request.")
    drop_mid_message: bool = Field(False, description="When dropping, send half a response.")
    idle_close: float = Field(0.0, ge=0, description="Close connections idle this many seconds.")
    garbage_every: int = Field(0, ge=0, description="Send garbage before every N-th response.")
    bad_checksum_every: int = Field(0, ge=0, description="Corrupt every N-th checksum.")
    terminator: str = Field("cr", pattern="^(cr|lf|crlf)$", description="cr, lf or crlf.")
    encoding: str = Field("utf-8", description="Wire encoding: utf-8, cp850, latin-1, cp1258…")


class IlsSimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(6001, ge=0, le=65535, description="SIP2 port (0 picks a free one).")
    database: str = Field(
        ":memory:", description="SQLite file of the catalogue; ':memory:' for a throw-away one."
    )
    seed_items: int = Field(200, ge=0, description="Items generated when the database is empty.")
    rng_seed: int = Field(0, description="Random seed of the generated catalogue.")
    institution: str = Field("MUONTRA", description="Institution id (AO) the simulator answers.")
    location: str = Field("TT", description="Branch code of the terminals by default.")
    accounts: dict[str, str] = Field(
        default_factory=dict,
        description="SIP2 login user id → password. Empty: no login required.",
    )
    screen_language: str = Field(
        "patron", pattern="^(patron|vi|en|both)$", description="Language of AF messages."
    )
    tls_cert: Path | None = Field(None, description="PEM certificate: serve SIP2 over TLS.")
    tls_key: Path | None = Field(None, description="PEM private key for tls_cert.")
    control_port: int | None = Field(
        None, ge=0, le=65535, description="Loopback port for run-time fault switches."
    )
    faults: SimFaultsConfig = Field(default_factory=SimFaultsConfig)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names key and problem."""


def load_config(path: Path) -> IlsSimConfig:
    """Read ``[ils_sim]`` from a TOML file (the whole file when it has no such table)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("ils_sim", data)
    try:
        return IlsSimConfig.model_validate(table)
    except ValidationError as exc:
        problems = "; ".join(
            f"ils_sim.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
