"""Alembic environment of the return machine's database (see :func:`engine.db.run_migrations`)."""

from __future__ import annotations

from engine.db import run_migrations
from sorter.store import Base

run_migrations(Base.metadata)
