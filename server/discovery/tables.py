"""The discovery tables: favourites (a user and a mentor they keep) and a mentee's interests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, UTCDateTime


class Favourite(Base):
    """A mentor a user keeps in their favourites; one row per pair."""

    __tablename__ = "favourites"
    __table_args__ = (Index("ix_favourites_mentor_id", "mentor_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Interests(Base):
    """What a mentee says they want to learn: free-text tags ("python", "interviews"), in the
    order given."""

    __tablename__ = "mentee_interests"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tags: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
