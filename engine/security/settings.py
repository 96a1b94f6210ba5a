"""The ``[detection]`` section: thresholds of the attack detectors on a device (issue 15).

Declared here, beside the detectors that read it, and hung into
:class:`engine.config.model.DeviceConfig` like every other section, so a
misspelt key is named with its line by ``muontra config check``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DetectionSection"]

_USER = Annotated[str, Field(pattern=r"^([a-z_][a-z0-9_.-]{0,31}|[0-9]{1,10})$")]


class DetectionSection(BaseModel):
    """Thresholds of the attack detectors (docs/security.md says what each event means)."""

    model_config = ConfigDict(extra="forbid")

    report_window: float = Field(
        60.0,
        gt=0,
        le=24 * 3600,
        description=(
            "Seconds: one security event per threat and subject in this time at most; "
            "the next one carries the count seen meanwhile."
        ),
    )
    pin_guessing_cards: int = Field(
        5,
        ge=2,
        le=1000,
        description=(
            "Different cards with a wrong PIN at this kiosk within pin_guessing_window "
            "that raise pin_guessing (someone trying PINs across cards)."
        ),
    )
    pin_guessing_window: float = Field(
        600.0, gt=0, le=7 * 24 * 3600, description="Seconds over which pin_guessing counts cards."
    )
    unknown_item_repeats: int = Field(
        3,
        ge=1,
        le=1000,
        description=(
            "Sightings of one item id the ILS does not know, within unknown_item_window, "
            "that raise unknown_item_repeated."
        ),
    )
    unknown_item_window: float = Field(
        3600.0,
        gt=0,
        le=7 * 24 * 3600,
        description="Seconds over which an unknown item id's sightings are counted.",
    )
    items_remembered: int = Field(
        20000,
        ge=100,
        le=1_000_000,
        description=(
            "Item ids remembered with the tag UID they were seen on (to notice a cloned "
            "tag); the oldest are forgotten beyond this."
        ),
    )
    mqtt_login_failures: int = Field(
        3,
        ge=1,
        le=1000,
        description="Refused broker logins in a row that raise mqtt_login_failed.",
    )
    api_users: list[_USER] = Field(
        default_factory=lambda: ["muontra-ui"],
        description=(
            "Users (names or numeric uids) besides the daemon's own that may use the local "
            "API socket, e.g. the touchscreen's 'muontra-ui'; any other peer is refused "
            "and reported as api_peer_refused. A name with no account here is skipped."
        ),
    )
