"""The bookings API: booking a slot (and its payment order), listing, cancelling, the
calendar invite, and requests for another time."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from billing.gateway import GatewayError
from server.accounts.service import ACCOUNTS
from server.booking.bookings import (
    BOOKINGS,
    CHECKOUT,
    JOIN_EARLY,
    SPONSORSHIP,
    Cancellation,
    Decision,
    NewBooking,
    NewRequest,
)
from server.booking.invites import invite
from server.booking.shapes import booking_json, request_json
from server.db.models import Booking
from server.http.errors import ApiError
from server.http.requests import path_id, query_of, read_body
from server.http.routes import PAGE, QueryParam, RouteTable, link
from server.http.security import require_user

log = logging.getLogger("micromentor.bookings")
routes = RouteTable("bookings")
BOOKING_ID = "$response.body#/booking/id"
REQUEST_ID = "$response.body#/request/id"
B = r"{booking_id:\d+}"
R = r"{request_id:\d+}"


@dataclass(frozen=True)
class BookingQuery:
    role: Literal["mentor", "mentee", ""] = ""
    status: str = ""
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@routes.post(
    "/api/bookings",
    "Book a free slot: the booking holds it, pending payment",
    body=NewBooking,
    status=201,
    errors=(400, 401, 404, 409, 429, 502),
    login=True,
    links=(
        link("booking", "GET /api/bookings/{booking_id}", booking_id=BOOKING_ID),
        link("cancel", "POST /api/bookings/{booking_id}/cancel", booking_id=BOOKING_ID),
        link("invite", "GET /api/bookings/{booking_id}/invite.ics", booking_id=BOOKING_ID),
        link("join", "GET /api/bookings/{booking_id}/join", booking_id=BOOKING_ID),
        link(
            "pay",
            "POST /api/payments/simulator/{order_id}/pay",
            order_id="$response.body#/order/order_id",
        ),
    ),
)
async def create_booking(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, NewBooking)
    if fields.pay_with == "sponsored":
        await request.app[SPONSORSHIP].check(user)  # before holding a slot it cannot pay
    booking = await request.app[BOOKINGS].create(user, fields)
    if fields.pay_with == "sponsored":
        paid = await sponsored(request, booking)
        booking = await request.app[BOOKINGS].visible(user, booking.id)  # confirmed by now
    else:
        paid = await open_order(request, booking)
    body = {"booking": booking_json(booking, request.app[JOIN_EARLY]), **paid}
    return web.json_response(body, status=201)


async def sponsored(request: web.Request, booking: Booking) -> dict[str, Any]:
    """A free call or credit pays the new booking; refused, its slot is released at once."""
    try:
        return await request.app[SPONSORSHIP].cover(booking)
    except ApiError:
        await request.app[BOOKINGS].release(booking.id)
        raise


async def open_order(request: web.Request, booking: Booking) -> dict[str, Any]:
    """The payment order for a new booking; without one the hold is released at once."""
    try:
        return await request.app[CHECKOUT].checkout(booking)
    except GatewayError as exc:
        log.error("no payment order for booking %s: %s", booking.id, exc)
        await request.app[BOOKINGS].release(booking.id)
        raise ApiError(
            502, "payment_unavailable", "payments are unavailable right now; the slot was not held"
        ) from None


@routes.get(
    "/api/bookings",
    "Your bookings",
    errors=(400, 401),
    login=True,
    query=(
        QueryParam("role", "mentor or mentee"),
        QueryParam("status", "a booking status"),
        *PAGE,
    ),
)
async def list_bookings(request: web.Request) -> web.Response:
    user = require_user(request)
    query: BookingQuery = query_of(request, BookingQuery)
    rows = await request.app[BOOKINGS].of_user(user, query.role or None, query.status or None)
    start = (query.page - 1) * query.per_page
    items = [booking_json(b, request.app[JOIN_EARLY]) for b in rows[start : start + query.per_page]]
    return web.json_response({"items": items, "total": len(rows)})


@routes.get(
    f"/api/bookings/{B}",
    "One booking (its participants, admins)",
    errors=(401, 404),
    login=True,
)
async def get_booking(request: web.Request) -> web.Response:
    user = require_user(request)
    booking = await request.app[BOOKINGS].visible(user, path_id(request, "booking_id"))
    return web.json_response({"booking": booking_json(booking, request.app[JOIN_EARLY])})


@routes.post(
    f"/api/bookings/{B}/cancel",
    "Cancel; the refund follows the cancellation policy",
    body=Cancellation,
    errors=(400, 401, 404, 409),
    login=True,
)
async def cancel_booking(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, Cancellation)
    booking = await request.app[BOOKINGS].cancel(user, path_id(request, "booking_id"), body.reason)
    await request.app[CHECKOUT].cancelled(booking.id, booking.refund_paise or 0)
    return web.json_response({"booking": booking_json(booking, request.app[JOIN_EARLY])})


@dataclass(frozen=True)
class NewTime:
    start: str = field(
        metadata={"description": "the new start, ISO 8601 (one of the mentor's free slots)"}
    )


@routes.post(
    f"/api/bookings/{B}/reschedule",
    "Move a confirmed booking to another free slot of its mentor (the mentee, once, until 4 "
    "hours before the call)",
    body=NewTime,
    errors=(400, 401, 403, 404, 409),
    login=True,
)
async def reschedule_booking(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, NewTime)
    booking = await request.app[BOOKINGS].reschedule(
        user, path_id(request, "booking_id"), body.start
    )
    return web.json_response({"booking": booking_json(booking, request.app[JOIN_EARLY])})


@routes.get(
    f"/api/bookings/{B}/invite.ics",
    "The calendar invite (a cancelled booking's cancels it)",
    kind="text",
    media_type="text/calendar",
    errors=(401, 404, 409),
    login=True,
)
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


@routes.post(
    "/api/booking-requests",
    "Propose a time outside the mentor's availability",
    body=NewRequest,
    status=201,
    errors=(400, 401, 404),
    login=True,
    links=(
        link("accept", "PUT /api/booking-requests/{request_id}/accept", request_id=REQUEST_ID),
        link("decline", "PUT /api/booking-requests/{request_id}/decline", request_id=REQUEST_ID),
    ),
)
async def create_request(request: web.Request) -> web.Response:
    user = require_user(request)
    item = await request.app[BOOKINGS].request(user, await read_body(request, NewRequest))
    return web.json_response({"request": request_json(item)}, status=201)


@routes.get(
    "/api/booking-requests",
    "Requests you made or received",
    errors=(401,),
    login=True,
    query=(QueryParam("role", "mentor or mentee"),),
)
async def list_requests(request: web.Request) -> web.Response:
    user = require_user(request)
    role = request.query.get("role")
    items = await request.app[BOOKINGS].requests_of(
        user, role if role in ("mentor", "mentee") else None
    )
    return web.json_response({"items": [request_json(i) for i in items], "total": len(items)})


@routes.put(
    f"/api/booking-requests/{R}/accept",
    "Accept a request: a booking pending payment",
    errors=(401, 404, 409),
    login=True,
)
async def accept_request(request: web.Request) -> web.Response:
    return await _decide(request, True)


@routes.put(
    f"/api/booking-requests/{R}/decline",
    "Decline a request with a note",
    body=Decision,
    errors=(401, 404, 409),
    login=True,
)
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
