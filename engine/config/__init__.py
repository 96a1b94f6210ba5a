"""The device configuration: one TOML file per kiosk, return station or gate.

``load_config(path)`` returns a validated :class:`DeviceConfig` or raises
:class:`ConfigError` listing every problem with its dotted key and line, which
is what ``muontra config check`` prints.
"""

from engine.config.model import (
    ConfigError,
    ConfigProblem,
    DeviceConfig,
    DeviceSection,
    DevicesSection,
    GateSection,
    IlsSection,
    MqttSection,
    OfflineSection,
    PatronSection,
    ReceiptsSection,
    SecretError,
    SecuritySection,
    SmtpSection,
    TagsSection,
    load_config,
    parse_config,
)

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "DeviceConfig",
    "DeviceSection",
    "DevicesSection",
    "GateSection",
    "IlsSection",
    "MqttSection",
    "OfflineSection",
    "PatronSection",
    "ReceiptsSection",
    "SecretError",
    "SecuritySection",
    "SmtpSection",
    "TagsSection",
    "load_config",
    "parse_config",
]
