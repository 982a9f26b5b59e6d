"""longer messages, message attachments, the unread-message digest's mark, a sender index
for the message rate limit, a jobs index for finding a user's pending digest

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_lines") as batch:
        batch.alter_column("text", type_=sa.Text(), existing_type=sa.String(1000))
    op.create_index("ix_chat_lines_sender_at", "chat_lines", ["sender_id", "at"])
    op.create_index("ix_jobs_kind_subject", "jobs", ["kind", "subject_id"])
    with op.batch_alter_table("conversation_reads") as batch:
        batch.add_column(
            sa.Column("mailed_up_to", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("chat_lines.id"), nullable=False),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("content_type", sa.String(60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored_as", sa.String(80), nullable=False),
        sa.UniqueConstraint("line_id", name="uq_attachments_line_id"),
    )
    op.create_index("ix_attachments_booking_id", "attachments", ["booking_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_booking_id", "attachments")
    op.drop_table("attachments")
    with op.batch_alter_table("conversation_reads") as batch:
        batch.drop_column("mailed_up_to")
    op.drop_index("ix_jobs_kind_subject", "jobs")
    op.drop_index("ix_chat_lines_sender_at", "chat_lines")
    with op.batch_alter_table("chat_lines") as batch:
        batch.alter_column("text", type_=sa.String(1000), existing_type=sa.Text())
