"""payments: gateway orders, the ledger, webhook events, refunds, simulated payments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(
            sa.Column("money_state", sa.String(10), nullable=False, server_default="unpaid")
        )
        batch.add_column(sa.Column("payment_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("paid_paise", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "payment_orders",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_payment_orders_booking_id", "payment_orders", ["booking_id"])
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("key", name="uq_ledger_transactions_key"),
    )
    op.create_index("ix_ledger_transactions_booking_id", "ledger_transactions", ["booking_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "transaction_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=False
        ),
        sa.Column("account", sa.String(60), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
    )
    op.create_index("ix_ledger_entries_transaction_id", "ledger_entries", ["transaction_id"])
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account"])
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("gateway_refund_id", sa.String(40), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_refunds_idempotency_key"),
    )
    op.create_index("ix_refunds_booking_id", "refunds", ["booking_id"])
    op.create_table(
        "simulated_payments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_simulated_payments_order_id", "simulated_payments", ["order_id"])


def downgrade() -> None:
    for table in (
        "simulated_payments",
        "refunds",
        "webhook_events",
        "ledger_entries",
        "ledger_transactions",
        "payment_orders",
    ):
        op.drop_table(table)
    with op.batch_alter_table("bookings") as batch:
        for column in ("paid_paise", "payment_id", "money_state"):
            batch.drop_column(column)
