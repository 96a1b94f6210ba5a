"""What only central can see: one site's devices' events joined (issue 15).

Each device sees its own patrons and tags; central sees them all, so two threats
are found here, from the events the store holds (not from this process's memory:
several central processes share the stream, and each stores only part of it):

- ``card_across_kiosks``: one card's wrong PINs (``pin_wrong`` events with the same
  ``patron_ref``) at ``card_kiosks`` or more kiosks of a site within
  ``card_window_s`` of each other. The count is the wrong PINs the kiosks told of.
- ``cloned_tag``: one item id seen with more tag UIDs than it has parts within
  ``clone_window_s`` at any of the site's devices. A checkout's or checkin's ``uids``
  are the item's whole set of tags, so they tell how many parts it has (as an
  event's ``parts`` does); a gate alarm's ``uid`` is one tag of it. An item seen only
  in alarms has no known number of parts, and two parts of a set walking out are
  not a clone, so alarms alone are no verdict.

The join runs after the batch that stored the events has committed, so of two
processes storing two kiosks' events at once, the later one's query sees both.
Both may find it: the store keeps one open alert per key (central/alerts.py).

Each join is one query per site and batch, however many cards or items the batch
names, and reads at most ``_ROWS`` events: a device flooding distinct cards or items
costs central a bounded lookup (and may, while it floods, hide a real join among its
noise; the flood itself is alerted on by the device's own threats and the bound of
central/security_rules.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.alert_values import AlertKey
from central.models import Event as EventRow
from central.settings_ops import AlertsSection
from protocols.mqtt import payloads
from protocols.mqtt.security_schema import SECURITY_EVENT, Severity, Threat

__all__ = ["SITE_WIDE", "Finding", "SecurityJoins", "item_uids"]

SITE_WIDE: Final = ""
"""The device of an alert about a whole site (several devices' events)."""
TAGGED_KINDS: Final = ("checkout", "checkin", "alarm")
"""Fleet events that carry an item's tag UIDs (protocols/mqtt/payloads.py)."""
_ROWS = 2000
"""Most stored events one join reads (a site's events about one card or item)."""


@dataclass(frozen=True, slots=True)
class Finding:
    key: AlertKey
    severity: str
    total: int
    evidence: Mapping[str, Any]


def item_uids(data: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The tag UIDs an event names, and whether they are its item's whole set."""
    uids = data.get("uids")
    if isinstance(uids, list):
        clean = [u.upper() for u in uids if isinstance(u, str) and u]
        if clean:
            return clean, True
    uid = data.get("uid")
    return ([uid.upper()], False) if isinstance(uid, str) and uid else ([], False)


def _naive(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _time(event: payloads.Event) -> float:
    return payloads.epoch_of(event.envelope.time)


class SecurityJoins:
    """The joins, on the store's sessions; :meth:`find` after each stored batch."""

    def __init__(self, sessions: Callable[[], Session], rules: AlertsSection) -> None:
        self.sessions = sessions
        self.rules = rules

    def find(self, events: Sequence[payloads.Event]) -> list[Finding]:
        if not (self.rules.enabled and self.rules.security):
            return []
        cards: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        items: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for event in events:
            data = event.data
            site = event.envelope.site
            if event.kind == SECURITY_EVENT and data.get("threat") == Threat.PIN_WRONG:
                ref = data.get("patron_ref")
                if isinstance(ref, str) and ref:
                    cards[site][ref].append(_time(event))
            elif event.kind in TAGGED_KINDS:
                item = data.get("item_id")
                if isinstance(item, str) and item and item_uids(data)[0]:
                    items[site][item[:200]].append(_time(event))
        if not cards and not items:
            return []
        found: list[Finding] = []
        with self.sessions() as session:
            for site, by_card in sorted(cards.items()):
                found += self._cards(session, site, by_card)
            for site, by_item in sorted(items.items()):
                found += self._clones(session, site, by_item)
        return found

    def _cards(
        self, session: Session, site: str, by_card: Mapping[str, list[float]]
    ) -> list[Finding]:
        """One query per site and batch, whatever the number of cards in it (a device
        flooding distinct cards costs one lookup, not one each)."""
        window = self.rules.card_window_s
        every = [t for times in by_card.values() for t in times]
        ref = EventRow.data["patron_ref"].as_string()
        rows = session.execute(
            select(EventRow.device, EventRow.time, EventRow.data)
            .where(
                EventRow.site == site,
                EventRow.kind == SECURITY_EVENT,
                EventRow.time >= _naive(min(every) - window),
                EventRow.time <= _naive(max(every) + window),
                EventRow.data["threat"].as_string() == Threat.PIN_WRONG.value,
                ref.in_(sorted(by_card)),
            )
            .order_by(EventRow.time, EventRow.id)
            .limit(_ROWS)
        ).all()
        told: dict[str, dict[str, int]] = defaultdict(dict)  # card -> device -> wrong PINs
        for device, when, data in rows:
            card = data.get("patron_ref") if isinstance(data, dict) else None
            times = by_card.get(card) if isinstance(card, str) else None
            if card is None or not times:
                continue
            moment = when.replace(tzinfo=UTC).timestamp()
            if not min(times) - window <= moment <= max(times) + window:
                continue  # near another card's wrong PIN in this batch, not this one's
            count = data.get("count")
            seen = count if isinstance(count, int) and count > 0 else 1
            told[card][device] = max(told[card].get(device, 0), seen)
        found = []
        for card in sorted(told):
            devices = told[card]
            if len(devices) < self.rules.card_kiosks:
                continue
            key = AlertKey(Threat.CARD_ACROSS_KIOSKS.value, site, SITE_WIDE, card[:128])
            evidence = {"patron_ref": card, "devices": len(devices)}
            found.append(Finding(key, Severity.CRITICAL.value, sum(devices.values()), evidence))
        return found

    def _clones(
        self, session: Session, site: str, by_item: Mapping[str, list[float]]
    ) -> list[Finding]:
        window = timedelta(seconds=self.rules.clone_window_s)
        every = [t for times in by_item.values() for t in times]
        rows = session.execute(
            select(EventRow.item_id, EventRow.device, EventRow.data)
            .where(
                EventRow.site == site,
                EventRow.item_id.in_(sorted(by_item)),
                EventRow.kind.in_(TAGGED_KINDS),
                EventRow.time >= _naive(min(every)) - window,
                EventRow.time <= _naive(max(every)) + window,
            )
            .order_by(EventRow.time, EventRow.id)
            .limit(_ROWS)
        ).all()
        seen: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
        for item, device, data in rows:
            if isinstance(item, str) and isinstance(data, dict):
                seen[item].append((device, data))
        found = []
        for item in sorted(seen):
            finding = self._clone(site, item, seen[item])
            if finding is not None:
                found.append(finding)
        return found

    def _clone(
        self, site: str, item: str, events: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> Finding | None:
        uids: list[str] = []  # in the order first seen
        parts = 0  # 0: unknown (alarms only)
        first_set: list[str] = []
        devices: set[str] = set()
        for device, data in events:
            named, whole = item_uids(data)
            said = data.get("parts")
            if whole:
                parts = max(parts, len(set(named)))
                first_set = first_set or named
            if isinstance(said, int) and not isinstance(said, bool) and said > 0:
                parts = max(parts, said)
            devices.add(device)
            uids += [uid for uid in dict.fromkeys(named) if uid not in uids]
        if parts == 0 or len(uids) <= parts:
            return None
        known = first_set or uids[:1]
        other = next(u for u in uids if u not in known)
        key = AlertKey(Threat.CLONED_TAG.value, site, SITE_WIDE, item[:128])
        evidence = {"item_id": item, "uid": known[0], "other_uid": other, "devices": len(devices)}
        return Finding(key, Severity.CRITICAL.value, len(uids), evidence)
