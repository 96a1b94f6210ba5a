"""The ``[sorter]`` section of a return machine's configuration, as pydantic models.

Like the rest of the configuration every model forbids unknown keys (a
misspelt ``overflow_bin`` must not silently leave a bin without overflow), and
every field's description is its documentation. Cross-references are checked
here, at ``muontra config check`` time: a rule, a CL mapping or an overflow
naming a bin that does not exist, an overflow loop, a bin the belt cannot reach
in time. Problems found by a cross-field check are raised as
:class:`SettingsProblems`, whose keys are relative to the section, so the
report can point at ``sorter.bins.2.overflow`` rather than at ``sorter``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from sorter.rules import RuleError, RuleSet, parse_rules

BIN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"

BinId = Annotated[
    str,
    Field(
        pattern=BIN_ID_PATTERN,
        description="A bin's id: 1-32 letters, digits, '_' or '-', e.g. '3', 'hold', 'dvd'.",
    ),
]
SipCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[!-{}~]+$")]
"""A code as the ILS sends it (CL sort bin, CT destination): printable ASCII, no space or '|'."""


class LatePolicy(StrEnum):
    """What happens when the ILS has not answered by the decision deadline."""

    HOLD_BELT = "hold_belt"
    """Stop the belt with the item before its diverter until the answer comes."""
    EXCEPTION_THEN_FINISH = "exception_then_finish"
    """Send the item to the exception bin and finish its checkin when the answer comes."""


class SettingsProblems(ValueError):
    """Problems of a cross-field check, each as (key relative to the model, message).

    The same shape as the engine's own keyed problems, so ``config check`` can
    place each at its key and line.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BinSettings(_Section):
    """One bin (a trolley) and the diverter in front of it."""

    id: BinId
    name_vi: str = Field(
        min_length=1, max_length=60, description="Name on screens and slips in Vietnamese."
    )
    name_en: str = Field(
        min_length=1, max_length=60, description="Name on screens and slips in English."
    )
    capacity: int = Field(
        ge=1, le=100_000, description="Items the bin holds before it counts as full."
    )
    overflow: BinId | None = Field(
        None,
        description=(
            "Bin that takes this bin's items while it is full (by count or by its "
            "sensor); none: they go to the exception bin, reason 'bin_full'."
        ),
    )
    output: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description=(
            "The diverter in front of the bin: a line name of the outputs URL (relays, e.g. "
            "'diverter1') or a coil name of the PLC's register map. None only for the bin "
            "at the end of the belt, which items reach without a diverter."
        ),
    )
    full_sensor: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The bin's full sensor: a line of the inputs URL or a PLC input name.",
    )
    travel_seconds: float | None = Field(
        None,
        gt=0,
        le=600,
        description=(
            "Seconds an item takes from the RFID reader to this bin's diverter (measured); "
            "or give position and the section's belt_speed."
        ),
    )
    position: float | None = Field(
        None,
        ge=0,
        le=1000,
        description="Metres along the belt of this bin's diverter (with belt_speed).",
    )


class TransitSettings(_Section):
    """Where items that must travel to another library go (CV 02 or 04)."""

    default: BinId | None = Field(
        None, description="Bin of items in transit to any destination not listed below."
    )
    by_destination: dict[SipCode, BinId] = Field(
        default_factory=dict,
        description="Bin per destination as the ILS sends it in CT, e.g. {HN02 = '5'}.",
    )


