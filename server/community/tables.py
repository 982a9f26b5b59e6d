"""The community's tables: topic communities and their members, posts (a mentor's article or a
member's question), replies, and reports of either waiting for moderation. Migration 0016."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, UTCDateTime

KINDS = ("post", "question")


class Community(Base):
    """A topic ("Interview prep"): its page lists its members' posts and questions."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Membership(Base):
    """A user in a community: they may ask there, reply there (and post, if a mentor)."""

    __tablename__ = "community_members"

    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Post(Base):
    """A mentor's post (Markdown, an optional cover image; in a community or only on the
    mentor's page and the feed) or a member's question in a community. Deleted by its author or
    hidden by a moderator, it stays stored but leaves every page."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_author_created", "author_id", "created_at"),
        Index("ix_posts_community_created", "community_id", "created_at"),
        Index("ix_posts_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # post, question
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text, default="")
    cover: Mapped[str | None] = mapped_column(String(100), nullable=True)  # a file in covers/
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hidden_note: Mapped[str] = mapped_column(String(500), default="")


class Reply(Base):
    """A reply under a post or a question (Markdown)."""

    __tablename__ = "post_replies"
    __table_args__ = (Index("ix_post_replies_post_created", "post_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hidden_note: Mapped[str] = mapped_column(String(500), default="")


class CommunityReport(Base):
    """Someone's report of a post or a reply (`subject_type`), waiting for a moderator's
    decision (hide or keep); one per reporter and subject."""

    __tablename__ = "community_reports"
    __table_args__ = (
        Index(
            "uq_community_reports_subject_reporter",
            "subject_type",
            "subject_id",
            "reporter_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(10))  # post, reply
    subject_id: Mapped[int] = mapped_column(Integer)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)  # hide, keep
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")
