"""Alembic environment for the MQTT outbox's database (see :func:`engine.db.run_migrations`)."""

from __future__ import annotations

from engine.db import run_migrations
from engine.mqtt.models import Base

run_migrations(Base.metadata)
