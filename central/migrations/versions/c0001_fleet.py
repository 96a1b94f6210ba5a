"""The fleet: devices, events, hourly statistics.

Revision ID: c0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("state_since", sa.DateTime(), nullable=True),
        sa.Column("state_time", sa.DateTime(), nullable=True),
        sa.Column("version", sa.String(512), nullable=True),
        sa.Column("telemetry_time", sa.DateTime(), nullable=True),
        sa.Column("uptime", sa.Float(), nullable=True),
        sa.Column("readers", sa.JSON(), nullable=True),
        sa.Column("queues", sa.JSON(), nullable=True),
        sa.Column("versions", sa.JSON(), nullable=True),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("site", "device", name=op.f("pk_devices")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("received", sa.DateTime(), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_site_time", "events", ["site", "time"])
    op.create_index("ix_events_time", "events", ["time"])
    op.create_index("ix_events_kind_time", "events", ["kind", "time"])
    op.create_table(
        "hourly_stats",
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "site", "device", "hour", "metric", "key", name=op.f("pk_hourly_stats")
        ),
    )
    op.create_index("ix_hourly_stats_site_hour", "hourly_stats", ["site", "hour"])


def downgrade() -> None:
    op.drop_index("ix_hourly_stats_site_hour", table_name="hourly_stats")
    op.drop_table("hourly_stats")
    op.drop_index("ix_events_kind_time", table_name="events")
    op.drop_index("ix_events_time", table_name="events")
    op.drop_index("ix_events_site_time", table_name="events")
    op.drop_table("events")
    op.drop_table("devices")
