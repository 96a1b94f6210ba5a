"""Catalogue, circulation and transaction log: the first schema of the ILS simulator.

Enumerated codes are plain VARCHARs holding the SIP2 code or state name;
times are naive UTC (see ilssim.models.UTCDateTime).

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_institutions")),
    )
    op.create_table(
        "transaction_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("terminal", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("patron_barcode", sa.String(length=64), nullable=True),
        sa.Column("item_barcode", sa.String(length=64), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_log")),
    )
    with op.batch_alter_table("transaction_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transaction_log_at"), ["at"], unique=False)

    op.create_table(
        "branches",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("institution_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"],
            ["institutions.code"],
            name=op.f("fk_branches_institution_code_institutions"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_branches")),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("bib_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=3), nullable=False),
        sa.Column("call_number", sa.String(length=64), nullable=False),
        sa.Column("home_branch_code", sa.String(length=32), nullable=False),
        sa.Column("current_branch_code", sa.String(length=32), nullable=False),
        sa.Column("destination_branch_code", sa.String(length=32), nullable=True),
        sa.Column("sort_bin", sa.String(length=16), nullable=True),
        sa.Column("owner_code", sa.String(length=32), nullable=False),
        sa.Column("set_parts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("security_marker", sa.String(length=2), nullable=False),
        sa.Column("loan_fee", sa.Integer(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_branch_code"],
            ["branches.code"],
            name=op.f("fk_items_current_branch_code_branches"),
        ),
        sa.ForeignKeyConstraint(
            ["destination_branch_code"],
            ["branches.code"],
            name=op.f("fk_items_destination_branch_code_branches"),
        ),
        sa.ForeignKeyConstraint(
            ["home_branch_code"], ["branches.code"], name=op.f("fk_items_home_branch_code_branches")
        ),
        sa.ForeignKeyConstraint(
            ["owner_code"], ["institutions.code"], name=op.f("fk_items_owner_code_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("barcode", name=op.f("uq_items_barcode")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_bib_id"), ["bib_id"], unique=False)

    op.create_table(
        "patrons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("pin", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("patron_type", sa.String(length=16), nullable=False),
        sa.Column("loan_limit", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("block_reason", sa.Text(), nullable=True),
        sa.Column("block_source", sa.String(length=16), nullable=True),
        sa.Column("card_lost", sa.Boolean(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("home_branch_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["home_branch_code"],
            ["branches.code"],
            name=op.f("fk_patrons_home_branch_code_branches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrons")),
        sa.UniqueConstraint("barcode", name=op.f("uq_patrons_barcode")),
    )
    op.create_table(
        "sort_bin_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_code", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=3), nullable=True),
        sa.Column("call_number_prefix", sa.String(length=32), nullable=True),
        sa.Column("bin", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_code"], ["branches.code"], name=op.f("fk_sort_bin_rules_branch_code_branches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sort_bin_rules")),
    )
    with op.batch_alter_table("sort_bin_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sort_bin_rules_branch_code"), ["branch_code"], unique=False
        )

    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("bib_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("item_level", sa.Boolean(), nullable=False),
        sa.Column("pickup_branch_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.Column("ready_until", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_holds_item_id_items")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_holds_patron_id_patrons")
        ),
        sa.ForeignKeyConstraint(
            ["pickup_branch_code"],
            ["branches.code"],
            name=op.f("fk_holds_pickup_branch_code_branches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_bib_id"), ["bib_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("terminal", sa.String(length=64), nullable=False),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.Column("return_offline", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_loans_item_id_items")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_loans_patron_id_patrons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_patron_open", ["patron_id", "returned_at"], unique=False)
        batch_op.create_index(
            "uq_loans_open_item",
            ["item_id"],
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_type", sa.String(length=2), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        sa.Column("terminal", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_payments_patron_id_patrons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_payments_transaction_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("fee_type", sa.String(length=2), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_fees_item_id_items")),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_fees_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_fees_patron_id_patrons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fees")),
    )
    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fees_patron_id"), ["patron_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fees_patron_id"))

    op.drop_table("fees")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_patron_id"))

    op.drop_table("payments")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_loans_open_item",
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )
        batch_op.drop_index("ix_loans_patron_open")

    op.drop_table("loans")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_patron_id"))
        batch_op.drop_index(batch_op.f("ix_holds_item_id"))
        batch_op.drop_index(batch_op.f("ix_holds_bib_id"))

    op.drop_table("holds")
    with op.batch_alter_table("sort_bin_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sort_bin_rules_branch_code"))

    op.drop_table("sort_bin_rules")
    op.drop_table("patrons")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_bib_id"))

    op.drop_table("items")
    op.drop_table("branches")
    with op.batch_alter_table("transaction_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transaction_log_at"))

    op.drop_table("transaction_log")
    op.drop_table("institutions")
