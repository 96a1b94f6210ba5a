"""Alembic environment for the ILS simulator's database (see :func:`engine.db.run_migrations`)."""

from __future__ import annotations

from engine.db import run_migrations
from ilssim.models import Base

run_migrations(Base.metadata)
