"""posts and communities: topic communities and members, posts and questions, replies, reports

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The communities a new server starts with; administrators add more.
SEEDED = (
    ("interview-prep", "Interview prep", "Mock questions, coding rounds, system design and HR."),
    ("data-science", "Data science", "Statistics, machine learning, notebooks and careers."),
    ("career-guidance", "Career guidance", "Internships, first jobs, higher studies, switching."),
)


def upgrade() -> None:
    communities = op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(60), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.UniqueConstraint("slug", name="uq_communities_slug"),
        sa.UniqueConstraint("name", name="uq_communities_name"),
    )
    op.create_table(
        "community_members",
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("communities.id"), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_community_members_user_id", "community_members", ["user_id"])
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("communities.id"), nullable=True),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("cover", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_note", sa.String(500), nullable=False),
    )
    op.create_index("ix_posts_author_created", "posts", ["author_id", "created_at"])
    op.create_index("ix_posts_community_created", "posts", ["community_id", "created_at"])
    op.create_index("ix_posts_kind_created", "posts", ["kind", "created_at"])
    op.create_table(
        "post_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_note", sa.String(500), nullable=False),
    )
    op.create_index("ix_post_replies_post_created", "post_replies", ["post_id", "created_at"])
    op.create_table(
        "community_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_type", sa.String(10), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision", sa.String(10), nullable=True),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
    )
    op.create_index(
        "uq_community_reports_subject_reporter",
        "community_reports",
        ["subject_type", "subject_id", "reporter_id"],
        unique=True,
    )
    op.create_index("ix_community_reports_decided_at", "community_reports", ["decided_at"])
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(
        communities,
        [
            {"slug": slug, "name": name, "description": about, "created_at": now}
            for slug, name, about in SEEDED
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_community_reports_decided_at", "community_reports")
    op.drop_index("uq_community_reports_subject_reporter", "community_reports")
    op.drop_table("community_reports")
    op.drop_index("ix_post_replies_post_created", "post_replies")
    op.drop_table("post_replies")
    op.drop_index("ix_posts_kind_created", "posts")
    op.drop_index("ix_posts_community_created", "posts")
    op.drop_index("ix_posts_author_created", "posts")
    op.drop_table("posts")
    op.drop_index("ix_community_members_user_id", "community_members")
    op.drop_table("community_members")
    op.drop_table("communities")
