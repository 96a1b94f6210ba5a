"""The scenario file format (TOML), validated: what to set up, what to do, what must hold.

```toml
name = "Stack checkout"
description = "Three books on the pad, all checked out."

[kiosk]                    # merged into the generated device config
role = "self-checkout"
pin = "required"

[[steps]]
do = "identify"            # identify, pin, command, place, remove, clear, fault, card,
value = "P0001"            # card_remove, scan, ils_down, ils_up, ils_latency, ils_fault,
                           # kill, restart, wait, wait_idle, delay
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
    "ils_fault",
    "ils_checkout",
    "ils_checkin",
    "kill",
    "restart",
    "wait",
    "wait_idle",
    "delay",
    "feed",
    "belt",
]

StepError = str
"""The code a step fails with, for ``expect_error``: an API command's error code, or one of
the runner's own: ``timeout`` (wait, wait_idle), ``engine_gone`` (the engine is not there to
answer), ``not_running`` (kill with no engine), ``start_failed`` (restart: the engine exited or
never opened its API). A step without ``expect_error`` must succeed; a step with it must fail
with exactly that code."""


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    do: StepKind = Field(description="What happens at this step.")
    value: str | None = Field(
        None,
        description="identify: the patron id typed or scanned; ils_checkout: the patron the "
        "library's desk lends the item to.",
    )
    method: str = Field("typed", description="identify: barcode, nfc, qr or typed.")
    pin: str | None = Field(None, description="pin: the PIN entered.")
    cmd: str | None = Field(None, description="command: an API command (done, renew, …).")
    args: dict[str, Any] = Field(default_factory=dict, description="command: its arguments.")
    expect_error: str | None = Field(
        None,
        description="any step: the error code it must fail with (see StepError); "
        "a step that succeeds instead fails the scenario.",
    )
    item: str | None = Field(
        None,
        description="place/remove/fault: the item id on the tag; ils_checkout/ils_checkin: "
        "the item the library's desk lends or takes back (straight in the ILS, not through "
        "the kiosk).",
    )
    set_size: int = Field(1, description="place/remove: parts in the item's set.")
    set_index: int = Field(1, description="place/remove: which part.")
    model: str = Field("iso28560-3", description="place: the tag data model.")
    owner: str = Field("", description="place: the owner library ISIL on the tag.")
    memory: str | None = Field(None, description="place: raw tag memory in hex instead.")
    afi: int | None = Field(
        None, description="place: the tag's AFI (default: secured under the site's policy)."
    )
    eas: bool | None = Field(None, description="place: the tag's EAS bit (default: on).")
    name: str | None = Field(
        None,
        description="fault: leave_during_write, silent_write_fail, miss_rounds, lock_afi, "
        "unplugged, read_fails (memory reads fail while inventory still sees the tag); "
        "ils_fault: a switch of the ILS simulator (drop_after, drop_mid_message, garbage_every, "
        "bad_checksum_every, encoding, terminator, idle_close, latency; lose_answer: the next "
        "request with that SIP2 code is carried out and its answer lost, once).",
    )
    count: int = Field(
        1,
        description="fault: how many times; wait: how many matching events (new ones) to wait for.",
    )
    setting: str | int | float | bool | None = Field(
        None, description="ils_fault: the switch's value (e.g. 3, 'cp1258', true)."
    )
    seconds: float = Field(
        0.0, description="ils_latency: seconds added to every answer; delay: seconds to wait."
    )
    uid: str | None = Field(None, description="card: the card UID in hex.")
    text: str | None = Field(None, description="card: the NDEF text on the card (a patron id).")
    code: str | None = Field(None, description="scan: the scanned code.")
    crash_at: str | None = Field(
        None,
        description="restart: crash the new engine at this point instead of running on: "
        "a journal step (checkout:ils_ok, …), `KIND:written` (the tag written, its journal "
        "step not yet), `POINT#N` at the N-th time it is reached (the N-th item).",
    )
    event: str | None = Field(None, description="wait: the event name.")
    match: dict[str, Any] = Field(
        default_factory=dict, description="wait: fields that must be equal."
    )
    contains: dict[str, str] = Field(
        default_factory=dict,
        description="wait: fields whose text must contain this (a message in either language; "
        "'' only asks that the field is there); a step with expect_error: the error's fields "
        "(en, vi; error: anywhere in the error answer) must contain this.",
    )
    timeout: float = Field(15.0, description="wait / wait_idle: seconds before failing.")
    items: list[str] = Field(
        default_factory=list,
        description="feed (sorter): the items put in the intake, one after the other: "
        "'B0001' an item, 'B0006#1/2' part 1 of a set of 2, 'B0002@VN-HCM0002' an item "
        "whose tag names that owner library, 'blank' a tag with no data, '-' no tag.",
    )
    every: float | None = Field(
        None,
        description="feed (sorter): seconds (belt time) between items; default: the belt's "
        "spacing, its physical floor; less puts the next item in too soon.",
    )
    diverter: int | None = Field(
        None, description="belt trip_full: the diverter whose bin's full sensor trips."
    )
    at: float | None = Field(None, description="belt jam: metres from the intake where it stops.")

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
            "ils_fault": ["name", "setting"],
            "ils_checkout": ["item", "value"],
            "ils_checkin": ["item"],
            "feed": ["items"],
            "belt": ["name"],
        }.get(self.do, [])
        missing = [name for name in needed if getattr(self, name) in (None, "", [])]
        if missing:
            raise ValueError(f"step {self.do!r} needs {', '.join(missing)}")
        if self.timeout <= 0 or self.seconds < 0 or self.count < 1:
            raise ValueError("timeout must be > 0, seconds >= 0 and count >= 1")
        return self


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loan: dict[str, Any] | None = Field(
        None,
        description="{item, patron[, due_in_days, renewals, out_within_minutes]}: the ILS has "
        "this loan open; due the given number of days after the scenario's day (in the ILS's "
        "time zone), renewed that many times, lent (by its own record) within that many "
        "minutes of the scenario's start (an offline loan keeps its original time).",
    )
    no_loan: str | None = Field(None, description="item id: the ILS has no open loan for it.")
    loans_made: dict[str, Any] | None = Field(
        None, description="{item, count}: loans ever made of the item during the scenario."
    )
    hold: dict[str, Any] | None = Field(
        None,
        description="{item, patron[, status]}: the ILS has a hold of the patron on the item "
        "(item-level, or trapped for it), in that status (waiting, in_transit, ready, …); "
        "status = 'none': no open hold of that patron on the item.",
    )
    tag: dict[str, Any] | None = Field(
        None,
        description="{item[, part], secured: bool, afi, eas: bool}: the tag's security state; "
        "secured is judged by the site's security policy (AFI values of the preset, EAS bit "
        "where the policy uses it).",
    )
    journal: dict[str, Any] | None = Field(
        None,
        description="{item, state[, kind, offline, outcome, detail, count]}: the item's last "
        "journal transaction; detail matches by substring; count: how many transactions "
        "of the item (and kind) the journal holds.",
    )
    receipt: str | None = Field(
        None, description="text the printed receipt contains (a receipt printed in text mode)."
    )
    qr: dict[str, Any] | None = Field(
        None,
        description="{contains} and/or {item, due_in_days | not_done: true}: the last QR "
        "receipt payload a `receipt` command returned.",
    )
    open_transactions: int | None = Field(
        None,
        description="how many journal transactions are still open (started, ils_ok, securing).",
    )
    event: dict[str, Any] | None = Field(
        None,
        description="{event, …fields[, contains = {field = text}, count = N, at_most = N]}: "
        "seen at least once (exactly N times with count, at most N times with at_most); "
        "contains matches by substring.",
    )
    no_event: dict[str, Any] | None = Field(
        None, description="{event, …fields[, contains]}: never seen."
    )
    event_order: list[dict[str, Any]] | None = Field(
        None,
        description="[{event, …}, {event, …}, …]: events seen in this order (others between "
        "them allowed).",
    )

    sorted: dict[str, Any] | None = Field(
        None,
        description="(sorter) {item, bin[, reason]}: the item physically landed in that bin "
        "(its diverter's, or the exception bin at the belt's end) and the sorter said so "
        "(its last item event names the bin, and the reason when given; reason = '' none).",
    )
    bin_count: dict[str, Any] | None = Field(
        None,
        description="(sorter) {bin, count[, full]}: the bin's count (and full flag) at the end.",
    )
    staff_report: dict[str, Any] | None = Field(
        None,
        description="(sorter) {item[, contains, count]}: a staff report line about the item "
        "(containing the text in either language); count: exactly that many lines of it.",
    )
    status: dict[str, Any] | None = Field(
        None, description="(sorter) {field = value}: the sorter's status at the end."
    )

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
    known_failure: str | None = Field(
        None,
        description="Why this scenario fails today (an open bug, e.g. 'issue 12 item 5: …'): "
        "the test suite expects it to fail (strict xfail), so it reports when the bug is fixed "
        "and the marker can go.",
    )
    settle_timeout: float = Field(
        15.0,
        gt=0,
        description="Seconds the engine may take, after the last step, to finish what is in "
        "flight before the checks; still busy then: the scenario fails.",
    )
    kiosk: dict[str, Any] = Field(
        default_factory=dict,
        description="Config overrides: role, pin, idle_timeout, idle_warning, offline, "
        "offline_max, owners, policy, timing, pad, ils_timeout, crash_at, profile, encoding, "
        "timezone.",
    )
    sorter: dict[str, Any] | None = Field(
        None,
        description="A return machine scenario (role sorter) and its config overrides: "
        "late_ils, owners, offline, rules, capacity_1, overflow_1, capacity_2, "
        "capacity_x, capacity_hold, capacity_transit, rate (simulated seconds per real "
        "second), ils_timeout, plc (the belt behind a simulated PLC over Modbus TCP).",
    )
    steps: list[Step]
    expect: list[Expectation] = Field(default_factory=list)