class SorterSettings(_Section):
    """The return machine's sort: bins, how an item's bin is chosen, and belt timing."""

    bins: list[BinSettings] = Field(
        min_length=1, max_length=64, description="Every bin, the exception bin too."
    )
    exception_bin: BinId = Field(
        description="Bin of every item that cannot be sorted; a reason is recorded for each."
    )
    default_bin: BinId = Field(description="Bin of items that nothing else sends elsewhere.")
    hold_bin: BinId | None = Field(
        None, description="Bin of items on hold here (CV 01); none: sorted as other items."
    )
    transit: TransitSettings = Field(
        default_factory=TransitSettings, description="Bins of items going to another library."
    )
    ill_bin: BinId | None = Field(
        None, description="Bin of interlibrary loans (CV 03); none: sorted as other items."
    )
    sort_bins: dict[SipCode, BinId] = Field(
        default_factory=dict,
        description=(
            "The ILS's sort bin (CL, e.g. from Koha's SIP2SortBinMapping) to a bin here, "
            "e.g. {A = '1', B = '2'}. The first thing looked at; an unlisted CL falls through."
        ),
    )
    rules: str | list[str] = Field(
        "",
        description=(
            "Local rules, one a line (or one a list entry), first match wins, e.g. "
            "'AQ=TN → bin 3'. See docs/sorter.md for the syntax."
        ),
    )
    belt_speed: float | None = Field(
        None, gt=0, le=10, description="Belt speed in metres per second (with bins' positions)."
    )
    reader_position: float = Field(
        0.0, ge=0, le=1000, description="Metres along the belt of the RFID reader."
    )
    reader_field: float | None = Field(
        None,
        gt=0,
        le=100,
        description=(
            "Metres of belt past the reader's eye over which an item's tag can still be read: "
            "the tunnel's field plus the longest item (with belt_speed). An item read less "
            "than this ago is still in the field, so its tags there are not a new item's; "
            "under 'hold_belt' the belt must stop a late item inside it."
        ),
    )
    jam_seconds: float = Field(
        6.0,
        ge=1,
        le=120,
        description=(
            "Seconds of running belt an eye may stay blocked before it is a jam (an item "
            "takes about 1 s to pass an eye): the belt stops and staff are told."
        ),
    )
    late_ils: LatePolicy = Field(
        LatePolicy.HOLD_BELT,
        description=(
            "When the ILS has not answered by the decision deadline: 'hold_belt' stops the belt "
            "until it answers; 'exception_then_finish' sends the item to the exception bin and "
            "finishes its checkin afterwards. Nothing is lost either way."
        ),
    )
    decision_margin: float = Field(
        0.1,
        ge=0,
        le=10,
        description=(
            "Seconds before an item reaches the first diverter by which its bin must be "
            "decided (the diverter's switching time and the link's latency)."
        ),
    )

    _rule_set: RuleSet = PrivateAttr(default_factory=RuleSet)

    @property
    def rules_text(self) -> str:
        """The rules as one text; a list's entry N is line N."""
        return self.rules if isinstance(self.rules, str) else "\n".join(self.rules)

    @property
    def rule_set(self) -> RuleSet:
        """The parsed local rules (parsed once, when the settings were validated)."""
        return self._rule_set

    def bin(self, bin_id: str) -> BinSettings:
        """The bin ``bin_id``; KeyError when there is none."""
        for settings in self.bins:
            if settings.id == bin_id:
                return settings
        raise KeyError(bin_id)

    def travel_seconds(self, bin_id: str) -> float | None:
        """Seconds from the reader to ``bin_id``'s diverter; None for the end of the belt."""
        settings = self.bin(bin_id)
        if settings.output is None:
            return None
        if settings.travel_seconds is not None:
            return settings.travel_seconds
        assert settings.position is not None and self.belt_speed is not None  # validated
        return (settings.position - self.reader_position) / self.belt_speed

    def field_seconds(self) -> float | None:
        """Seconds of belt time an item stays in the reader's field after its read; None
        when the field is not configured."""
        if self.reader_field is None or self.belt_speed is None:
            return None
        return self.reader_field / self.belt_speed

    def decision_deadline(self) -> float:
        """Seconds after an item is read by which its bin must be known.

        The first diverter decides: an item bound for it must have been decided
        before it gets there, and the decision cannot wait to learn which bin it is.
        """
        travels = [t for b in self.bins if (t := self.travel_seconds(b.id)) is not None]
        if not travels:
            return 0.0
        return max(0.0, min(travels) - self.decision_margin)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[tuple[str, str]] = []
        ids = [b.id for b in self.bins]
        known = set(ids)
        for index, bin_id in enumerate(ids):
            if ids.index(bin_id) != index:
                problems.append((f"bins.{index}.id", f"bin {bin_id!r} is listed twice"))
        problems += self._references(known)
        problems += self._overflow_loops(known)
        problems += self._timing()
        try:
            self._rule_set = parse_rules(self.rules_text, known)
        except RuleError as exc:
            word = "rule" if isinstance(self.rules, list) else "line"
            for problem in exc.problems:
                key = f"rules.{problem.line - 1}" if isinstance(self.rules, list) else "rules"
                where = f"{word} {problem.line}, column {problem.column}"
                problems.append((key, f"{where}: {problem.message}"))
        if problems:
            raise SettingsProblems(problems)
        return self

    def _references(self, known: set[str]) -> list[tuple[str, str]]:
        refs: list[tuple[str, str | None]] = [
            ("exception_bin", self.exception_bin),
            ("default_bin", self.default_bin),
            ("hold_bin", self.hold_bin),
            ("ill_bin", self.ill_bin),
            ("transit.default", self.transit.default),
        ]
        refs += [(f"transit.by_destination.{k}", v) for k, v in self.transit.by_destination.items()]
        refs += [(f"sort_bins.{k}", v) for k, v in self.sort_bins.items()]
        refs += [(f"bins.{i}.overflow", b.overflow) for i, b in enumerate(self.bins)]
        return [
            (key, f"no bin {value!r}; the bins are {', '.join(sorted(known))}")
            for key, value in refs
            if value is not None and value not in known
        ]

    def _overflow_loops(self, known: set[str]) -> list[tuple[str, str]]:
        overflow = {b.id: b.overflow for b in self.bins if b.overflow in known}
        problems: list[tuple[str, str]] = []
        for index, settings in enumerate(self.bins):
            seen = [settings.id]
            current = overflow.get(settings.id)
            while current is not None:
                if current == settings.id:
                    chain = " → ".join([*seen, current])
                    problems.append((f"bins.{index}.overflow", f"overflow goes round: {chain}"))
                    break
                if current in seen:
                    break  # a loop further on, reported at its own bins
                seen.append(current)
                current = overflow.get(current)
        return problems

    def _timing(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        travels: list[float] = []
        for index, settings in enumerate(self.bins):
            key = f"bins.{index}"
            if settings.output is None:
                if settings.id != self.exception_bin:
                    problems.append(
                        (f"{key}.output", "only the exception bin may have no diverter output")
                    )
                continue
            if settings.travel_seconds is not None:
                travels.append(settings.travel_seconds)
            elif settings.position is None:
                problems.append(
                    (f"{key}.travel_seconds", "set travel_seconds, or position and belt_speed")
                )
            elif self.belt_speed is None:
                problems.append(("belt_speed", f"bin {settings.id!r} has a position: set it"))
            elif settings.position <= self.reader_position:
                problems.append(
                    (f"{key}.position", "must be past the reader (greater than reader_position)")
                )
            else:
                travels.append((settings.position - self.reader_position) / self.belt_speed)
        if travels and self.decision_margin >= min(travels):
            problems.append(
                (
                    "decision_margin",
                    f"must be shorter than the travel to the first diverter ({min(travels):g} s)",
                )
            )
        elif travels:
            problems += self._hold_point(max(0.0, min(travels) - self.decision_margin))
        return problems

    def _hold_point(self, deadline: float) -> list[tuple[str, str]]:
        """Under ``hold_belt`` a late item waits where the belt stops it: its security is
        written there when the answer comes, so its tag must still be in the field."""
        if self.reader_field is None:
            return []
        if self.belt_speed is None:
            return [("belt_speed", "reader_field is in metres: set belt_speed too")]
        if self.late_ils is not LatePolicy.HOLD_BELT:
            return []
        hold = deadline * self.belt_speed
        if hold < self.reader_field:
            return []
        return [
            (
                "reader_field",
                f"under late_ils = 'hold_belt' a late item stops {hold:g} m past the reader's "
                f"eye (decision deadline {deadline:g} s × belt_speed {self.belt_speed:g} m/s), "
                f"outside the reader's field ({self.reader_field:g} m): its security could not "
                "be written there; lengthen the field, raise decision_margin, or choose "
                "late_ils = 'exception_then_finish'",
            )
        ]
