"""bookings with the call's clock, and chat lines

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = (
    "'pending_payment', 'confirmed', 'in_call', 'completed', 'cancelled', 'expired', 'no_show'"
)


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mentor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("mentee_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("call_started_at", sa.DateTime(), nullable=True),
        sa.Column("call_ends_at", sa.DateTime(), nullable=True),
        sa.Column("call_ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(20), nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_bookings_status"),
        sa.CheckConstraint("mentor_id <> mentee_id", name="ck_bookings_two_people"),
    )
    op.create_index("ix_bookings_mentor_starts", "bookings", ["mentor_id", "starts_at"])
    op.create_index("ix_bookings_mentee_starts", "bookings", ["mentee_id", "starts_at"])
    op.create_table(
        "chat_lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), nullable=False),
        sa.Column("sender_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_chat_lines_booking_at", "chat_lines", ["booking_id", "at"])


def downgrade() -> None:
    op.drop_table("chat_lines")
    op.drop_table("bookings")
