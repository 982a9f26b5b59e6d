"""The credits domain's tables: sponsors, their recorded top-ups, students' campus addresses
and each free call or credit used (one row per sponsored booking)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, UTCDateTime


class Sponsor(Base):
    """An institution paying for its students' calls from its sponsor wallet (the ledger's
    `sponsor:<id>` account). Its rule: `weekly`, `free_calls` per rolling window; or `term`,
    `term_credits` between `term_starts` and `term_ends`."""

    __tablename__ = "sponsors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    domains: Mapped[str] = mapped_column(String(500))  # campus email domains, comma-separated
    rule: Mapped[str] = mapped_column(String(10), default="weekly")
    free_calls: Mapped[int] = mapped_column(Integer, default=2)
    term_credits: Mapped[int] = mapped_column(Integer, default=0)
    term_starts: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    term_ends: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def domain_list(self) -> list[str]:
        return [d for d in self.domains.split(",") if d]


class SponsorTopUp(Base):
    """Money an institution sent (a bank transfer), recorded by an administrator."""

    __tablename__ = "sponsor_topups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), index=True)
    amount_paise: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampusAddress(Base):
    """A student's campus email address: verified once its mailed link is opened. One account
    per verified address."""

    __tablename__ = "campus_addresses"
    __table_args__ = (
        Index(
            "uq_campus_addresses_verified_email",
            "email",
            unique=True,
            sqlite_where=text("verified_at IS NOT NULL"),
            postgresql_where=text("verified_at IS NOT NULL"),
        ),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CreditUse(Base):
    """A free call or credit spent on a booking. It counts against the student's allowance
    until the booking is refunded in full (a cancellation the policy refunds wholly, a mentor
    who never came): then it is given back."""

    __tablename__ = "credit_uses"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # free_call or credit
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
