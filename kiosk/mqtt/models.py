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
