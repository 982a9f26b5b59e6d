"""a mentor can turn recording off: mentees are then not offered a recording when booking

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentor_profiles") as batch:
        batch.add_column(
            sa.Column("allow_recording", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("mentor_profiles") as batch:
        batch.drop_column("allow_recording")
