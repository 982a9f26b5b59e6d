"""The mentors, availability, discovery, booking and administration routes of API.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from aiohttp import web

from billing.gateway import GatewayError
from server.accounts_api import read_body
from server.bookings import (
    Bookings,
    Cancellation,
    Decision,
    NewBooking,
    NewRequest,
    parse_instant,
)
from server.errors import ApiError
from server.invites import invite
from server.mentors import (
    AvailabilityFields,
    MentorCard,
    MentorQuery,
    Mentors,
    ProfileFields,
    Rejection,
)
from server.models import Booking, BookingRequest, MentorProfile, User
from server.money import MONEY, checkout_url
from server.routes import QueryParam, Route
from server.schema import BodyError, parse_query
from server.security import ACCOUNTS, current_user, require_user

log = logging.getLogger("micromentor.bookings")
BOOKINGS = web.AppKey("bookings", Bookings)
MENTORS = web.AppKey("mentors", Mentors)
JOIN_EARLY = web.AppKey("join_early", timedelta)


def iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def query_of(request: web.Request, cls: type[Any]) -> Any:
    try:
        return parse_query(cls, request.query)
    except BodyError as exc:
        raise ApiError(400, "invalid_field", exc.message, exc.field) from None


def require_admin(request: web.Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise ApiError(403, "forbidden", "administrators only")
    return user


def path_id(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(404, "not_found", "not found") from None


# -- shapes ----------------------------------------------------------------------------------


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
        "rating": None,
        "reviews": 0,
        "sessions": card.sessions,
        "next_free_slot": iso(card.next_free_slot),
    }


def booking_json(booking: Booking, join_early: timedelta) -> dict[str, Any]:
    return {
        "id": booking.id,
        "mentor_id": booking.mentor_id,
        "mentee_id": booking.mentee_id,
        "starts_at": iso(booking.starts_at),
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


@dataclass(frozen=True)
class BookingQuery:
    role: Literal["mentor", "mentee", ""] = ""
    status: str = ""
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@dataclass(frozen=True)
class ApplicationQuery:
    status: Literal["pending", "approved", "rejected", ""] = "pending"
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


# -- mentors ---------------------------------------------------------------------------------


async def apply(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, ProfileFields)
    existed = await request.app[MENTORS].profile(user.id)
    profile = await request.app[MENTORS].apply(user, fields)
    return web.json_response(
        {"mentor": mentor_json(profile, user.name)}, status=200 if existed else 201
    )


async def update_profile(request: web.Request) -> web.Response:
    user = require_user(request)
    if await request.app[MENTORS].profile(user.id) is None:
        raise ApiError(403, "not_a_mentor", "apply as a mentor first (POST /api/mentors/apply)")
    profile = await request.app[MENTORS].apply(user, await read_body(request, ProfileFields))
    return web.json_response({"mentor": mentor_json(profile, user.name)})


async def upload_photo(request: web.Request) -> web.Response:
    user = require_user(request)
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "unsupported_media_type", "send the photo as multipart/form-data")
    reader = await request.multipart()
    async for part in reader:
        if getattr(part, "name", None) != "photo":
            continue
        data = bytearray()
        while chunk := await part.read_chunk():  # type: ignore[union-attr]
            data += chunk
            if len(data) > 2 * 1024 * 1024:
                raise ApiError(413, "payload_too_large", "the photo must be at most 2 MB", "photo")
        name = await request.app[MENTORS].save_photo(user.id, bytes(data))
        return web.json_response({"photo_url": f"/media/photos/{name}"})
    raise ApiError(400, "invalid_field", "is required", "photo")


async def photo(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    directory = request.app[MENTORS].photo_dir
    path = (directory / name).resolve()
    if path.parent != directory.resolve() or not path.is_file():
        raise ApiError(404, "not_found", "no such photo")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


def availability_json(
    profile: MentorProfile, windows: list[Any], blocked: list[Any]
) -> dict[str, Any]:
    def hhmm(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    return {
        "timezone": profile.timezone,
        "vacation": profile.vacation,
        "weekly": [
            {"weekday": w.weekday, "start": hhmm(w.start_minute), "end": hhmm(w.end_minute)}
            for w in windows
        ],
        "blocked": [{"start": iso(b.starts_at), "end": iso(b.ends_at)} for b in blocked],
    }


async def get_availability(request: web.Request) -> web.Response:
    user = require_user(request)
    mentors = request.app[MENTORS]
    profile = await mentors.profile(user.id)
    if profile is None:
        raise ApiError(403, "not_a_mentor", "apply as a mentor first")
    return web.json_response(availability_json(profile, *await mentors.availability(user.id)))


async def put_availability(request: web.Request) -> web.Response:
    user = require_user(request)
    mentors = request.app[MENTORS]
    await mentors.set_availability(user, await read_body(request, AvailabilityFields))
    profile = await mentors.profile(user.id)
    assert profile is not None
    return web.json_response(availability_json(profile, *await mentors.availability(user.id)))


async def list_mentors(request: web.Request) -> web.Response:
    query: MentorQuery = query_of(request, MentorQuery)
    cards, total = await request.app[MENTORS].discover(query)
    return web.json_response({"items": [card_json(c) for c in cards], "total": total})


async def visible_profile(request: web.Request) -> tuple[MentorProfile, User]:
    mentor_id = path_id(request, "mentor_id")
    profile = await request.app[MENTORS].profile(mentor_id)
    viewer = current_user(request)
    mine = viewer is not None and (viewer.id == mentor_id or viewer.is_admin)
    user = await request.app[ACCOUNTS].get(mentor_id)
    if profile is None or user is None or (profile.status != "approved" and not mine):
        raise ApiError(404, "not_found", "no such mentor")
    return profile, user


async def get_mentor(request: web.Request) -> web.Response:
    profile, user = await visible_profile(request)
    rate = await request.app[BOOKINGS].cancellation_rate(profile.user_id)
    body = mentor_json(profile, user.name)
    if profile.status == "approved":
        body.pop("review_note")
    body.update(rating=None, reviews=0, recent_reviews=[], cancellation_rate=round(rate, 3))
    return web.json_response(body)


async def mentor_slots(request: web.Request) -> web.Response:
    profile, _user = await visible_profile(request)
    bookings = request.app[BOOKINGS]
    now = bookings.clock()
    raw_from, raw_to = request.query.get("from", ""), request.query.get("to", "")
    start = parse_instant(raw_from, "from") if raw_from else now
    end = parse_instant(raw_to, "to") if raw_to else start + timedelta(days=7)
    if end - start > timedelta(days=62):
        raise ApiError(400, "invalid_field", "ask for at most 62 days at once", "to")
    slots = await bookings.slots(profile.user_id, start, end)
    return web.json_response({"slots": [{"start": iso(s.start), "end": iso(s.end)} for s in slots]})


# -- administration --------------------------------------------------------------------------


async def list_applications(request: web.Request) -> web.Response:
    require_admin(request)
    query: ApplicationQuery = query_of(request, ApplicationQuery)
    rows, total = await request.app[MENTORS].applications(
        query.status or None, query.page, query.per_page
    )
    items = [{**mentor_json(p, u.name), "email": u.email} for p, u in rows]
    return web.json_response({"items": items, "total": total})


async def approve(request: web.Request) -> web.Response:
    require_admin(request)
    profile = await request.app[MENTORS].review(path_id(request, "mentor_id"), True, "")
    user = await request.app[ACCOUNTS].get(profile.user_id)
    return web.json_response({"mentor": mentor_json(profile, user.name if user else "")})


async def reject(request: web.Request) -> web.Response:
    require_admin(request)
    body = await read_body(request, Rejection)
    profile = await request.app[MENTORS].review(path_id(request, "mentor_id"), False, body.note)
    user = await request.app[ACCOUNTS].get(profile.user_id)
    return web.json_response({"mentor": mentor_json(profile, user.name if user else "")})


# -- bookings --------------------------------------------------------------------------------


async def create_booking(request: web.Request) -> web.Response:
    user = require_user(request)
    booking = await request.app[BOOKINGS].create(user, await read_body(request, NewBooking))
    body = {
        "booking": booking_json(booking, request.app[JOIN_EARLY]),
        **await open_order(request, booking),
    }
    return web.json_response(body, status=201)


async def open_order(request: web.Request, booking: Booking) -> dict[str, Any]:
    """The payment order for a new booking; without one the hold is released at once."""
    money = request.app[MONEY]
    try:
        order = await money.open_order(booking)
    except GatewayError as exc:
        log.error("no payment order for booking %s: %s", booking.id, exc)
        await request.app[BOOKINGS].release(booking.id)
        raise ApiError(
            502, "payment_unavailable", "payments are unavailable right now; the slot was not held"
        ) from None
    return {
        "order": {
            "order_id": order.id,
            "key_id": money.gateway.key_id,
            "amount": order.amount_paise,
            "currency": "INR",
            "gateway": money.gateway.name,
        },
        "checkout_url": checkout_url(order.id, booking.id, money.gateway.name),
    }


async def list_bookings(request: web.Request) -> web.Response:
    user = require_user(request)
    query: BookingQuery = query_of(request, BookingQuery)
    rows = await request.app[BOOKINGS].of_user(user, query.role or None, query.status or None)
    start = (query.page - 1) * query.per_page
    items = [booking_json(b, request.app[JOIN_EARLY]) for b in rows[start : start + query.per_page]]
    return web.json_response({"items": items, "total": len(rows)})


async def get_booking(request: web.Request) -> web.Response:
    user = require_user(request)
    booking = await request.app[BOOKINGS].visible(user, path_id(request, "booking_id"))
    return web.json_response({"booking": booking_json(booking, request.app[JOIN_EARLY])})


async def cancel_booking(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, Cancellation)
    booking = await request.app[BOOKINGS].cancel(user, path_id(request, "booking_id"), body.reason)
    await request.app[MONEY].cancelled(booking.id, booking.refund_paise or 0)
    return web.json_response({"booking": booking_json(booking, request.app[JOIN_EARLY])})


async def booking_invite(request: web.Request) -> web.Response:
    user = require_user(request)
    booking = await request.app[BOOKINGS].visible(user, path_id(request, "booking_id"))
    if booking.status in ("pending_payment", "expired"):
        raise ApiError(409, "not_confirmed", "an invite exists once the booking is paid")
    accounts = request.app[ACCOUNTS]
    mentor, mentee = await accounts.get(booking.mentor_id), await accounts.get(booking.mentee_id)
    assert mentor is not None and mentee is not None
    base = f"{request.scheme}://{request.host}"
    body = invite(booking, mentor, mentee, base_url=base)
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="micromentor-{booking.id}.ics"'},
    )


async def create_request(request: web.Request) -> web.Response:
    user = require_user(request)
    item = await request.app[BOOKINGS].request(user, await read_body(request, NewRequest))
    return web.json_response({"request": request_json(item)}, status=201)


async def list_requests(request: web.Request) -> web.Response:
    user = require_user(request)
    role = request.query.get("role")
    items = await request.app[BOOKINGS].requests_of(
        user, role if role in ("mentor", "mentee") else None
    )
    return web.json_response({"items": [request_json(i) for i in items], "total": len(items)})


async def accept_request(request: web.Request) -> web.Response:
    return await _decide(request, True)


async def decline_request(request: web.Request) -> web.Response:
    return await _decide(request, False)


async def _decide(request: web.Request, accept: bool) -> web.Response:
    user = require_user(request)
    note = ""
    if request.can_read_body:
        note = (await read_body(request, Decision)).note
    item, booking = await request.app[BOOKINGS].decide(
        user, path_id(request, "request_id"), accept, note
    )
    body: dict[str, Any] = {"request": request_json(item)}
    if booking is not None:
        body["booking"] = booking_json(booking, request.app[JOIN_EARLY])
        body.update(await open_order(request, booking))
    return web.json_response(body)


M = r"{mentor_id:\d+}"
B = r"{booking_id:\d+}"
R = r"{request_id:\d+}"
PAGE = (
    QueryParam("page", "page number, from 1", "integer"),
    QueryParam("per_page", "items per page, at most 100", "integer"),
)
ROUTES = [
    Route(
        "POST",
        "/api/mentors/apply",
        apply,
        "Apply to mentor (or update the application)",
        "mentors",
        body=ProfileFields,
        status=201,
        errors=(400, 401, 403),
        login=True,
    ),
    Route(
        "PUT",
        "/api/mentors/profile",
        update_profile,
        "Update your mentor profile",
        "mentors",
        body=ProfileFields,
        errors=(400, 401, 403),
        login=True,
    ),
    Route(
        "POST",
        "/api/mentors/photo",
        upload_photo,
        "Upload a profile photo (multipart field `photo`: JPEG, PNG or WebP, at most 2 MB)",
        "mentors",
        errors=(400, 401, 409, 413, 415),
        login=True,
    ),
    Route(
        "GET",
        "/api/mentors/availability",
        get_availability,
        "Your availability",
        "mentors",
        errors=(401, 403),
        login=True,
    ),
    Route(
        "PUT",
        "/api/mentors/availability",
        put_availability,
        "Set weekly windows (your time zone), blocked periods and the vacation switch",
        "mentors",
        body=AvailabilityFields,
        errors=(400, 401, 403),
        login=True,
    ),
    Route(
        "GET",
        "/api/mentors",
        list_mentors,
        "Find approved mentors",
        "mentors",
        errors=(400,),
        query=(
            QueryParam("q", "words in name, headline or skills"),
            QueryParam("skill", "an exact skill"),
            QueryParam("min_rating", "minimum average rating"),
            QueryParam("max_price_paise", "highest price per call", "integer"),
            QueryParam("available_on", "YYYY-MM-DD with a free slot, in `tz`"),
            QueryParam("tz", "the viewer's time zone"),
            QueryParam("sort", "relevance, rating, price or sessions"),
            *PAGE,
        ),
    ),
    Route(
        "GET",
        f"/api/mentors/{M}",
        get_mentor,
        "A mentor's profile and rating summary",
        "mentors",
        errors=(404,),
    ),
    Route(
        "GET",
        f"/api/mentors/{M}/slots",
        mentor_slots,
        "A mentor's free call slots",
        "mentors",
        errors=(400, 404),
        query=(
            QueryParam("from", "start of the range (default now)"),
            QueryParam("to", "end of the range (default a week later)"),
        ),
    ),
    Route(
        "GET",
        "/media/photos/{name}",
        photo,
        "A mentor's photo",
        "mentors",
        kind="text",
        errors=(404,),
    ),
    Route(
        "GET",
        "/api/admin/mentor-applications",
        list_applications,
        "Mentor applications by status (administrators)",
        "admin",
        errors=(401, 403),
        login=True,
        query=(QueryParam("status", "pending, approved or rejected"), *PAGE),
    ),
    Route(
        "PUT",
        f"/api/admin/mentors/{M}/approve",
        approve,
        "Approve a mentor",
        "admin",
        errors=(401, 403, 404),
        login=True,
    ),
    Route(
        "PUT",
        f"/api/admin/mentors/{M}/reject",
        reject,
        "Reject a mentor with a note",
        "admin",
        body=Rejection,
        errors=(400, 401, 403, 404),
        login=True,
    ),
    Route(
        "POST",
        "/api/bookings",
        create_booking,
        "Book a free slot: the booking holds it, pending payment",
        "bookings",
        body=NewBooking,
        status=201,
        errors=(400, 401, 404, 409),
        login=True,
    ),
    Route(
        "GET",
        "/api/bookings",
        list_bookings,
        "Your bookings",
        "bookings",
        errors=(400, 401),
        login=True,
        query=(
            QueryParam("role", "mentor or mentee"),
            QueryParam("status", "a booking status"),
            *PAGE,
        ),
    ),
    Route(
        "GET",
        f"/api/bookings/{B}",
        get_booking,
        "One booking (its participants, admins)",
        "bookings",
        errors=(401, 404),
        login=True,
    ),
    Route(
        "POST",
        f"/api/bookings/{B}/cancel",
        cancel_booking,
        "Cancel; the refund follows the cancellation policy",
        "bookings",
        body=Cancellation,
        errors=(400, 401, 404, 409),
        login=True,
    ),
    Route(
        "GET",
        f"/api/bookings/{B}/invite.ics",
        booking_invite,
        "The calendar invite (a cancelled booking's cancels it)",
        "bookings",
        kind="text",
        errors=(401, 404, 409),
        login=True,
    ),
    Route(
        "POST",
        "/api/booking-requests",
        create_request,
        "Propose a time outside the mentor's availability",
        "bookings",
        body=NewRequest,
        status=201,
        errors=(400, 401, 404),
        login=True,
    ),
    Route(
        "GET",
        "/api/booking-requests",
        list_requests,
        "Requests you made or received",
        "bookings",
        errors=(401,),
        login=True,
        query=(QueryParam("role", "mentor or mentee"),),
    ),
    Route(
        "PUT",
        f"/api/booking-requests/{R}/accept",
        accept_request,
        "Accept a request: a booking pending payment",
        "bookings",
        errors=(401, 404, 409),
        login=True,
    ),
    Route(
        "PUT",
        f"/api/booking-requests/{R}/decline",
        decline_request,
        "Decline a request with a note",
        "bookings",
        body=Decision,
        errors=(401, 404, 409),
        login=True,
    ),
]
