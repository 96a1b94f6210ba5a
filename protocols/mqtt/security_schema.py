"""Security events: what a device saw that looks like an attack or tampering.

One kind, ``security`` (topic ``.../events/security``), with a closed field list
like the sorter's: ``threat`` says what was seen, ``severity`` how urgent, and
the other fields are its evidence. None of them can carry a PIN, a patron id or
a name: a card is named only by ``patron_ref`` (the site-keyed hash the fleet
already uses to tell cards apart), an item by its id and tag UID. docs/security.md
says what staff should do about each threat.

Threats and severities are checked as codes, not closed lists, as the sorter's
reasons are: a device may learn to see a new threat without a new payload
version, and a consumer shows an unknown code as it is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from protocols.mqtt.sorter_schema import FieldKind, FieldSpec

__all__ = ["SECURITY_EVENT", "SECURITY_FIELDS", "Severity", "Threat"]

SECURITY_EVENT: Final = "security"
"""The event kind (and topic level) of every security event."""


class Threat(StrEnum):
    """What was seen. The comment says which device sees it and what the evidence is."""

    # Patrons' cards and PINs (kiosk).
    PIN_GUESSING = "pin_guessing"
    """Wrong PINs for several different cards at one kiosk in a window (``cards``, ``count``)."""
    PIN_WRONG = "pin_wrong"
    """Wrong PINs for one card (``patron_ref``, ``count``); central joins them across kiosks."""
    CARD_ACROSS_KIOSKS = "card_across_kiosks"
    """Central: one card's wrong PINs at several kiosks (``patron_ref``, ``devices``)."""
    # Tags (kiosk, gate, sorter).
    CLONED_TAG = "cloned_tag"
    """One item id on two tags (``item_id``, ``uid``, ``other_uid``)."""
    TAG_DATA_MISMATCH = "tag_data_mismatch"
    """A tag whose data model or CRC is not what muontra writes (``uid``, ``detail``)."""
    UNKNOWN_ITEM_REPEATED = "unknown_item_repeated"
    """An item id the ILS does not know, seen again and again (``item_id``, ``count``)."""
    ON_LOAN_SECURED = "on_loan_secured"
    """An item on loan whose tag is secured again (``item_id``, ``uid``, ``afi``)."""
    UNSECURED_NOT_ON_LOAN = "unsecured_not_on_loan"
    """An item not on loan seen unsecured at the gate more than once (``item_id``, ``count``)."""
    FOREIGN_AFI = "foreign_afi"
    """A tag whose AFI is neither of the site's two values (``uid``, ``afi``)."""
    # The device itself.
    DEVICE_UNPLUGGED = "device_unplugged"
    """A reader, printer or PLC lost during opening hours (``part``)."""
    CASE_OPENED = "case_opened"
    """The case or door switch opened (``part``)."""
    CONFIG_CHANGED = "config_changed"
    """The config file changed on disk outside a reload (``detail``: changed, removed)."""
    CLOCK_JUMP = "clock_jump"
    """The wall clock moved against the monotonic one (``jump_s``, ``direction``)."""
    # Links.
    SIP2_LOGIN_REFUSED = "sip2_login_refused"
    """The ILS refused the SIP2 login (93/94 with ok 0)."""
    TLS_UNVERIFIED = "tls_unverified"
    """A TLS peer's certificate did not verify (``part``: ils, broker; ``detail``)."""
    MQTT_LOGIN_FAILED = "mqtt_login_failed"
    """The broker refused the device's login, again (``count``)."""
    API_PEER_REFUSED = "api_peer_refused"
    """The local API socket was used by an unexpected user (``peer_uid``)."""
    COMMAND_REFUSED = "command_refused"
    """A command refused by a device that requires signed commands (``detail``: unsigned,
    bad_signature, expired, replayed; protocols/mqtt/signing.py)."""


class Severity(StrEnum):
    INFO = "info"
    """Worth counting; no one needs to act (one wrong-PIN card)."""
    WARNING = "warning"
    """Staff should look when they can (a foreign AFI, a clock jump)."""
    CRITICAL = "critical"
    """Staff should act now (the case opened, a cloned tag, PIN guessing)."""


_REQ = True

SECURITY_FIELDS: Final[dict[str, FieldSpec]] = {
    "threat": FieldSpec(FieldKind.CODE, _REQ),
    "severity": FieldSpec(FieldKind.CODE, _REQ),
    # How many times it was seen in ``window_s`` seconds (the event is rate-limited:
    # one per threat and subject per window, with the count so far).
    "count": FieldSpec(FieldKind.COUNT),
    "window_s": FieldSpec(FieldKind.SECONDS),
    # Evidence; each threat above names the fields it fills.
    "item_id": FieldSpec(FieldKind.LEVEL),
    "uid": FieldSpec(FieldKind.LEVEL),
    "other_uid": FieldSpec(FieldKind.LEVEL),
    "afi": FieldSpec(FieldKind.COUNT),
    "patron_ref": FieldSpec(FieldKind.LEVEL),
    "cards": FieldSpec(FieldKind.COUNT),
    "devices": FieldSpec(FieldKind.COUNT),
    "part": FieldSpec(FieldKind.CODE),
    "detail": FieldSpec(FieldKind.CODE),
    "jump_s": FieldSpec(FieldKind.SECONDS),
    "direction": FieldSpec(FieldKind.CODE),
    "peer_uid": FieldSpec(FieldKind.COUNT),
}
"""The security event's fields beyond the envelope; nothing else may appear."""
