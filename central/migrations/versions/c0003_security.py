"""Security alerts: their severity, count, evidence and last sighting; events by item id.

Revision ID: c0003
Revises: c0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_alerts",
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_security_alerts"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_security_alerts_alert_id_alerts"
        ),
    )
    # The cloned-tag join looks an item id up among a site's events.
    op.create_index("ix_events_site_item_id", "events", ["site", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_events_site_item_id", table_name="events")
    op.drop_table("security_alerts")
