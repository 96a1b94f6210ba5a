"""The staff side's configuration sections of ``[central]``: alerts, the HTTP API, Home Assistant.

central/settings.py (the store, MQTT, retention) includes these three by name
(``alerts``, ``api``, ``homeassistant``), so each side of central owns its own keys.
Every field carries its documentation: ``muontra config check`` prints it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AlertsSection", "ApiSection", "HomeAssistantSection"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertsSection(_Section):
    """When central raises an alert (each is raised once, acknowledged by a named staff member,
    and cleared when its cause is gone)."""

    enabled: bool = Field(True, description="Evaluate alert rules at all.")
    gate_alarm: bool = Field(True, description="A gate alarm alerts its site's staff at once.")
    offline_after_s: float = Field(
        60.0,
        gt=0,
        description="A device whose will says offline, or that sent no telemetry for this many "
        "seconds, is offline.",
    )
    reader_unavailable: bool = Field(True, description="Alert when a device's RFID reader is down.")
    printer_unavailable: bool = Field(True, description="Alert when a kiosk's printer is down.")
    paper_low: bool = Field(True, description="Alert when a printer reports its paper low.")
    bin_full: bool = Field(True, description="Alert when a return machine's bin is full.")
    queue_growing_after: int = Field(
        20,
        ge=1,
        description="Alert when a device's offline queue holds at least this many messages.",
    )
    security_write_failed: bool = Field(
        True, description="Alert when a kiosk fails to set an item's security bit."
    )
    security: bool = Field(
        True,
        description="Security events (attack and tampering, docs/central-security.md): a critical "
        "or warning one raises an alert, an info one is only counted.",
    )
    security_quiet_s: float = Field(
        3600.0,
        gt=0,
        description="A security alert nothing has repeated for this many seconds is cleared.",
    )
    security_subjects: int = Field(
        20,
        ge=1,
        le=10_000,
        description="Open alerts one device may have for one threat (one per item, card, part); "
        "past it, one more alert per device and threat counts the rest.",
    )
    card_window_s: float = Field(
        900.0,
        gt=0,
        description="Wrong PINs for one card at this many seconds apart or less are joined "
        "across the site's kiosks.",
    )
    card_kiosks: int = Field(
        2,
        ge=2,
        description="Kiosks of a site at which one card's wrong PINs raise card_across_kiosks.",
    )
    clone_window_s: float = Field(
        86400.0,
        gt=0,
        description="An item id seen with more tag UIDs than it has parts within this many "
        "seconds, at any of the site's devices, is a cloned tag.",
    )

    broker_refusals: int = Field(
        0,
        ge=0,
        description="Alert when the broker refused this many logins within broker_window_s, "
        "read from mosquitto's own log on $SYS/broker/log/N (its `log_dest topic`; the ACL must "
        "let central read that topic); 0: off (docs/central-security.md).",
    )
    broker_window_s: float = Field(
        300.0, gt=0, description="Seconds within which the broker's refused logins are counted."
    )
    broker_site: str = Field(
        "",
        max_length=128,
        description="The site whose staff hear of the broker's refused logins (the library's own "
        "broker); empty: only staff of every site.",
    )


class ApiSection(_Section):
    """The HTTP JSON API for other tools: read-only unless a client's token allows more."""

    enabled: bool = Field(False, description="Serve the API at all.")
    host: str = Field("127.0.0.1", description="Address to listen on (loopback unless proxied).")
    port: int = Field(8765, ge=0, le=65535, description="TCP port (0: any free port).")
    max_page: int = Field(500, ge=1, le=10_000, description="Most rows one list request returns.")
    session_s: float = Field(
        8 * 3600.0,
        gt=0,
        le=7 * 86400.0,
        description="How long a staff session from POST /v1/login lasts (a shift), seconds.",
    )
    login_failures: int = Field(
        5,
        ge=1,
        le=100,
        description="Wrong passwords in a row that lock a staff account for lockout_s.",
    )
    address_failures: int = Field(
        20,
        ge=1,
        le=10_000,
        description="Wrong passwords (on any accounts) that lock a source address for lockout_s.",
    )
    lockout_s: float = Field(
        900.0, gt=0, description="How long a locked account or address is refused, seconds."
    )


class HomeAssistantSection(_Section):
    """Home Assistant MQTT discovery: every device appears in a site's Home Assistant."""

    enabled: bool = Field(False, description="Announce the fleet to Home Assistant.")
    discovery_prefix: str = Field(
        "homeassistant", description="Home Assistant's discovery prefix (its MQTT setting)."
    )
    node_prefix: str = Field("muontra", description="Prefix of every entity's unique id.")
