"""Every item the return machine read, where it was sent and whether it got there; staff lines.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sorter_items",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("read_at", sa.DateTime, nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("drop_id", sa.String(36), nullable=True),
        sa.Column("checked_in", sa.Boolean, nullable=False),
        sa.Column("bin", sa.String(32), nullable=True),
        sa.Column("wanted_bin", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("recheck", sa.Boolean, nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.Column("diverted_at", sa.DateTime, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_index("ix_sorter_items_state", "sorter_items", ["state"])
    op.create_table(
        "sorter_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("bin", sa.String(32), nullable=False),
        sa.Column("text_vi", sa.String(400), nullable=False),
        sa.Column("text_en", sa.String(400), nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sorter_reports")
    op.drop_index("ix_sorter_items_state", "sorter_items")
    op.drop_table("sorter_items")
