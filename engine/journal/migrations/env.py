"""Alembic environment for the engine journal's database (see :func:`engine.db.run_migrations`)."""

from __future__ import annotations

from engine.db import run_migrations
from engine.journal.models import Base

run_migrations(Base.metadata)
