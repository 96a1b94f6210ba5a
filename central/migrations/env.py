"""Alembic environment of central's database (see :func:`central.db.migrate`).

One history for the whole of central: c0001 (the fleet) and later revisions
(staff accounts, alerts, audit) all hang from :data:`central.base.Base`.
"""

from __future__ import annotations

from central.db import run_migrations

run_migrations()
