"""The review pages: the mentee's form to rate a call (or edit the review), the mentor's reply
and anyone's report from the mentor page, and the administrators' moderation queue. Every form
works without JavaScript: it posts, and redirects (303) when it succeeds. The mentor page itself
(server/booking/pages.py) shows the reviews through web/templates/_reviews.html."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web

from server.db.models import User
from server.http.errors import ApiError
from server.http.requests import Form, form_text, parse_form, path_id, read_form
from server.http.routes import QueryParam, RouteTable
from server.http.security import require_admin, require_user
from server.http.templating import TEMPLATES
from server.reviews.service import REVIEWS
from server.reviews.shapes import (
    EDIT_WINDOW,
    MAX_TEXT,
    Moderation,
    ReplyFields,
    ReportFields,
    ReviewFields,
)

routes = RouteTable("pages")
B = r"{booking_id:\d+}"
R = r"{review_id:\d+}"
T = TypeVar("T")
LABELS = {
    "rating": "Your rating",
    "text": "Your review",
    "reason": "The reason",
    "note": "The note",
}
DONE = {
    "hide": "The review is hidden: it left the mentor's page and average.",
    "keep": "The review stays; its reports are closed.",
}


def _parse(cls: type[T], values: dict[str, Any]) -> T:
    return parse_form(cls, values, LABELS)


def _review_fields(form: Form) -> ReviewFields:
    stars = form_text(form, "rating")
    if stars not in ("1", "2", "3", "4", "5"):
        raise ApiError(400, "invalid_field", "Choose from 1 to 5 stars.", "rating")
    return _parse(ReviewFields, {"rating": int(stars), "text": form_text(form, "text")})


# -- the mentee's review ---------------------------------------------------------------------------


@routes.page(
    f"/bookings/{B}/review",
    "Rate a completed call, or edit your review for 7 days",
    errors=(403, 404),
    login=True,
    query=(QueryParam("saved", "`1`: the review was just saved, say so"),),
)
async def review_page(request: web.Request) -> web.Response:
    return await _review_form(request, require_user(request))


async def _review_form(
    request: web.Request,
    user: User,
    *,
    posted: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> web.Response:
    reviews = request.app[REVIEWS]
    draft = await reviews.draft(user, path_id(request, "booking_id"))
    review = draft.review
    if posted is None:
        posted = {"rating": str(review.rating), "text": review.text} if review else {}
    context = {
        "booking": draft.booking,
        "mentor_name": draft.mentor,
        "review": review,
        "editable": review is None or reviews.editable(review),
        "edit_until": review.created_at + EDIT_WINDOW if review else None,
        "values": posted,
        "error": error,
        "saved": request.query.get("saved") == "1" and review is not None and not error,
        "max_text": MAX_TEXT,
    }
    return await request.app[TEMPLATES].render(request, "review.html", context, status)


@routes.post(
    f"/bookings/{B}/review",
    "Submit the review form (writes the review, or edits it)",
    kind="redirect",
    errors=(400, 403, 404, 409),
    login=True,
)
async def review_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    booking_id = path_id(request, "booking_id")
    form = await read_form(request)
    reviews = request.app[REVIEWS]
    try:
        fields = _review_fields(form)
        if (await reviews.draft(user, booking_id)).review is None:
            await reviews.write(user, booking_id, fields)
        else:
            await reviews.edit(user, booking_id, fields)
    except ApiError as exc:
        if exc.status in (403, 404):
            raise
        posted = {"rating": form_text(form, "rating"), "text": form_text(form, "text")}
        return await _review_form(
            request, user, posted=posted, error=exc.message, status=exc.status
        )
    raise web.HTTPSeeOther(f"/bookings/{booking_id}/review?saved=1")


# -- from the mentor page: the mentor's reply, anyone's report -------------------------------------


@routes.post(
    f"/reviews/{R}/reply",
    "Reply to a review of you, from your mentor page (once)",
    kind="redirect",
    errors=(400, 403, 404, 409),
    login=True,
)
async def review_reply_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await read_form(request)
    reviews, review_id = request.app[REVIEWS], path_id(request, "review_id")
    text = form_text(form, "text").strip()
    if not text:  # back to the review, saying what is missing
        review = await reviews.get(review_id)
        if review is None:
            raise ApiError(404, "not_found", "no such review")
        raise web.HTTPSeeOther(f"/mentors/{review.mentor_id}?done=reply_empty#review-{review_id}")
    body = _parse(ReplyFields, {"text": text})
    posted = await reviews.reply(user, review_id, body.text)
    review = posted.review
    raise web.HTTPSeeOther(f"/mentors/{review.mentor_id}?done=replied#review-{review.id}")


@routes.post(
    f"/reviews/{R}/report",
    "Report a review to the moderators, from the mentor page",
    kind="redirect",
    errors=(400, 404),
    login=True,
)
async def review_report_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await read_form(request)
    body = _parse(ReportFields, {"reason": form_text(form, "reason")})
    reviews, review_id = request.app[REVIEWS], path_id(request, "review_id")
    try:
        await reviews.report(user, review_id, body.reason)
    except ApiError as exc:
        if exc.code != "already_reported":  # reported twice: the first report stands
            raise
    review = await reviews.get(review_id)
    if review is None:
        raise ApiError(404, "not_found", "no such review")
    raise web.HTTPSeeOther(f"/mentors/{review.mentor_id}?done=reported#review-{review_id}")


# -- moderation ------------------------------------------------------------------------------------


@routes.page(
    "/admin/reviews",
    "Reported reviews to hide or keep (administrators)",
    errors=(403,),
    login=True,
    query=(QueryParam("done", "`hide` or `keep`: a decision was just made, say so"),),
)
async def admin_reviews_page(request: web.Request) -> web.Response:
    require_admin(request)
    items, total = await request.app[REVIEWS].reported(1, 100)
    context = {
        "items": items,
        "total": total,
        "done": DONE.get(request.query.get("done", ""), ""),
    }
    return await request.app[TEMPLATES].render(request, "admin_reviews.html", context)


@routes.post(
    f"/admin/reviews/{R}/moderate",
    "Hide or keep a reported review, with a note (administrators)",
    kind="redirect",
    errors=(400, 403, 404),
    login=True,
)
async def moderate_review_submit(request: web.Request) -> web.StreamResponse:
    admin = require_admin(request)
    form = await read_form(request)
    values = {"decision": form_text(form, "decision"), "note": form_text(form, "note")}
    body = _parse(Moderation, values)
    await request.app[REVIEWS].moderate(
        admin, path_id(request, "review_id"), body.decision == "hide", body.note
    )
    raise web.HTTPSeeOther(f"/admin/reviews?done={body.decision}")
