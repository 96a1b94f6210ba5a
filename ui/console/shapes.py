"""What the console reads out of central's JSON rows, as pure functions (no Qt).

Central's fleet store answers devices, events and hourly statistics as JSON; these
functions take what they need and tolerate what they do not know, so a newer
central never breaks an older console (a missing field shows as "unknown").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

CHECKOUT = ("checkout", "checkouts")
RETURN = ("checkin", "checkins", "returns")
GATE_IN = ("gate_in", "people_in")
GATE_OUT = ("gate_out", "people_out")


def moment(value: Any) -> datetime | None:
    """A time as central sends it (epoch seconds, or ISO text, naive meaning UTC), local."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC).astimezone()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone()
    return None


def clock_text(value: Any, today: date | None = None) -> str:
    """``HH:MM:SS``, with the date in front when it is not ``today``."""
    when = moment(value)
    if when is None:
        return ""
    if today is not None and when.date() == today:
        return when.strftime("%H:%M:%S")
    return when.strftime("%Y-%m-%d %H:%M")


def online(device: Mapping[str, Any]) -> bool | None:
    state = device.get("state", device.get("online"))
    if isinstance(state, bool):
        return state
    if isinstance(state, str) and state in ("online", "offline"):
        return state == "online"
    return None


def offline_since(device: Mapping[str, Any]) -> Any:
    return device.get("offline_since", device.get("state_since"))


def parts_text(value: Any) -> str:
    """Readers (a mapping part → state, or text) as one short line: ``pad: ready``."""
    if isinstance(value, Mapping):
        shown = []
        for part, entry in sorted(value.items()):
            state = entry.get("state", "") if isinstance(entry, Mapping) else entry
            shown.append(f"{part}: {state}")
        return ", ".join(shown)
    return str(value) if value not in (None, "") else ""


def readers_ok(value: Any) -> bool | None:
    if isinstance(value, Mapping) and value:
        states = [s.get("state") if isinstance(s, Mapping) else s for s in value.values()]
        return all(s in ("ready", "ok", "paper_low") for s in states)
    return None


def ils_text(device: Mapping[str, Any]) -> str:
    value = device.get("ils")
    if value is None and isinstance(device.get("readers"), Mapping):
        value = device["readers"].get("ils")
    return parts_text(value) if isinstance(value, Mapping) else str(value or "")


def queue_text(device: Mapping[str, Any]) -> str:
    value = device.get("queues", device.get("queue"))
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    return "" if value is None else str(value)


def bins(device: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """A return machine's bins as (bin, fill, state), from ``bins`` or its ``bin…`` parts."""
    found: list[tuple[str, str, str]] = []
    value = device.get("bins")
    if isinstance(value, list):
        for entry in value:
            if isinstance(entry, Mapping):
                fill = entry.get("fill", entry.get("level", entry.get("count", "")))
                found.append((str(entry.get("bin", "?")), str(fill), str(entry.get("state", ""))))
    elif isinstance(value, Mapping):
        for name, entry in sorted(value.items()):
            if isinstance(entry, Mapping):
                fill = entry.get("fill", entry.get("level", entry.get("count", "")))
                found.append((str(name), str(fill), str(entry.get("state", ""))))
            else:
                found.append((str(name), "", str(entry)))
    readers = device.get("readers")
    if not found and isinstance(readers, Mapping):
        for part, state in sorted(readers.items()):
            if str(part).startswith("bin"):
                shown = state.get("state", "") if isinstance(state, Mapping) else state
                found.append((str(part), "", str(shown)))
    return found


def _count(row: Mapping[str, Any], names: tuple[str, ...]) -> int:
    """A row's count of one measure: wide (``checkouts: 3``) or long (``metric``/``count``)."""
    metric = row.get("metric")
    if isinstance(metric, str):
        value = row.get("count", 0) if metric in names else 0
    else:
        value = sum(row.get(name, 0) or 0 for name in names if isinstance(row.get(name), int))
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _hour(row: Mapping[str, Any]) -> int | None:
    value = row.get("hour")
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 24 else None
    when = moment(value)
    return when.hour if when is not None else None


Series = dict[str, list[int]]
MEASURES = {"checkouts": CHECKOUT, "returns": RETURN, "people_in": GATE_IN, "people_out": GATE_OUT}


def per_hour(rows: Iterable[Mapping[str, Any]]) -> Series:
    """24 counts per measure, every device of the site summed."""
    series: Series = {name: [0] * 24 for name in MEASURES}
    for row in rows:
        hour = _hour(row)
        if hour is None:
            continue
        for name, keys in MEASURES.items():
            series[name][hour] += _count(row, keys)
    return series


def totals(series: Series) -> dict[str, int]:
    return {name: sum(values) for name, values in series.items()}
