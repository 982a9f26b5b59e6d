"""payouts and payout accounts (details encrypted at rest)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mentor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
        sa.Column("tds_paise", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False, server_default=""),
        sa.Column("batch", sa.String(20), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed')", name="ck_payouts_status"
        ),
        sa.CheckConstraint("amount_paise > 0 AND tds_paise >= 0", name="ck_payouts_amounts"),
    )
    op.create_index("ix_payouts_mentor_id", "payouts", ["mentor_id"])
    op.create_table(
        "payout_accounts",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("details_encrypted", sa.Text(), nullable=False),
        sa.Column("masked", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payout_accounts")
    op.drop_table("payouts")
