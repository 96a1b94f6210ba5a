"""Alembic environment for the MQTT outbox's database (see :func:`kiosk.db.run_migrations`)."""

from __future__ import annotations

from kiosk.db import run_migrations
from kiosk.mqtt.models import Base

run_migrations(Base.metadata)
