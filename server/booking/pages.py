"""The pages for finding mentors, booking, applying to mentor, reviewing applications, and the
dashboard of both roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from server.accounts.service import ACCOUNTS
from server.booking.bookings import BOOKINGS, CANCELLABLE, TOPICS
from server.booking.mentors import MENTORS, MentorQuery, canonical_zone, zone_names
from server.booking.mentors_api import visible_profile
from server.booking.shapes import DEMO_NOTE, card_json
from server.config import CONFIG
from server.discovery.service import DISCOVERY
from server.http.requests import path_id, query_of
from server.http.routes import QueryParam, RouteTable
from server.http.security import current_user, require_admin, require_user
from server.http.templating import TEMPLATES
from server.reviews.service import REVIEWS
from server.reviews.shapes import ReviewsQuery
from server.reviews.stats import duration_words

routes = RouteTable("pages")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@routes.page("/mentors", "Find a mentor", errors=(400,))
async def mentors_page(request: web.Request) -> web.Response:
    query: MentorQuery = query_of(request, MentorQuery)
    mentors = request.app[MENTORS]
    viewer = require_user(request) if query.favourites_only else current_user(request)
    favourites = await request.app[DISCOVERY].favourite_ids(viewer.id) if viewer else set()
    cards, total = await mentors.discover(query, favourites if query.favourites_only else None)
    context: dict[str, Any] = {
        "favourites": favourites,
        "cards": [card_json(c) for c in cards],
        "total": total,
        "query": query,
        "skills": await mentors.known_skills(),
        "pages": max(1, -(-total // query.per_page)),
    }
    return await request.app[TEMPLATES].render(request, "mentors.html", context)


REVIEW_NOTICES = {
    "replied": "Your reply is published under the review.",
    "reported": "Thank you: a moderator will look at this review.",
    "reply_empty": "Nothing was published: write a reply first.",
}


@routes.page(
    r"/mentors/{mentor_id:\d+}",
    "A mentor's profile, stats, reviews, free slots and booking",
    errors=(400, 404),
    query=(
        QueryParam("page", "the page of reviews, newest first", "integer"),
        QueryParam("done", "`replied`, `reported` or `reply_empty`: say so"),
    ),
)
async def mentor_page(request: web.Request) -> web.Response:
    profile, user = await visible_profile(request)
    viewer = current_user(request)
    shown: ReviewsQuery = query_of(request, ReviewsQuery)
    reviews = request.app[REVIEWS]
    items, total = await reviews.public(profile.user_id, shown.page, shown.per_page)
    context = {
        "stats": await reviews.stats(profile.user_id),
        "reviews": items,
        "review_page": shown.page,
        "review_pages": max(1, -(-total // shown.per_page)),
        "review_notice": REVIEW_NOTICES.get(request.query.get("done", ""), ""),
        "duration_words": duration_words,
        "profile": profile,
        "mentor": user,
        "topics": TOPICS,
        "demo_note": DEMO_NOTE,
        "horizon_days": request.app[BOOKINGS].settings.horizon_days,
        "retention_days": request.app[CONFIG].recording.retention_days,
        "bookable": viewer is not None
        and viewer.id != profile.user_id
        and profile.status == "approved",
        "favourite": viewer is not None
        and await request.app[DISCOVERY].is_favourite(viewer.id, profile.user_id),
    }
    return await request.app[TEMPLATES].render(request, "mentor.html", context)


@routes.page("/become-a-mentor", "Apply to mentor; set your availability", login=True)
async def become_mentor_page(request: web.Request) -> web.Response:
    user = require_user(request)
    mentors = request.app[MENTORS]
    profile = await mentors.profile(user.id)
    windows, _blocked = await mentors.availability(user.id) if profile else ([], [])
    by_day = {w.weekday: w for w in windows}
    days = [
        {
            "weekday": d,
            "name": WEEKDAYS[d],
            "start": f"{by_day[d].start_minute // 60:02d}:{by_day[d].start_minute % 60:02d}"
            if d in by_day
            else "",
            "end": f"{by_day[d].end_minute // 60:02d}:{by_day[d].end_minute % 60:02d}"
            if d in by_day
            else "",
        }
        for d in range(7)
    ]
    price = profile.price_paise if profile else request.app[MENTORS].default_price
    context = {
        "profile": profile,
        "days": days,
        "default_price": request.app[MENTORS].default_price,
        "zones": zone_names(),
        "price_rupees": f"{price / 100:.2f}".removesuffix(".00"),
    }
    return await request.app[TEMPLATES].render(request, "become_mentor.html", context)


@routes.page("/admin/mentors", "The queue of mentor applications", errors=(403,), login=True)
async def admin_mentors_page(request: web.Request) -> web.Response:
    require_admin(request)
    rows, total = await request.app[MENTORS].applications("pending", 1, 100)
    context = {"applications": rows, "total": total}
    return await request.app[TEMPLATES].render(request, "admin_mentors.html", context)


async def dashboard_context(request: web.Request) -> dict[str, Any]:
    """What the dashboard lists: calls ahead and behind for each role, and requests."""
    user = require_user(request)
    bookings = request.app[BOOKINGS]
    rows = await bookings.of_user(user, None, None)
    accounts = request.app[ACCOUNTS]
    names: dict[int, str] = {}
    for booking in rows:
        for person in (booking.mentor_id, booking.mentee_id):
            if person not in names:
                account = await accounts.get(person)
                names[person] = account.name if account else "?"
    ahead = ("pending_payment", "confirmed", "in_call")
    now = bookings.clock()

    def of(role: str, upcoming: bool) -> list[Any]:
        mine = [b for b in rows if (b.mentor_id if role == "mentor" else b.mentee_id) == user.id]
        chosen = [
            b
            for b in mine
            if (b.status in ahead and b.booked_end + bookings.grace > now) == upcoming
        ]
        return sorted(chosen, key=lambda b: b.starts_at, reverse=not upcoming)

    requests = await bookings.requests_of(user, "mentor")
    for item in requests:
        if item.mentee_id not in names:
            account = await accounts.get(item.mentee_id)
            names[item.mentee_id] = account.name if account else "?"
    return {
        "mentee_upcoming": of("mentee", True),
        "mentee_past": of("mentee", False)[:10],
        "mentor_upcoming": of("mentor", True),
        "mentor_past": of("mentor", False)[:10],
        "requests": [r for r in requests if r.status == "pending"],
        "names": names,
        "join_early": request.app[BOOKINGS].settings.join_early_minutes,
        "profile": await request.app[MENTORS].profile(user.id),
        "listed": await _listed(request, {b.mentor_id for b in rows}),
        "reviewed": await _reviewed(request, [b for b in rows if b.mentee_id == user.id]),
    }


async def _reviewed(request: web.Request, mine: list[Any]) -> dict[int, bool]:
    """The mentee's reviewed bookings: True while the review can still be edited."""
    reviews = request.app[REVIEWS]
    found = await reviews.of_bookings([b.id for b in mine if b.status == "completed"])
    return {booking_id: reviews.editable(review) for booking_id, review in found.items()}


