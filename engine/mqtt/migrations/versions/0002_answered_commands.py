"""Command ids the device has answered, kept across restarts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mqtt_answered_commands",
        sa.Column("command_id", sa.String(32), primary_key=True),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("finished", sa.Boolean, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("detail", sa.String(512), nullable=True),
    )
    op.create_index(
        "ix_mqtt_answered_commands_received_at", "mqtt_answered_commands", ["received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_mqtt_answered_commands_received_at", "mqtt_answered_commands")
    op.drop_table("mqtt_answered_commands")
