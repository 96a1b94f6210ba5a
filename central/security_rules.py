"""Security events into alerts: which threat opens which alert, once, with a growing count.

A device's detector (engine/security) publishes a ``security`` event the first time
it sees something and then once a window with the count so far
(protocols/mqtt/security_schema.py). Here each one becomes, by its severity:

- ``info``: no alert (central/stats.py counts it, and central/security_joins.py may
  join it with other devices' events: one card's wrong PINs at several kiosks);
- ``warning`` or ``critical``: an alert raised at once at the event's site and device,
  keyed by the threat and its subject (the item, card, tag or part the evidence
  names). While it is open a re-sent event only adds to its count (:class:`Counted`):
  the device's count restarts with each window, so a count lower than the last one
  told starts a new window and is added whole.

A hostile or broken device may send a flood of distinct subjects: each device may
have at most ``security_subjects`` open alerts per threat; past that, one alert per
device and threat with the subject ``*`` counts all the rest. An unknown threat code
(a newer device) becomes the rule ``security`` with the code as subject, under the
same bound, so even ten thousand invented codes make at most that many alerts.

Pure: no I/O, the clock is passed in; it shares the open keys of
:class:`central.alerts.AlertEvaluator`, which owns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from central.alert_values import AlertKey, Change, Counted, Raised
from central.settings_ops import AlertsSection
from protocols.mqtt.security_schema import Severity, Threat

__all__ = [
    "CENTRAL_THREATS",
    "OVERFLOW",
    "SECURITY_RULES",
    "SUBJECT_FIELD",
    "UNKNOWN_THREAT",
    "SecurityRules",
    "evidence_of",
]

OVERFLOW: Final = "*"
"""The subject of the one alert that counts a device's subjects past the bound."""
UNKNOWN_THREAT: Final = "security"
"""The rule of a threat code this central does not know (its subject: the code)."""

SUBJECT_FIELD: Final[Mapping[Threat, str | None]] = {
    Threat.PIN_GUESSING: None,
    Threat.PIN_WRONG: "patron_ref",
    Threat.CARD_ACROSS_KIOSKS: "patron_ref",
    Threat.CLONED_TAG: "item_id",
    Threat.TAG_DATA_MISMATCH: "uid",
    Threat.UNKNOWN_ITEM_REPEATED: "item_id",
    Threat.ON_LOAN_SECURED: "item_id",
    Threat.UNSECURED_NOT_ON_LOAN: "item_id",
    Threat.FOREIGN_AFI: "uid",
    Threat.DEVICE_UNPLUGGED: "part",
    Threat.CASE_OPENED: "part",
    Threat.CONFIG_CHANGED: None,
    Threat.CLOCK_JUMP: None,
    Threat.SIP2_LOGIN_REFUSED: None,
    Threat.TLS_UNVERIFIED: "part",
    Threat.MQTT_LOGIN_FAILED: None,
    Threat.API_PEER_REFUSED: "peer_uid",
    Threat.COMMAND_REFUSED: "detail",
}
"""The evidence field that makes two sightings of a threat the same (None: one per device)."""

SECURITY_RULES: Final = frozenset({*(t.value for t in Threat), UNKNOWN_THREAT})
"""Every rule name a security alert may have."""

CENTRAL_THREATS: Final = frozenset({Threat.CARD_ACROSS_KIOSKS.value})
"""Threats only central may raise (a device that sends one is believed as a warning only)."""

_NOT_EVIDENCE = frozenset({"threat", "severity", "count", "window_s"})
_MAX_SUBJECT = 128


def evidence_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence of a security event as staff see it: its fields but threat, severity and
    count. The event was checked against the closed schema when it was decoded, so no field
    here can hold a PIN, a patron id or a name."""
    return {k: v for k, v in data.items() if k not in _NOT_EVIDENCE}


def _code(value: object) -> str:
    return value[:40] if isinstance(value, str) else ""


def _count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return min(value, 1_000_000_000)
    return 1


class _Owner(Protocol):
    rules: AlertsSection
    open: dict[AlertKey, Raised]


class SecurityRules:
    """The security part of the alert rules; :meth:`on_event` per stored security event."""

    def __init__(self, owner: _Owner) -> None:
        self.owner = owner
        # The count a device last told for an open key (its window's count so far).
        self._told: dict[AlertKey, int] = {}

    def rule_and_subject(self, threat: str, data: Mapping[str, Any]) -> tuple[str, str]:
        try:
            known = Threat(threat)
        except ValueError:
            return UNKNOWN_THREAT, threat
        name = SUBJECT_FIELD.get(known)
        value = data.get(name) if name else None
        if isinstance(value, bool) or value is None:
            return known.value, ""
        return known.value, str(value)[:_MAX_SUBJECT]

    def on_event(self, site: str, device: str, data: Mapping[str, Any], now: float) -> list[Change]:
        rules = self.owner.rules
        threat = _code(data.get("threat"))
        if not (rules.enabled and rules.security and threat):
            return []
        severity = _code(data.get("severity"))
        if severity == Severity.INFO:
            return []  # counted in the statistics; joined across devices by security_joins
        if severity != Severity.CRITICAL or threat in CENTRAL_THREATS:
            severity = Severity.WARNING  # an unknown severity is not ignored
        rule, subject = self.rule_and_subject(threat, data)
        told = _count(data.get("count"))
        key = AlertKey(rule, site, device, subject)
        if key in self.owner.open:
            return [self._again(key, told, now, evidence_of(data))]
        if self.open_for(site, device, rule) >= rules.security_subjects:
            # Past the bound: one alert counts the rest; its evidence is the latest only.
            key = AlertKey(rule, site, device, OVERFLOW)
            if key in self.owner.open:
                return [Counted(key, now, add=told)]
            return self.raise_(key, now, severity, told, {})
        changes = self.raise_(key, now, severity, told, evidence_of(data))
        self._told[key] = told
        return changes

    def central(
        self,
        key: AlertKey,
        now: float,
        severity: str,
        total: int,
        evidence: Mapping[str, Any],
    ) -> list[Change]:
        """An alert central itself found (a join of several devices' events)."""
        rules = self.owner.rules
        if not (rules.enabled and rules.security):
            return []
        if key in self.owner.open:
            return [Counted(key, now, total=total, evidence=dict(evidence))]
        return self.raise_(key, now, severity, total, evidence)

    def raise_(
        self, key: AlertKey, now: float, severity: str, count: int, evidence: Mapping[str, Any]
    ) -> list[Change]:
        raised = Raised(key, now, "", str(severity), count, dict(evidence))
        self.owner.open[key] = raised
        return [raised]

    def open_for(self, site: str, device: str, rule: str) -> int:
        """Open alerts of one device and rule, the overflow alert not counted."""
        return sum(
            1
            for k in self.owner.open
            if k.rule == rule and k.device == device and k.site == site and k.subject != OVERFLOW
        )

    def forget_closed(self) -> None:
        """Drop what was told for keys no longer open (closed here or by another process)."""
        for key in [k for k in self._told if k not in self.owner.open]:
            del self._told[key]

    def _again(self, key: AlertKey, told: int, now: float, evidence: dict[str, Any]) -> Counted:
        last = self._told.get(key, 0)
        self._told[key] = told
        # A bigger count is the same window going on; a smaller one (or equal), a new window.
        add = told - last if told > last else told
        return Counted(key, now, add=add, evidence=evidence)
