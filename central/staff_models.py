"""The staff side's tables: staff accounts, API tokens, alerts and the audit log.

They hang from the one declarative ``Base`` (central/base.py) and are created by
alembic revision c0002 (central/migrations/versions/c0002_staff.py); a security alert's own
fields, by c0003. Times are epoch
seconds (floats): the same on SQLite and PostgreSQL, and injected clocks stay exact.
No table holds a patron's id or name; staff names are staff's own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from central.base import Base

__all__ = ["AlertRow", "ApiToken", "AuditEntry", "SecurityAlertRow", "StaffAccount"]


class StaffAccount(Base):
    """A member of staff who may log in: unique login, display name, role, hashed password."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    site: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """The site whose alerts this person is told of at once; None: every site."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[float] = mapped_column(Float)


class ApiToken(Base):
    """One API client: its name, the SHA-256 of its token (never the token), what it may do."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    may_command: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"), nullable=True)
    """Commands and acks through this token are done as this staff member (and role)."""
    created: Mapped[float] = mapped_column(Float)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertRow(Base):
    """An alert as raised: one open row per (rule, site, device, subject) at a time."""

    __tablename__ = "alerts"
    # At most one open alert per key, in the database itself: two central processes that
    # see the same cause raise it once (the second insert fails and is dropped).
    __table_args__ = (
        Index("ix_alerts_open", "cleared", "site"),
        Index(
            "uq_alerts_open_key",
            "key",
            unique=True,
            sqlite_where=text("cleared IS NULL"),
            postgresql_where=text("cleared IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    rule: Mapped[str] = mapped_column(String(32))
    site: Mapped[str] = mapped_column(String(128))
    device: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    raised: Mapped[float] = mapped_column(Float)
    acked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    cleared: Mapped[float | None] = mapped_column(Float, nullable=True)


class SecurityAlertRow(Base):
    """What a security alert has beyond an alert's row (central/security_rules.py): how
    urgent, how often it was seen, its evidence, when it was last seen (its quiet time
    counts from then). The evidence is the security event's closed field list, which has
    no field for a PIN, a patron id or a name (a card is its ``patron_ref``)."""

    __tablename__ = "security_alerts"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=1)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_seen: Mapped[float] = mapped_column(Float)


class AuditEntry(Base):
    """A staff action and, for a command, its result: who, what, to which device, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_time", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    site: Mapped[str | None] = mapped_column(String(128), nullable=True)
    device: Mapped[str | None] = mapped_column(String(128), nullable=True)
    command_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    args: Mapped[str] = mapped_column(Text, default="{}")
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """For a command: None while waiting, then "ok", "failed" or "timeout"."""
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered: Mapped[float | None] = mapped_column(Float, nullable=True)
