"""The reviews API: the mentee rates a completed call, the mentor replies, anyone logged in
reports; administrators moderate. Reviews are public on the mentor's page."""

from __future__ import annotations

from aiohttp import web

from server.http.errors import ApiError
from server.http.requests import path_id, query_of, read_body
from server.http.routes import PAGE, RouteTable, link
from server.http.security import require_admin, require_user
from server.reviews.service import REVIEWS
from server.reviews.shapes import (
    Moderation,
    ReplyFields,
    ReportFields,
    ReviewFields,
    ReviewsQuery,
    report_json,
    review_json,
)

routes = RouteTable("reviews")
B = r"{booking_id:\d+}"
R = r"{review_id:\d+}"
REVIEW_ID = "$response.body#/review/id"
REVIEW_LINKS = (
    link("reply", "POST /api/reviews/{review_id}/reply", review_id=REVIEW_ID),
    link("report", "POST /api/reviews/{review_id}/report", review_id=REVIEW_ID),
    link("moderate", "PUT /api/admin/reviews/{review_id}/moderate", review_id=REVIEW_ID),
)


@routes.post(
    f"/api/bookings/{B}/review",
    "Rate a completed call (its mentee, once): 1 to 5 stars and optional text",
    body=ReviewFields,
    status=201,
    links=REVIEW_LINKS,
    errors=(400, 401, 403, 404, 409),
    login=True,
)
async def write_review(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, ReviewFields)
    review = await request.app[REVIEWS].write(user, path_id(request, "booking_id"), fields)
    return web.json_response({"review": review_json(review, user.name)}, status=201)


@routes.put(
    f"/api/bookings/{B}/review",
    "Edit your review of a call, within 7 days of writing it",
    body=ReviewFields,
    errors=(400, 401, 403, 404, 409),
    login=True,
)
async def edit_review(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, ReviewFields)
    review = await request.app[REVIEWS].edit(user, path_id(request, "booking_id"), fields)
    return web.json_response({"review": review_json(review, user.name)})


@routes.get(
    f"/api/bookings/{B}/review",
    "A call's review, to its mentee, its mentor and administrators",
    errors=(401, 404),
    login=True,
)
async def get_review(request: web.Request) -> web.Response:
    user = require_user(request)
    posted = await request.app[REVIEWS].of_booking(user, path_id(request, "booking_id"))
    return web.json_response({"review": review_json(posted.review, posted.author)})


@routes.get(
    r"/api/mentors/{mentor_id:\d+}/reviews",
    "A mentor's public reviews, newest first, with the mentor's replies",
    errors=(400, 404),
    query=PAGE,
)
async def mentor_reviews(request: web.Request) -> web.Response:
    mentor_id = path_id(request, "mentor_id")
    query: ReviewsQuery = query_of(request, ReviewsQuery)
    reviews = request.app[REVIEWS]
    if not await reviews.listed(mentor_id):
        raise ApiError(404, "not_found", "no such mentor")
    items, total = await reviews.public(mentor_id, query.page, query.per_page)
    return web.json_response(
        {"items": [review_json(p.review, p.author) for p in items], "total": total}
    )


@routes.post(
    f"/api/reviews/{R}/reply",
    "The reviewed mentor's reply (once; it cannot be deleted)",
    body=ReplyFields,
    errors=(400, 401, 403, 404, 409),
    login=True,
)
async def reply_to_review(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, ReplyFields)
    posted = await request.app[REVIEWS].reply(user, path_id(request, "review_id"), body.text)
    return web.json_response({"review": review_json(posted.review, posted.author)})


@routes.post(
    f"/api/reviews/{R}/report",
    "Report a review to the moderators (once per person); an optional reason",
    body=ReportFields,
    status=201,
    errors=(400, 401, 404, 409),
    login=True,
)
async def report_review(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, ReportFields)
    made = await request.app[REVIEWS].report(user, path_id(request, "review_id"), body.reason)
    return web.json_response({"report": report_json(made, user.name)}, status=201)


# -- moderation ----------------------------------------------------------------------------------


@routes.get(
    "/api/admin/reported-reviews",
    "Reviews with open reports, with the reports (administrators)",
    tag="admin",
    errors=(401, 403),
    login=True,
    query=PAGE,
)
async def reported_reviews(request: web.Request) -> web.Response:
    require_admin(request)
    query: ReviewsQuery = query_of(request, ReviewsQuery)
    items, total = await request.app[REVIEWS].reported(query.page, query.per_page)
    return web.json_response(
        {
            "items": [
                {
                    "review": review_json(r.review, r.author),
                    "mentor": r.mentor,
                    "reports": [report_json(rep, name) for rep, name in r.reports],
                }
                for r in items
            ],
            "total": total,
        }
    )


@routes.put(
    f"/api/admin/reviews/{R}/moderate",
    "Hide a review or keep it, with a note; closes its open reports (administrators)",
    tag="admin",
    body=Moderation,
    errors=(400, 401, 403, 404),
    login=True,
)
async def moderate_review(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_body(request, Moderation)
    posted = await request.app[REVIEWS].moderate(
        admin, path_id(request, "review_id"), body.decision == "hide", body.note
    )
    return web.json_response({"review": review_json(posted.review, posted.author)})
