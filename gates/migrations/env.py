"""Alembic environment of the gate's database (see :func:`kiosk.db.run_migrations`)."""

from __future__ import annotations

from gates.store import Base
from kiosk.db import run_migrations

run_migrations(Base.metadata)
