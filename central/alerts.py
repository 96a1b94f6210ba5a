"""Alerts: rules from ``[central.alerts]`` applied to the fleet's stream, and their rows.

:class:`AlertEvaluator` is pure: fed states, telemetry, events and a clock, it answers
which alerts open and which close. An alert has a key (rule, site, device, subject);
while a key is open it is never raised again, however often its cause repeats (QoS 1
delivers twice, a gate alarms on every pass). It closes when its cause is gone:

====================  ===========================================  ==========================
rule                  raised by                                    cleared by
====================  ===========================================  ==========================
gate_alarm            an ``alarm`` event (subject: the item)       a staff acknowledgement
offline               a will (``offline``) or no telemetry for     ``online`` or telemetry
                      ``offline_after_s``, counted from then
reader_unavailable    telemetry ``readers`` or a ``device`` event  that part ``ready`` again
                      saying a part is ``unavailable``/``lost``
printer_unavailable   the same for part ``printer``                the printer ``ready``
paper_low             part ``printer`` state ``paper_low``/        the printer ``ready``
                      ``paper_out``
bin_full              part ``bin…`` state ``full``                 the bin in any other state
queue_growing         telemetry queue ``outbox`` or ``offline`` at  below half of it
                      least ``queue_growing_after``
security_write_failed a checkout with outcome ``security_failed``  a later checkout or
                                                                   checkin of the item, or ack
(a threat)            a ``security`` event, warning or critical     quiet for
                      (central/security_rules.py), or central's     ``security_quiet_s``; an
                      join of a site's events (card_across_kiosks,  unplugged part ready again
                      cloned_tag: central/security_joins.py)
====================  ===========================================  ==========================

A security alert repeated while open is not raised again: its count grows (:class:`Counted`).

:class:`AlertStore` keeps them in the ``alerts`` table: one open row per key (a unique
partial index makes this hold across central processes), acknowledged by a named
staff member, closed with the time its cause went away.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.accounts import Role, Staff, may, staff_of
from central.alert_texts import alert_text
from central.alert_values import AlertKey, Change, Cleared, Counted, Raised
from central.security_rules import SecurityRules
from central.settings_ops import AlertsSection
from central.staff_models import AlertRow, AuditEntry, SecurityAlertRow, StaffAccount

__all__ = [
    "MOMENTARY",
    "AlertError",
    "AlertEvaluator",
    "AlertKey",
    "AlertStore",
    "AlertView",
    "Change",
    "Cleared",
    "Counted",
    "Raised",
]

log = logging.getLogger(__name__)

MOMENTARY = frozenset({"gate_alarm", "security_write_failed"})
"""Rules whose cause is a moment, not a condition: an acknowledgement closes them."""

_DOWN = frozenset({"unavailable", "lost", "closed", "error"})
_PAPER = frozenset({"paper_low", "paper_out"})


class AlertError(ValueError):
    """An acknowledgement that cannot be made (unknown alert, role too low)."""


class AlertEvaluator:
    """Which alerts open and close, from what the fleet says; no I/O, the clock is passed in."""

    def __init__(self, rules: AlertsSection) -> None:
        self.rules = rules
        self.open: dict[AlertKey, Raised] = {}
        # (site, device) -> the time from which silence counts, and whether the will said so.
        self._heard: dict[tuple[str, str], float] = {}
        self.security = SecurityRules(self)

    def restore(self, keys: list[AlertKey], now: float) -> None:
        """Carry on after a restart with the alerts the store holds open."""
        for key in keys:
            self.open.setdefault(key, Raised(key, now))

    def sync(self, keys: list[AlertKey], now: float) -> None:
        """Take the store's open alerts as the truth (another process raised or closed some)."""
        wanted = set(keys)
        for key in list(self.open):
            if key not in wanted:
                del self.open[key]
        self.restore(keys, now)
        self.security.forget_closed()

    # --- the fleet's messages ------------------------------------------------------------

    def on_state(self, site: str, device: str, state: str, now: float) -> list[Change]:
        """A birth (``online``) or will (``offline``): silence counts from a will, too."""
        self._heard[(site, device)] = now
        if state == "online":
            return self._clear(AlertKey("offline", site, device), now)
        return []

    def on_telemetry(
        self,
        site: str,
        device: str,
        readers: Mapping[str, str],
        queues: Mapping[str, int],
        now: float,
    ) -> list[Change]:
        self._heard[(site, device)] = now
        changes = self._clear(AlertKey("offline", site, device), now)
        for part, state in readers.items():
            changes += self._part(site, device, str(part), str(state), now)
        limit = self.rules.queue_growing_after
        backlog = max((queues.get(name, 0) for name in ("outbox", "offline")), default=0)
        key = AlertKey("queue_growing", site, device)
        if backlog >= limit:
            changes += self._raise(key, now, f"{backlog} messages waiting")
        elif backlog < limit / 2:
            changes += self._clear(key, now)
        return changes

    def on_event(
        self, site: str, device: str, kind: str, data: Mapping[str, Any], now: float
    ) -> list[Change]:
        if kind == "alarm" and self.rules.gate_alarm:
            item = _text(data.get("item_id")) or "?"
            detail = " ".join(
                x for x in (_text(data.get("title")), _text(data.get("direction"))) if x
            )
            return self._raise(AlertKey("gate_alarm", site, device, item), now, detail)
        if kind == "device":
            return self._part(site, device, _text(data.get("part")), _text(data.get("state")), now)
        if kind == "security":
            return self.security.on_event(site, device, data, now)
        if kind in ("checkout", "checkin"):
            item = _text(data.get("item_id"))
            if not item:
                return []
            key = AlertKey("security_write_failed", site, device, item)
            if kind == "checkout" and data.get("outcome") == "security_failed":
                if self.rules.security_write_failed:
                    return self._raise(key, now, "security not set")
                return []
            # The item was handled again at any of the site's devices: the cause is gone.
            return [
                change
                for open_key in list(self.open)
                if open_key.rule == "security_write_failed"
                and open_key.site == site
                and open_key.subject == item
                for change in self._clear(open_key, now)
            ]
        return []

    def heard_at(self, site: str, device: str, when: float) -> None:
        """The store heard ``device`` at ``when`` (another central process may have):
        silence counts from the latest of what any process heard."""
        key = (site, device)
        if when > self._heard.get(key, float("-inf")):
            self._heard[key] = when

    def tick(self, now: float) -> list[Change]:
        """Devices silent for longer than ``offline_after_s`` go offline."""
        changes: list[Change] = []
        for (site, device), heard in self._heard.items():
            silent = now - heard
            if silent > self.rules.offline_after_s:
                changes += self._raise(
                    AlertKey("offline", site, device), now, f"silent for {silent:.0f} s"
                )
        return changes

    def acknowledged(self, key: AlertKey) -> None:
        """An acknowledgement closed ``key`` (a momentary alert): it may be raised again."""
        self.open.pop(key, None)

    def closed(self, keys: list[AlertKey]) -> None:
        """The store closed ``keys`` (a security alert's quiet time): they may be raised again."""
        for key in keys:
            self.open.pop(key, None)
        self.security.forget_closed()

    # --- helpers -------------------------------------------------------------------------

    def _part(self, site: str, device: str, part: str, state: str, now: float) -> list[Change]:
        if not part or not state:
            return []
        if part.startswith("bin"):
            key = AlertKey("bin_full", site, device, part)
            if state == "full":
                return self._raise(key, now, part) if self.rules.bin_full else []
            return self._clear(key, now)
        printer = part == "printer"
        down_rule = "printer_unavailable" if printer else "reader_unavailable"
        down = AlertKey(down_rule, site, device, part)
        enabled = self.rules.printer_unavailable if printer else self.rules.reader_unavailable
        if state in _DOWN:
            return self._raise(down, now, f"{part} {state}") if enabled else []
        # The part is back: a security alert that it was unplugged has lost its cause.
        changes = self._clear(down, now) + self._clear(
            AlertKey("device_unplugged", site, device, part), now
        )
        if printer:
            paper = AlertKey("paper_low", site, device, part)
            if state in _PAPER:
                changes += self._raise(paper, now, state) if self.rules.paper_low else []
            else:
                changes += self._clear(paper, now)
        return changes

    def _raise(
        self,
        key: AlertKey,
        now: float,
        detail: str = "",
        *,
        severity: str | None = None,
        count: int = 1,
        evidence: Mapping[str, Any] | None = None,
    ) -> list[Change]:
        if not self.rules.enabled or key in self.open:
            return []
        raised = Raised(key, now, detail[:200], severity, count, dict(evidence or {}))
        self.open[key] = raised
        return [raised]

    def _clear(self, key: AlertKey, now: float) -> list[Change]:
        if self.open.pop(key, None) is None:
            return []
        return [Cleared(key, now)]


