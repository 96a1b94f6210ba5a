"""The ``[tamper]`` section: opening hours, the case switch, how often to look.

Its own module so that ``engine.config`` can validate it without importing
gpiozero; docs/configuration.md lists the keys, docs/security.md the events.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.tamper.hours import WEEKDAYS, OpeningHours, parse_span

__all__ = ["TamperSection"]


class TamperSection(BaseModel):
    """Device tampering and tag security checks (issue 15)."""

    model_config = ConfigDict(extra="forbid")

    opening_hours: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "When the library is open, in device.timezone, per weekday (mon … sun): "
            "e.g. mon = ['08:00-12:00', '13:30-20:00']. A day left out is closed. A reader, "
            "printer or PLC unplugged while open is reported (device_unplugged); none: "
            "always open."
        ),
    )
    case_pin: int | str | None = Field(
        None,
        description=(
            "GPIO pin of the case or door switch (BCM number, or a gpiozero pin name such "
            "as 'BOARD11'); opening it is reported (case_opened). None: no switch."
        ),
    )
    case_pull_up: bool = Field(
        True,
        description="The switch connects the pin to ground (the Pi's pull-up); false: to 3.3 V.",
    )
    case_open_when_pressed: bool = Field(
        False,
        description=(
            "The switch closes its circuit when the case opens; the usual door switch "
            "closes it while the door is shut (false)."
        ),
    )
    config_check_every: float = Field(
        60.0,
        gt=0,
        description=(
            "Seconds between checks of the config file against its hash at load; a change "
            "not followed by a reload within this time is reported (config_changed)."
        ),
    )
    check_every: float = Field(
        10.0, gt=0, description="Seconds between clock checks and opening-hours checks."
    )
    clock_jump_seconds: float = Field(
        5.0,
        gt=0,
        description="A wall clock moved by more than this against the monotonic one is a jump.",
    )
    loan_memory_hours: float = Field(
        12.0,
        ge=0,
        description=(
            "Gate: hours it remembers the checkouts it heard from the site's kiosks, to tell "
            "an unsecured item that was lent from one that was not."
        ),
    )
    ils_checks_per_minute: float = Field(
        6.0,
        ge=0,
        description=(
            "Gate: at most this many item information requests a minute to ask the ILS "
            "whether a suspect item is on loan; 0: never ask."
        ),
    )

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, table: dict[str, list[str]]) -> dict[str, list[str]]:
        # Every wrong day and span at once, each named (the house rule for config problems).
        problems = [
            f"not a weekday: {day} (use {', '.join(WEEKDAYS)})"
            for day in table
            if day not in WEEKDAYS
        ]
        for day, spans in table.items():
            for span in spans:
                try:
                    parse_span(span)
                except ValueError as error:
                    problems.append(f"{day}: {error}")
        if problems:
            raise ValueError("; ".join(problems))
        return table

    def hours(self) -> OpeningHours:
        return OpeningHours.parse(self.opening_hours)