async def _listed(request: web.Request, mentor_ids: set[int]) -> set[int]:
    """Which of these mentors can be booked again (approved and listed)."""
    mentors = request.app[MENTORS]
    found = set()
    for mentor_id in mentor_ids:
        profile = await mentors.profile(mentor_id)
        if profile is not None and profile.status == "approved":
            found.add(mentor_id)
    return found


@routes.page(
    "/dashboard",
    "The dashboard for the user's roles",
    login=True,
    query=(
        QueryParam("paid", "a booking just paid: say so", "integer"),
        QueryParam("cancelled", "a booking just cancelled: say so", "integer"),
        QueryParam("moved", "a booking just moved: say so", "integer"),
        QueryParam("interests", "`saved`: the interests were just saved: say so"),
    ),
)
async def dashboard(request: web.Request) -> web.Response:
    context = await dashboard_context(request)
    user = require_user(request)
    context["for_you"] = await request.app[DISCOVERY].recommend(user) if user.is_mentee else None
    context["just_paid"] = _booking_named(request, context, "paid")
    context["just_cancelled"] = _booking_named(request, context, "cancelled")
    context["just_moved"] = _booking_named(request, context, "moved")
    context["interests_saved"] = request.query.get("interests") == "saved"
    return await request.app[TEMPLATES].render(request, "dashboard.html", context)


def _booking_named(request: web.Request, context: dict[str, Any], name: str) -> Any:
    """The user's booking whose id the query parameter `name` holds, if any."""
    value = request.query.get(name, "")
    if not value.isdigit():
        return None
    lists = ("mentee_upcoming", "mentee_past", "mentor_upcoming", "mentor_past")
    return next((b for key in lists for b in context[key] if str(b.id) == value), None)


@routes.page(
    r"/bookings/{booking_id:\d+}/reschedule",
    "Move a booking: the mentor's free times in the next two weeks, then confirm",
    errors=(404,),
    login=True,
    query=(QueryParam("tz", "the viewer's time zone, to group the times by their days"),),
)
async def reschedule_page(request: web.Request) -> web.Response:
    user = require_user(request)
    bookings = request.app[BOOKINGS]
    booking = await bookings.visible(user, path_id(request, "booking_id"))
    mentor = await request.app[ACCOUNTS].get(booking.mentor_id)
    why = bookings.can_reschedule(user, booking)
    now = bookings.clock()
    free = [] if why else await bookings.slots(booking.mentor_id, now, now + timedelta(days=14))
    profile = await request.app[MENTORS].profile(booking.mentor_id)
    asked = canonical_zone(request.query.get("tz", ""))
    zone_name = asked if asked in zone_names() else (profile.timezone if profile else "UTC")
    local = ZoneInfo(zone_name)
    days: dict[str, list[Any]] = {}
    for span in free:  # grouped by the viewer's day (the link adds their zone)
        days.setdefault(span.start.astimezone(local).strftime("%a %d %b"), []).append(span)
    context = {
        "booking": booking,
        "mentor_name": mentor.name if mentor else "your mentor",
        "why": why,
        "days": days,
        "zone_name": zone_name,
        "local": local,
    }
    return await request.app[TEMPLATES].render(request, "reschedule.html", context)


@routes.page(
    r"/bookings/{booking_id:\d+}/cancel",
    "Cancel a booking: the refund the policy gives, before confirming",
    errors=(404,),
    login=True,
)
async def cancel_page(request: web.Request) -> web.Response:
    user = require_user(request)
    bookings = request.app[BOOKINGS]
    booking = await bookings.visible(user, path_id(request, "booking_id"))
    other = await request.app[ACCOUNTS].get(booking.other_than(user.id))
    context = {
        "booking": booking,
        "role": booking.role_of(user.id),
        "other_name": other.name if other else "the other side",
        "cancellable": booking.status in CANCELLABLE and booking.role_of(user.id) is not None,
        "refund": await bookings.refund_if_cancelled_now(user, booking),
        "paid": booking.paid_paise if booking.money_state == "held" else 0,
    }
    return await request.app[TEMPLATES].render(request, "cancel.html", context)
