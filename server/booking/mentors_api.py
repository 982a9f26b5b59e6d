"""The mentors API: applying, the profile and photo, availability, discovery, and the
administrators' review of applications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web

from server.accounts.service import ACCOUNTS
from server.booking import photos
from server.booking.bookings import BOOKINGS, parse_instant
from server.booking.mentors import (
    MENTORS,
    AvailabilityFields,
    MentorQuery,
    ProfileFields,
    Rejection,
)
from server.booking.shapes import card_json, mentor_json
from server.db.models import MentorProfile, User
from server.discovery.service import DISCOVERY
from server.http.errors import ApiError
from server.http.formats import iso
from server.http.requests import path_id, query_of, read_body
from server.http.routes import PAGE, QueryParam, RouteTable, link
from server.http.security import current_user, require_admin, require_user
from server.reviews.service import REVIEWS
from server.reviews.shapes import review_json

routes = RouteTable("mentors")
MENTOR_ID = "$response.body#/mentor/id"
FIRST_ITEM = "$response.body#/items/0/id"
M = r"{mentor_id:\d+}"


@dataclass(frozen=True)
class ApplicationQuery:
    status: Literal["pending", "approved", "rejected", ""] = "pending"
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@routes.post(
    "/api/mentors/apply",
    "Apply to mentor (201), or update the application (200)",
    body=ProfileFields,
    status=201,
    also_ok=(200,),
    links=(
        link("profile", "GET /api/mentors/{mentor_id}", mentor_id=MENTOR_ID),
        link("slots", "GET /api/mentors/{mentor_id}/slots", mentor_id=MENTOR_ID),
        link("approve", "PUT /api/admin/mentors/{mentor_id}/approve", mentor_id=MENTOR_ID),
        link("reject", "PUT /api/admin/mentors/{mentor_id}/reject", mentor_id=MENTOR_ID),
    ),
    errors=(400, 401, 403),
    login=True,
)
async def apply(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, ProfileFields)
    existed = await request.app[MENTORS].profile(user.id)
    profile = await request.app[MENTORS].apply(user, fields)
    return web.json_response(
        {"mentor": mentor_json(profile, user.name)}, status=200 if existed else 201
    )


@routes.put(
    "/api/mentors/profile",
    "Update your mentor profile",
    body=ProfileFields,
    errors=(400, 401, 403),
    login=True,
)
async def update_profile(request: web.Request) -> web.Response:
    user = require_user(request)
    if await request.app[MENTORS].profile(user.id) is None:
        raise ApiError(403, "not_a_mentor", "apply as a mentor first (POST /api/mentors/apply)")
    profile = await request.app[MENTORS].apply(user, await read_body(request, ProfileFields))
    return web.json_response({"mentor": mentor_json(profile, user.name)})


@routes.post(
    "/api/mentors/photo",
    "Upload a profile photo (multipart field `photo`: JPEG, PNG or WebP, at most 2 MB)",
    errors=(400, 401, 409, 413, 415),
    login=True,
)
async def upload_photo(request: web.Request) -> web.Response:
    user = require_user(request)
    if await request.app[MENTORS].profile(user.id) is None:  # before reading a byte
        raise ApiError(409, "no_profile", "apply as a mentor before adding a photo")
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "unsupported_media_type", "send the photo as multipart/form-data")
    try:
        data = await photo_part(request)
    except (ValueError, AssertionError, UnicodeDecodeError):  # a broken multipart body
        raise ApiError(400, "malformed_form", "the multipart body could not be read") from None
    if data is None:
        raise ApiError(400, "invalid_field", "is required", "photo")
    name = await request.app[MENTORS].save_photo(user.id, data)
    return web.json_response({"photo_url": f"/media/photos/{name}"})


async def photo_part(request: web.Request) -> bytes | None:
    """The bytes of the multipart field `photo`, read up to the size limit and no further."""
    reader = await request.multipart()
    async for part in reader:
        if getattr(part, "name", None) != "photo":
            continue
        data = bytearray()
        while chunk := await part.read_chunk():  # type: ignore[union-attr]
            data += chunk
            if len(data) > photos.MAX_PHOTO_BYTES:
                raise ApiError(413, "payload_too_large", "the photo must be at most 2 MB", "photo")
        return bytes(data)
    return None


@routes.get(
    "/media/photos/{name}", "A mentor's photo", kind="text", media_type="image/*", errors=(404,)
)
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


@routes.get("/api/mentors/availability", "Your availability", errors=(401, 403), login=True)
async def get_availability(request: web.Request) -> web.Response:
    user = require_user(request)
    mentors = request.app[MENTORS]
    profile = await mentors.profile(user.id)
    if profile is None:
        raise ApiError(403, "not_a_mentor", "apply as a mentor first")
    return web.json_response(availability_json(profile, *await mentors.availability(user.id)))


@routes.put(
    "/api/mentors/availability",
    "Set weekly windows (your time zone), blocked periods and the vacation switch",
    body=AvailabilityFields,
    errors=(400, 401, 403),
    login=True,
)
async def put_availability(request: web.Request) -> web.Response:
    user = require_user(request)
    mentors = request.app[MENTORS]
    await mentors.set_availability(user, await read_body(request, AvailabilityFields))
    profile = await mentors.profile(user.id)
    assert profile is not None
    return web.json_response(availability_json(profile, *await mentors.availability(user.id)))


@routes.get(
    "/api/mentors",
    "Find approved mentors",
    errors=(400, 401),
    links=(
        link("first", "GET /api/mentors/{mentor_id}", mentor_id=FIRST_ITEM),
        link("first_slots", "GET /api/mentors/{mentor_id}/slots", mentor_id=FIRST_ITEM),
    ),
    query=(
        QueryParam("q", "words in name, headline or skills"),
        QueryParam("skill", "an exact skill"),
        QueryParam("min_rating", "minimum average rating"),
        QueryParam("max_price_paise", "highest price per call", "integer"),
        QueryParam("available_on", "YYYY-MM-DD with a free slot, in `tz`"),
        QueryParam("tz", "the viewer's time zone"),
        QueryParam("sort", "relevance, rating, price or sessions"),
        QueryParam("favourites", "`true` or `1`: only your favourites (401 when logged out)"),
        *PAGE,
    ),
)
async def list_mentors(request: web.Request) -> web.Response:
    query: MentorQuery = query_of(request, MentorQuery)
    only = None
    if query.favourites_only:
        only = await request.app[DISCOVERY].favourite_ids(require_user(request).id)
    cards, total = await request.app[MENTORS].discover(query, only)
    return web.json_response({"items": [card_json(c) for c in cards], "total": total})


async def visible_profile(request: web.Request) -> tuple[MentorProfile, User]:
    mentor_id = path_id(request, "mentor_id")
    profile = await request.app[MENTORS].profile(mentor_id)
    viewer = current_user(request)
    mine = viewer is not None and (viewer.id == mentor_id or viewer.is_admin)
    user = await request.app[ACCOUNTS].get(mentor_id)
    listed = profile is not None and profile.status == "approved"
    if user is not None and user.suspended_at is not None:
        listed = False  # a suspended mentor is off the site until reactivated
    if profile is None or user is None or (not listed and not mine):
        raise ApiError(404, "not_found", "no such mentor")
    return profile, user


@routes.get(f"/api/mentors/{M}", "A mentor's profile and rating summary", errors=(404,))
async def get_mentor(request: web.Request) -> web.Response:
    profile, user = await visible_profile(request)
    rate = await request.app[BOOKINGS].cancellation_rate(profile.user_id)
    reviews = request.app[REVIEWS]
    stats = await reviews.stats(profile.user_id)
    recent, _total = await reviews.public(profile.user_id, 1, 3)
    body = mentor_json(profile, user.name)
    if profile.status == "approved":
        body.pop("review_note")
    body.update(
        rating=stats.rating.average,
        reviews=stats.rating.count,
        recent_reviews=[review_json(p.review, p.author) for p in recent],
        calls_completed=stats.calls_completed,
        repeat_mentee_rate=None if stats.repeat_rate is None else round(stats.repeat_rate, 3),
        typical_reply_seconds=None if stats.reply_seconds is None else round(stats.reply_seconds),
        cancellation_rate=round(rate, 3),
    )
    return web.json_response(body)


@routes.get(
    f"/api/mentors/{M}/slots",
    "A mentor's free call slots",
    errors=(400, 404),
    query=(
        QueryParam("from", "start of the range (default now)"),
        QueryParam("to", "end of the range (default a week later)"),
    ),
)
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


@routes.get(
    "/api/admin/mentor-applications",
    "Mentor applications by status (administrators)",
    tag="admin",
    errors=(401, 403),
    login=True,
    query=(QueryParam("status", "pending, approved or rejected"), *PAGE),
)
async def list_applications(request: web.Request) -> web.Response:
    require_admin(request)
    query: ApplicationQuery = query_of(request, ApplicationQuery)
    rows, total = await request.app[MENTORS].applications(
        query.status or None, query.page, query.per_page
    )
    items = [{**mentor_json(p, u.name), "email": u.email} for p, u in rows]
    return web.json_response({"items": items, "total": total})


@routes.put(
    f"/api/admin/mentors/{M}/approve",
    "Approve a mentor",
    tag="admin",
    errors=(401, 403, 404),
    login=True,
)
async def approve(request: web.Request) -> web.Response:
    admin = require_admin(request)
    profile = await request.app[MENTORS].review(admin, path_id(request, "mentor_id"), True, "")
    user = await request.app[ACCOUNTS].get(profile.user_id)
    return web.json_response({"mentor": mentor_json(profile, user.name if user else "")})


@routes.put(
    f"/api/admin/mentors/{M}/reject",
    "Reject a mentor with a note",
    tag="admin",
    body=Rejection,
    errors=(400, 401, 403, 404),
    login=True,
)
async def reject(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_body(request, Rejection)
    profile = await request.app[MENTORS].review(
        admin, path_id(request, "mentor_id"), False, body.note
    )
    user = await request.app[ACCOUNTS].get(profile.user_id)
    return web.json_response({"mentor": mentor_json(profile, user.name if user else "")})