def _text(value: object) -> str:
    return value[:128] if isinstance(value, str) else ""


# --- the store -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as the API and console show it (a security alert's own fields, or None)."""

    id: int
    rule: str
    site: str
    device: str
    subject: str
    detail: str
    raised: float
    acked_by: str | None
    acked_at: float | None
    cleared: float | None
    severity: str | None = None
    count: int | None = None
    evidence: Mapping[str, Any] | None = None
    last_seen: float | None = None

    def as_json(self) -> dict[str, Any]:
        """Its fields, and what staff read about it in both languages."""
        body = {name: getattr(self, name) for name in self.__slots__}
        body["evidence"] = dict(self.evidence) if self.evidence is not None else None
        for language in ("vi", "en"):
            body[f"text_{language}"] = alert_text(self.rule, self.device, self.subject, language)
        return body


def _view(row: AlertRow, security: SecurityAlertRow | None = None) -> AlertView:
    return AlertView(
        row.id,
        row.rule,
        row.site,
        row.device,
        row.subject,
        row.detail,
        row.raised,
        row.acked_by,
        row.acked_at,
        row.cleared,
        security.severity if security else None,
        security.count if security else None,
        dict(security.evidence) if security else None,
        security.last_seen if security else None,
    )


class AlertStore:
    """The ``alerts`` table: open, acknowledge, close; staff to tell at once."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def apply(self, changes: list[Change]) -> list[AlertView]:
        """Store ``changes``, in order, in one transaction; the alerts newly raised (an open
        one already stored is skipped; a security alert another process raised first is
        counted instead).

        One transaction for the lot: a burst of gate alarms (a class walking out) is one
        multi-row insert and one commit, not a commit per alarm, so the first alarm reaches
        staff as soon as the last of the burst is stored. Only when another central process
        stored one of the same alerts meanwhile (its open key is unique) is the batch done
        again, each raise in its own savepoint so that only the duplicate is undone."""
        try:
            return self._apply(changes, savepoints=False)
        except IntegrityError:
            return self._apply(changes, savepoints=True)

    def _apply(self, changes: list[Change], *, savepoints: bool) -> list[AlertView]:
        raised: list[tuple[AlertRow, SecurityAlertRow | None]] = []
        with self.sessions() as session:
            for change in changes:
                if isinstance(change, Raised):
                    stored = self._raise(session, change, savepoints)
                    if stored is not None:
                        raised.append(stored)
                elif isinstance(change, Counted):
                    self._count(session, change)
                else:
                    for row in session.scalars(
                        select(AlertRow).where(
                            AlertRow.key == change.key.text(), AlertRow.cleared.is_(None)
                        )
                    ):
                        row.cleared = change.time
            session.commit()
            return [_view(row, security) for row, security in raised]

    def _raise(
        self, session: Session, change: Raised, savepoint: bool
    ) -> tuple[AlertRow, SecurityAlertRow | None] | None:
        """Add the alert; in a ``savepoint`` (flushed at once) the insert that meets an
        open alert of the same key is undone alone and None returned."""
        key = change.key
        row = AlertRow(
            key=key.text(),
            rule=key.rule,
            site=key.site,
            device=key.device,
            subject=key.subject,
            detail=change.detail,
            raised=change.time,
        )
        if not savepoint:
            session.add(row)
            return row, self._security(session, row, change)
        try:
            with session.begin_nested():
                session.add(row)
                return row, self._security(session, row, change)
        except IntegrityError:
            if change.severity is not None:
                evidence = change.evidence or None
                self._count(session, Counted(key, change.time, add=change.count, evidence=evidence))
            return None

    @staticmethod
    def _security(session: Session, row: AlertRow, change: Raised) -> SecurityAlertRow | None:
        """A security alert's own row (it needs the alert's id: flushed here)."""
        if change.severity is None:
            return None
        session.flush()
        security = SecurityAlertRow(
            alert_id=row.id,
            severity=change.severity,
            count=change.count,
            evidence=dict(change.evidence),
            last_seen=change.time,
        )
        session.add(security)
        session.flush()
        return security

    def _count(self, session: Session, change: Counted) -> None:
        """Add to (or set) an open security alert's count, in one statement: two central
        processes counting the same alert at once both count."""
        alert_id = session.scalar(
            select(AlertRow.id).where(AlertRow.key == change.key.text(), AlertRow.cleared.is_(None))
        )
        if alert_id is None:
            return  # closed meanwhile; the next sighting raises it again
        count = SecurityAlertRow.count + change.add if change.total is None else change.total
        values: dict[str, Any] = {"count": count, "last_seen": change.time}
        if change.evidence is not None:
            values["evidence"] = dict(change.evidence)
        session.execute(
            update(SecurityAlertRow).where(SecurityAlertRow.alert_id == alert_id).values(**values)
        )

    def counted(self, key: AlertKey) -> AlertView | None:
        """The open alert of ``key`` as stored now (for the live stream after a count)."""
        with self.sessions() as session:
            found = session.execute(
                select(AlertRow, SecurityAlertRow)
                .outerjoin(SecurityAlertRow, SecurityAlertRow.alert_id == AlertRow.id)
                .where(AlertRow.key == key.text(), AlertRow.cleared.is_(None))
            ).first()
            return None if found is None else _view(found[0], found[1])

    def clear_quiet(self, before: float, now: float) -> list[AlertView]:
        """Close the open security alerts last seen before ``before``; the closed ones."""
        with self.sessions() as session:
            found = session.execute(
                select(AlertRow, SecurityAlertRow)
                .join(SecurityAlertRow, SecurityAlertRow.alert_id == AlertRow.id)
                .where(AlertRow.cleared.is_(None), SecurityAlertRow.last_seen < before)
            ).all()
            for row, _security in found:
                row.cleared = now
            session.commit()
            return [_view(row, security) for row, security in found]

    def security_open(self, site: str, device: str) -> list[str]:
        """The rules of a device's open security alerts (for Home Assistant), sorted."""
        with self.sessions() as session:
            rules = session.scalars(
                select(AlertRow.rule)
                .join(SecurityAlertRow, SecurityAlertRow.alert_id == AlertRow.id)
                .where(
                    AlertRow.site == site,
                    AlertRow.device == device,
                    AlertRow.cleared.is_(None),
                )
            )
            return sorted(set(rules))

    def open_keys(self) -> list[AlertKey]:
        with self.sessions() as session:
            rows = session.scalars(select(AlertRow).where(AlertRow.cleared.is_(None)))
            return [AlertKey(r.rule, r.site, r.device, r.subject) for r in rows]

    def list_alerts(
        self, *, site: str | None = None, open_only: bool = False, limit: int = 500
    ) -> list[AlertView]:
        with self.sessions() as session:
            query = (
                select(AlertRow, SecurityAlertRow)
                .outerjoin(SecurityAlertRow, SecurityAlertRow.alert_id == AlertRow.id)
                .order_by(AlertRow.id.desc())
                .limit(limit)
            )
            if site is not None:
                query = query.where(AlertRow.site == site)
            if open_only:
                query = query.where(AlertRow.cleared.is_(None))
            return [_view(row, security) for row, security in session.execute(query)]

    def acknowledge(self, alert_id: int, staff: Staff, now: float) -> tuple[AlertView, AlertKey]:
        """Acknowledge as ``staff`` (desk or admin); a momentary alert closes with it.

        The first acknowledgement stands: a second one is refused, so the name on it is
        the person who actually went to the gate. Audited either way.
        """
        if not may(staff.role, "ack"):
            raise AlertError(f"role {staff.role.label} may not acknowledge alerts")
        with self.sessions() as session:
            row = session.get(AlertRow, alert_id)
            if row is None:
                raise AlertError(f"no alert {alert_id}")
            if row.acked_by is not None:
                raise AlertError(f"alert {alert_id} is already acknowledged")
            row.acked_by = staff.login
            row.acked_at = now
            if row.rule in MOMENTARY and row.cleared is None:
                row.cleared = now
            session.add(
                AuditEntry(
                    time=now,
                    actor=staff.login,
                    action="ack",
                    site=row.site,
                    device=row.device,
                    args=json.dumps({"alert": row.id}),
                    outcome="ok",
                )
            )
            session.commit()
            security = session.get(SecurityAlertRow, row.id)
            return _view(row, security), AlertKey(row.rule, row.site, row.device, row.subject)

    def recipients(self, alert: AlertView) -> list[Staff]:
        """Active staff to tell at once: those of the alert's site, and those of every site."""
        return self.recipients_of([alert])[alert.id]

    def recipients_of(self, alerts: list[AlertView]) -> dict[int, list[Staff]]:
        """:meth:`recipients` of each alert (by id), in one query for a whole burst."""
        sites = {alert.site for alert in alerts}
        with self.sessions() as session:
            rows = session.scalars(
                select(StaffAccount).where(
                    StaffAccount.active.is_(True),
                    or_(StaffAccount.site.in_(sites), StaffAccount.site.is_(None)),
                )
            )
            staff = [
                (row.site, staff_of(row)) for row in rows if Role.parse(row.role) >= Role.VIEWER
            ]
        return {
            alert.id: [who for site, who in staff if site in (None, alert.site)] for alert in alerts
        }
