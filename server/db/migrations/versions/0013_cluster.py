"""several nodes on one database: the node registry and where each call lives

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("url", sa.String(300), nullable=False),
        sa.Column("ice_addresses", sa.String(300), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("open_calls", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_nodes_heartbeat_at", "nodes", ["heartbeat_at"])
    op.create_table(
        "call_placements",
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), primary_key=True),
        sa.Column("node", sa.String(100), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("moves", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_call_placements_node", "call_placements", ["node"])


def downgrade() -> None:
    op.drop_index("ix_call_placements_node", "call_placements")
    op.drop_table("call_placements")
    op.drop_index("ix_nodes_heartbeat_at", "nodes")
    op.drop_table("nodes")
