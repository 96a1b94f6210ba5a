"""The scenario file format (TOML), validated: what to set up, what to do, what must hold.

```toml
name = "Stack checkout"
description = "Three books on the pad, all checked out."

[kiosk]                    # merged into the generated device config
role = "self-checkout"
pin = "required"

[[steps]]
do = "identify"            # identify, pin, command, place, remove, clear, fault, card,
value = "P0001"            # card_remove, scan, ils_down, ils_up, ils_latency, kill,
                           # restart, wait, wait_idle
[[steps]]
do = "wait"
event = "item"
match = { outcome = "checked_out", item_id = "B0001" }

[[expect]]
loan = { item = "B0001", patron = "P0001" }
```

See docs/scenarios.md for every step and expectation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

StepKind = Literal[
    "identify",
    "pin",
    "command",
    "place",
    "remove",
    "clear",
    "fault",
    "card",
    "card_remove",
    "scan",
    "ils_down",
    "ils_up",
    "ils_latency",
    "kill",
    "restart",
    "wait",
    "wait_idle",
]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    do: StepKind = Field(description="What happens at this step.")
    value: str | None = Field(None, description="identify: the patron id typed or scanned.")
    method: str = Field("typed", description="identify: barcode, nfc, qr or typed.")
    pin: str | None = Field(None, description="pin: the PIN entered.")
    cmd: str | None = Field(None, description="command: an API command (done, renew, …).")
    args: dict[str, Any] = Field(default_factory=dict, description="command: its arguments.")
    expect_error: str | None = Field(None, description="the error code the step must give.")
    item: str | None = Field(None, description="place/remove/fault: the item id on the tag.")
    set_size: int = Field(1, description="place/remove: parts in the item's set.")
    set_index: int = Field(1, description="place/remove: which part.")
    model: str = Field("iso28560-3", description="place: the tag data model.")
    owner: str = Field("", description="place: the owner library ISIL on the tag.")
    memory: str | None = Field(None, description="place: raw tag memory in hex instead.")
    afi: int | None = Field(None, description="place: the tag's AFI (default secured 0x07).")
    name: str | None = Field(
        None,
        description="fault: leave_during_write, silent_write_fail, "
        "miss_rounds, lock_afi, unplugged.",
    )
    count: int = Field(1, description="fault: how many times; ils_latency: unused.")
    seconds: float = Field(0.0, description="ils_latency: seconds added to every answer.")
    uid: str | None = Field(None, description="card: the card UID in hex.")
    text: str | None = Field(None, description="card: the NDEF text on the card (a patron id).")
    code: str | None = Field(None, description="scan: the scanned code.")
    crash_at: str | None = Field(
        None,
        description="restart: crash the new engine at this "
        "journal step (checkout:ils_ok, …) instead of running on.",
    )
    event: str | None = Field(None, description="wait: the event name.")
    match: dict[str, Any] = Field(default_factory=dict, description="wait: fields to match.")
    timeout: float = Field(15.0, description="wait / wait_idle: seconds before failing.")

    @model_validator(mode="after")
    def _needs(self) -> Step:
        needed = {
            "identify": ["value"],
            "pin": ["pin"],
            "command": ["cmd"],
            "place": ["item"],
            "fault": ["name"],
            "scan": ["code"],
            "wait": ["event"],
        }.get(self.do, [])
        missing = [name for name in needed if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"step {self.do!r} needs {', '.join(missing)}")
        return self


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loan: dict[str, str] | None = Field(
        None, description="{item, patron}: the ILS has this loan open."
    )
    no_loan: str | None = Field(None, description="item id: the ILS has no open loan for it.")
    loans_made: dict[str, Any] | None = Field(
        None, description="{item, count}: loans ever made of the item during the scenario."
    )
    tag: dict[str, Any] | None = Field(
        None, description="{item, secured: bool} or {item, afi}: the tag's security state."
    )
    journal: dict[str, Any] | None = Field(
        None, description="{item, state[, kind, offline]}: the item's last journal transaction."
    )
    open_transactions: int | None = Field(
        None,
        description="how many journal transactions are still open (started, ils_ok, securing).",
    )
    event: dict[str, Any] | None = Field(None, description="{event, …fields}: seen at least once.")
    no_event: dict[str, Any] | None = Field(None, description="{event, …fields}: never seen.")

    @model_validator(mode="after")
    def _one(self) -> Expectation:
        given = [name for name, value in self if value is not None]
        if len(given) != 1:
            raise ValueError(f"an expectation states exactly one thing, not {given or 'nothing'}")
        return self


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    kiosk: dict[str, Any] = Field(
        default_factory=dict,
        description="Config overrides: role, pin, idle_timeout, idle_warning, offline_max, owners.",
    )
    steps: list[Step]
    expect: list[Expectation] = Field(default_factory=list)
