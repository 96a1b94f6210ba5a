"""The journal, the offline patron cache, PIN locks and hourly statistics.

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
        "transactions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("session_id", sa.String(32)),
        sa.Column("patron_id", sa.String(64)),
        sa.Column("patron_ref", sa.String(16)),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("tag_uids", sa.Text, nullable=False),
        sa.Column("offline", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("transaction_date", sa.DateTime, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("due_date", sa.String(32)),
        sa.Column("ils_message", sa.Text),
        sa.Column("security_target", sa.Boolean),
        sa.Column("security_verified", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("detail", sa.Text),
        sa.Column("replayed_at", sa.DateTime),
    )
    op.create_index("ix_transactions_state", "transactions", ["state"])
    op.create_index("ix_transactions_item_id", "transactions", ["item_id"])
    op.create_table(
        "journal_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "transaction_id", sa.String(32), sa.ForeignKey("transactions.id"), nullable=False
        ),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_journal_steps_transaction_id", "journal_steps", ["transaction_id"])
    op.create_table(
        "patron_cache",
        sa.Column("patron_ref", sa.String(16), primary_key=True),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("patron_type", sa.String(32)),
        sa.Column("pin_hash", sa.String(128)),
        sa.Column("display_name", sa.String(64)),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pin_locks",
        sa.Column("patron_ref", sa.String(16), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime),
    )
    op.create_table(
        "hourly_counts",
        sa.Column("hour", sa.DateTime, primary_key=True),
        sa.Column("kind", sa.String(24), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("hourly_counts", "pin_locks", "patron_cache", "journal_steps", "transactions"):
        op.drop_table(table)
