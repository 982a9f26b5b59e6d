"""mentor profiles and applications, availability, booking holds, cancellations, requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending_payment', 'confirmed', 'in_call')"


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("agenda", sa.String(500), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("record", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("amount_paise", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("hold_expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(10), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("refund_paise", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("no_show_role", sa.String(10), nullable=True))
        batch.add_column(
            sa.Column("together_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("mentor_connected_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("mentee_connected_at", sa.DateTime(), nullable=True))
    # Two live bookings can never start at the same moment with one mentor; the booking code
    # also checks overlaps inside a serialised transaction, this is the database's own guard.
    op.create_index(
        "uq_bookings_live_mentor_start",
        "bookings",
        ["mentor_id", "starts_at"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_table(
        "mentor_profiles",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("headline", sa.String(120), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("skills_key", sa.String(1200), nullable=False),
        sa.Column("institution", sa.String(120), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("price_paise", sa.Integer(), nullable=False),
        sa.Column("photo", sa.String(80), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("review_note", sa.String(500), nullable=False, server_default=""),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Kolkata"),
        sa.Column("vacation", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="ck_mentor_profiles_status"
        ),
        sa.CheckConstraint("price_paise >= 0", name="ck_mentor_profiles_price"),
    )
    op.create_table(
        "availability_windows",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mentor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_availability_weekday"),
        sa.CheckConstraint(
            "0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440",
            name="ck_availability_minutes",
        ),
    )
    op.create_index("ix_availability_windows_mentor_id", "availability_windows", ["mentor_id"])
    op.create_table(
        "blocked_periods",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mentor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_blocked_periods_mentor_id", "blocked_periods", ["mentor_id"])
    op.create_table(
        "booking_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mentor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("mentee_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("proposed_start", sa.DateTime(), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("agenda", sa.String(500), nullable=False, server_default=""),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_booking_requests_mentor_id", "booking_requests", ["mentor_id"])
    op.create_index("ix_booking_requests_mentee_id", "booking_requests", ["mentee_id"])


def downgrade() -> None:
    op.drop_table("booking_requests")
    op.drop_table("blocked_periods")
    op.drop_table("availability_windows")
    op.drop_table("mentor_profiles")
    op.drop_index("uq_bookings_live_mentor_start", "bookings")
    with op.batch_alter_table("bookings") as batch:
        for column in (
            "mentee_connected_at",
            "mentor_connected_at",
            "together_seconds",
            "no_show_role",
            "refund_paise",
            "cancel_reason",
            "cancelled_by",
            "cancelled_at",
            "hold_expires_at",
            "amount_paise",
            "record",
            "agenda",
        ):
            batch.drop_column(column)
