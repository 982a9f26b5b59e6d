"""a booking moved once by its mentee: when, and from which start

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("rescheduled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("rescheduled_from", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("rescheduled_from")
        batch.drop_column("rescheduled_at")
