"""assistant drafts in conversations

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A message posted from a draft the assistant wrote and its sender accepted.
    with op.batch_alter_table("chat_lines") as batch:
        batch.add_column(
            sa.Column(
                "drafted_by_assistant", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_lines") as batch:
        batch.drop_column("drafted_by_assistant")
