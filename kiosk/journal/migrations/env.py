"""Alembic environment for the engine journal's database (see :func:`kiosk.db.run_migrations`)."""

from __future__ import annotations

from kiosk.db import run_migrations
from kiosk.journal.models import Base

run_migrations(Base.metadata)
