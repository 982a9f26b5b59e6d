"""free calls and credits: sponsors, campus verification, grants

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sponsors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("domains", sa.String(500), nullable=False),
        sa.Column("rule", sa.String(10), nullable=False, server_default="weekly"),
        sa.Column("free_calls", sa.Integer(), nullable=False, server_default="2"),
        sa.Column("term_credits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("term_starts", sa.DateTime(), nullable=True),
        sa.Column("term_ends", sa.DateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "sponsor_topups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_sponsor_topups_sponsor_id", "sponsor_topups", ["sponsor_id"])
    op.create_table(
        "campus_addresses",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
    )
    op.create_index(
        "uq_campus_addresses_verified_email",
        "campus_addresses",
        ["email"],
        unique=True,
        sqlite_where=sa.text("verified_at IS NOT NULL"),
        postgresql_where=sa.text("verified_at IS NOT NULL"),
    )
    op.create_table(
        "credit_uses",
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_credit_uses_user_id", "credit_uses", ["user_id"])
    op.create_index("ix_credit_uses_sponsor_id", "credit_uses", ["sponsor_id"])
    op.create_index("ix_credit_uses_used_at", "credit_uses", ["used_at"])
    op.add_column("bookings", sa.Column("sponsor_id", sa.Integer(), nullable=True))
    op.create_index("ix_bookings_sponsor_id", "bookings", ["sponsor_id"])


def downgrade() -> None:
    op.drop_index("ix_bookings_sponsor_id", "bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("sponsor_id")
    for index in ("ix_credit_uses_used_at", "ix_credit_uses_sponsor_id", "ix_credit_uses_user_id"):
        op.drop_index(index, "credit_uses")
    op.drop_table("credit_uses")
    op.drop_index("uq_campus_addresses_verified_email", "campus_addresses")
    op.drop_table("campus_addresses")
    op.drop_index("ix_sponsor_topups_sponsor_id", "sponsor_topups")
    op.drop_table("sponsor_topups")
    op.drop_table("sponsors")
