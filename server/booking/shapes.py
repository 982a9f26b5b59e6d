"""How mentors, bookings and requests look in the JSON API (and to the pages that reuse it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.booking.mentors import MentorCard
from server.db.models import Booking, BookingRequest, MentorProfile
from server.http.formats import iso

# The review note of a demo profile (server/booking/demo.py): pages mark it "Demo".
DEMO_NOTE = "demo data"


def photo_url(profile: MentorProfile) -> str | None:
    return f"/media/photos/{profile.photo}" if profile.photo else None


def mentor_json(profile: MentorProfile, name: str) -> dict[str, Any]:
    return {
        "id": profile.user_id,
        "name": name,
        "headline": profile.headline,
        "bio": profile.bio,
        "skills": profile.skills,
        "institution": profile.institution,
        "languages": profile.languages,
        "price_paise": profile.price_paise,
        "photo_url": photo_url(profile),
        "timezone": profile.timezone,
        "vacation": profile.vacation,
        "allow_recording": profile.allow_recording,
        "status": profile.status,
        "review_note": profile.review_note,
        "applied_at": iso(profile.applied_at),
    }


def card_json(card: MentorCard) -> dict[str, Any]:
    profile = card.profile
    return {
        "id": profile.user_id,
        "name": card.name,
        "headline": profile.headline,
        "skills": profile.skills,
        "institution": profile.institution,
        "languages": profile.languages,
        "price_paise": profile.price_paise,
        "photo_url": photo_url(profile),
        "rating": card.rating.average,
        "reviews": card.rating.count,
        "sessions": card.sessions,
        "next_free_slot": iso(card.next_free_slot),
        "demo": profile.review_note == DEMO_NOTE,
    }


def booking_json(booking: Booking, join_early: timedelta) -> dict[str, Any]:
    return {
        "id": booking.id,
        "mentor_id": booking.mentor_id,
        "mentee_id": booking.mentee_id,
        "starts_at": iso(booking.starts_at),
        "rescheduled_from": iso(booking.rescheduled_from),
        "ends_at": iso(booking.booked_end),
        "duration_seconds": booking.duration_seconds,
        "status": booking.status,
        "topic": booking.topic,
        "agenda": booking.agenda,
        "record": booking.record,
        "amount_paise": booking.amount_paise,
        "hold_expires_at": iso(booking.hold_expires_at)
        if booking.status == "pending_payment"
        else None,
        "join_opens_at": iso(booking.starts_at - join_early),
        "call_started_at": iso(booking.call_started_at),
        "call_ends_at": iso(booking.call_ends_at),
        "cancelled_at": iso(booking.cancelled_at),
        "cancelled_by": booking.cancelled_by,
        "cancel_reason": booking.cancel_reason,
        "refund_paise": booking.refund_paise,
        "no_show_role": booking.no_show_role,
    }


def request_json(item: BookingRequest) -> dict[str, Any]:
    return {
        "id": item.id,
        "mentor_id": item.mentor_id,
        "mentee_id": item.mentee_id,
        "start": iso(item.proposed_start),
        "topic": item.topic,
        "agenda": item.agenda,
        "status": item.status,
        "note": item.note,
        "booking_id": item.booking_id,
        "created_at": iso(item.created_at),
    }
