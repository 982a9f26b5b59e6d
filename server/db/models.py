"""Database tables (SQLAlchemy 2 declarative). Times are stored in UTC and read back aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("mentee", "mentor", "both")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite keeps no zone); refuses naive input; returns aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by an administrator: a suspended user cannot log in and has no sessions.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    suspended_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")

    @property
    def is_mentor(self) -> bool:
        return self.role in ("mentor", "both")

    @property
    def is_mentee(self) -> bool:
        return self.role in ("mentee", "both")


class LoginFailure(Base):
    """One failed login, kept for the throttling window; counted per account and address, and
    per address."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
        Index("ix_login_failures_email_address_at", "email", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginSession(Base):
    """One login. The cookie carries a random token; only its SHA-256 is stored, so the table
    cannot be replayed as cookies. Deleting the row ends the login at once, wherever it is."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SignUp(Base):
    """An account created from an address, kept for the registration window (rate limit)."""

    __tablename__ = "sign_ups"
    __table_args__ = (Index("ix_sign_ups_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# Bookings that hold their time: nobody else may book it.
LIVE_STATUSES = ("pending_payment", "confirmed", "in_call")
LIVE_CONDITION = "status IN ('pending_payment', 'confirmed', 'in_call')"
# Bookings whose call may be joined (and whose call, once placed, is open on a node).
JOINABLE = ("confirmed", "in_call")
BOOKING_STATUSES = (
    "pending_payment",
    "confirmed",
    "in_call",
    "completed",
    "cancelled",
    "expired",
    "no_show",
)


class Booking(Base):
    """A booked call between a mentor and a mentee. The call's clock lives here too."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_mentor_starts", "mentor_id", "starts_at"),
        Index("ix_bookings_mentee_starts", "mentee_id", "starts_at"),
        # Two live bookings of one mentor never start together (the booking code also checks
        # overlaps inside a serialised transaction; this is the database's own guard).
        Index(
            "uq_bookings_live_mentor_start",
            "mentor_id",
            "starts_at",
            unique=True,
            sqlite_where=text(LIVE_CONDITION),
            postgresql_where=text(LIVE_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Fixed when mentor and mentee are first connected together; survives restarts.
    call_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    call_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    call_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    agenda: Mapped[str] = mapped_column(String(500), default="")
    record: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_paise: Mapped[int] = mapped_column(Integer, default=0)
    # An unpaid booking holds its slot until then; past it, the booking expires.
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A booking can be moved once, by its mentee: when, and the start it had before.
    rescheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rescheduled_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(10), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    refund_paise: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Who never came, for a no_show: "mentor", "mentee" or "both".
    no_show_role: Mapped[str | None] = mapped_column(String(10), nullable=True)
    together_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # The booking's money: unpaid, held (escrow), settled or refunded (billing/flows.py).
    money_state: Mapped[str] = mapped_column(String(10), default="unpaid")
    payment_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    paid_paise: Mapped[int] = mapped_column(Integer, default=0)
    # A free call or credit: the sponsor (server/credits) whose wallet paid instead of a card.
    sponsor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # When each side's media first connected: who came, for the outcome of the call.
    mentor_connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mentee_connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def booked_end(self) -> datetime:
        return self.starts_at + timedelta(seconds=self.duration_seconds)

    def other_than(self, user_id: int) -> int:
        """The other participant's id, for one of the two."""
        return self.mentee_id if user_id == self.mentor_id else self.mentor_id

    def role_of(self, user_id: int) -> str | None:
        if user_id == self.mentor_id:
            return "mentor"
        if user_id == self.mentee_id:
            return "mentee"
        return None


def call_outcome(booking: Booking) -> Literal["completed", "mentor_no_show", "mentee_no_show"]:
    """What the money side needs of a finished call: did the mentor earn it?"""
    if booking.status == "no_show" and booking.no_show_role in ("mentor", "both"):
        return "mentor_no_show"
    if booking.status == "no_show" and booking.no_show_role == "mentee":
        return "mentee_no_show"
    return "completed"


class ChatLine(Base):
    __tablename__ = "chat_lines"
    __table_args__ = (
        Index("ix_chat_lines_booking_at", "booking_id", "at"),
        Index("ix_chat_lines_sender_at", "sender_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Posted from a draft the assistant wrote (server/assistant/), accepted by the sender.
    drafted_by_assistant: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class Attachment(Base):
    """A file sent with a message: stored under the data directory as `stored_as`, its type
    read from its content."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("chat_lines.id"), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_as: Mapped[str] = mapped_column(String(80))


class ConversationRead(Base):
    """How far a participant has read a booking's conversation (its read receipt)."""

    __tablename__ = "conversation_reads"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_read_id: Mapped[int] = mapped_column(Integer, default=0)
    # The newest message already counted in an unread-message digest mail.
    mailed_up_to: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


MENTOR_STATUSES = ("pending", "approved", "rejected")


class MentorProfile(Base):
    """A mentor's public profile, which is also their application until approved."""

    __tablename__ = "mentor_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    headline: Mapped[str] = mapped_column(String(120))
    bio: Mapped[str] = mapped_column(Text)
    skills: Mapped[list[str]] = mapped_column(JSON)
    # "|dsa|system design|": lower-case skills between bars, for exact-skill filtering in SQL.
    skills_key: Mapped[str] = mapped_column(String(1200))
    institution: Mapped[str] = mapped_column(String(120))
    languages: Mapped[list[str]] = mapped_column(JSON)
    price_paise: Mapped[int] = mapped_column(Integer)
    photo: Mapped[str | None] = mapped_column(String(80), nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    review_note: Mapped[str] = mapped_column(String(500), default="")
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Kolkata")
    vacation: Mapped[bool] = mapped_column(Boolean, default=False)
    # The mentor lets mentees ask for a recording of the call when booking.
    allow_recording: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class AvailabilityWindow(Base):
    """A weekly window in the mentor's own time zone: weekday 0 is Monday."""

    __tablename__ = "availability_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class BlockedPeriod(Base):
    __tablename__ = "blocked_periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BookingRequest(Base):
    """A mentee's proposed time outside the mentor's published availability."""

    __tablename__ = "booking_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    proposed_start: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(String(100))
    agenda: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(500), default="")
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PaymentOrder(Base):
    """A gateway order for one booking; the signature of a payment is checked against it."""

    __tablename__ = "payment_orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    amount_paise: Mapped[int] = mapped_column(Integer)
    gateway: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))  # created, paid
    payment_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    booking_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(60), index=True)
    amount_paise: Mapped[int] = mapped_column(Integer)


class WebhookEvent(Base):
    """A gateway event already applied: the same event id arriving again changes nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefundRecord(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    payment_id: Mapped[str] = mapped_column(String(40))
    amount_paise: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    gateway_refund_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # pending, requested, processed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SimulatedPayment(Base):
    """A payment taken by the local checkout simulator (no keys configured): no money moved."""

    __tablename__ = "simulated_payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), index=True)
    amount_paise: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


PAYOUT_STATUSES = ("pending", "processing", "completed", "failed")


class Payout(Base):
    __tablename__ = "payouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount_paise: Mapped[int] = mapped_column(Integer)  # taken from the wallet
    tds_paise: Mapped[int] = mapped_column(Integer)  # withheld of it
    status: Mapped[str] = mapped_column(String(12))
    method: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str] = mapped_column(String(80), default="")
    batch: Mapped[str] = mapped_column(String(20), default="")  # "2026-W47" for weekly ones
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PayoutAccount(Base):
    """Where a mentor is paid: UPI or bank details, encrypted at rest (Fernet)."""

    __tablename__ = "payout_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    details_encrypted: Mapped[str] = mapped_column(Text)
    masked: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DomainEvent(Base):
    """Something that happened (a booking confirmed, a payout settled), written in the same
    transaction as the change itself; the notifications worker turns it into notifications,
    mail and reminders, once."""

    __tablename__ = "domain_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class Job(Base):
    """Work due at a time (a reminder): claimed by one worker until `claimed_until`, done once."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_kind_subject", "kind", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    subject_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxMail(Base):
    """A mail to send, written in the same transaction as its cause; sent by the delivery job."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str] = mapped_column(String(100), default="")
    attachment_type: Mapped[str] = mapped_column(String(60), default="")
    attachment: Mapped[str] = mapped_column(Text, default="")  # base64
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class Notification(Base):
    """One line in a user's in-app list."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EmailOptOut(Base):
    """A kind of mail a user has turned off (in settings or by the unsubscribe link)."""

    __tablename__ = "email_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)


class Review(Base):
    """A mentee's rating of one completed call (one per booking), and the mentor's one reply.
    Hidden by moderation, it stays stored but leaves the public page and the averages."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_mentor_created", "mentor_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hidden_note: Mapped[str] = mapped_column(String(500), default="")


class ReviewReport(Base):
    """Someone's report of a review, waiting for a moderator's decision (hide or keep)."""

    __tablename__ = "review_reports"
    __table_args__ = (
        Index("uq_review_reports_review_reporter", "review_id", "reporter_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)  # hide, keep
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")


class Dispute(Base):
    """A mentee's complaint about a call (one per booking), and the administrator's decision:
    no refund, or a partial or full refund posted as a reversal in the ledger."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open, decided
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)  # none, partial, full
    refund_paise: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(1000), default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """One administrator's action: who, what, on what, when, and the values before and after.
    Written in the same transaction as the action (server/db/audit.py); never edited."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(1000), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Node(Base):
    """A server process sharing this database ([cluster]): alive while its heartbeat is fresh."""

    __tablename__ = "nodes"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(String(300))  # where pages reach its call sockets
    ice_addresses: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    open_calls: Mapped[int] = mapped_column(Integer, default=0)


class CallPlacement(Base):
    """Which node holds a booking's call. Written by the first join (one row per booking, so
    simultaneous first joins agree); its lease is the node's heartbeat: when the node is dead,
    the next join moves the call to a live one."""

    __tablename__ = "call_placements"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    node: Mapped[str] = mapped_column(String(100), index=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    moves: Mapped[int] = mapped_column(Integer, default=0)  # times it left a dead node
