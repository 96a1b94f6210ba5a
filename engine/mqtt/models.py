"""The outbox table: messages waiting for the broker's acknowledgement.

A row is written before the message is sent and deleted only when the broker
has acknowledged it (QoS 1 PUBACK), so a power cut or a broker outage loses
nothing; at worst a message is sent twice, and consumers drop repeated ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class OutboxRow(Base):
    __tablename__ = "mqtt_outbox"
    # AUTOINCREMENT: an id is never reused, even when the table has been emptied, so the
    # sender's "sent up to id N" cursor can never skip a new row.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """Ascending: the order the messages are sent in."""
    topic: Mapped[str] = mapped_column(String(512))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    retain: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AnsweredCommand(Base):
    """A command id this device has taken (run, refused, or cut short by a restart).

    Kept on disk so that a command delivered again (a retained message, a broker
    re-sending after a reconnect, the same message replayed by anyone) after a
    restart is answered as a duplicate instead of running twice. Rows go once
    they are older than a command could still be accepted (see
    :class:`engine.mqtt.command_log.CommandLog`).
    """

    __tablename__ = "mqtt_answered_commands"

    command_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    command: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    """UTC, by the device's clock: when the command was taken (what pruning goes by)."""
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    """False while it runs: still False after a restart means it was cut short."""
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(String(512), nullable=True)
