"""The call page, and the demo links that log a user in and open it."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from server.accounts.service import ACCOUNTS
from server.calls.api import booking_or_404
from server.calls.demo import DEMO_KEY, DEMO_LOGIN
from server.calls.service import CALLS, CallUnavailable
from server.http.errors import ApiError
from server.http.routes import QueryParam, RouteTable
from server.http.security import log_in, require_user
from server.http.templating import TEMPLATES
from signaling.token import TokenError, verify

routes = RouteTable("pages")
JOIN_NOW = "join_now"  # session key: the booking a demo link opens without the pre-join check
# The call page of a booking that cannot be joined any more: heading and explanation.
ENDED = {
    "cancelled": ("The call was cancelled", "This booking was cancelled, so there is no call."),
    "expired": ("This booking expired", "It was not paid in time, so there is no call."),
    "pending_payment": ("This call is not paid yet", "It opens once the payment goes through."),
}
ENDED_CALL = {
    "time_up": ("The call has ended", "Time is up. Thank you both!"),
    "left": ("The call has ended", "Both of you left the call."),
    "cancelled": ("The call was cancelled", "This booking was cancelled, so there is no call."),
    "": ("The call has ended", "This call's time is over."),
}


@routes.page(
    "/call/{booking_id}",
    "The call page",
    errors=(404,),
    login=True,
    query=(QueryParam("join", "`now`: straight into the call, without the pre-join check"),),
)
async def call_page(request: web.Request) -> web.Response:
    user = require_user(request)
    booking = await booking_or_404(request)
    role = booking.role_of(user.id)
    if role is None:
        # The same answer as for a booking that does not exist: nothing is confirmed.
        raise ApiError(404, "not_found", "There is no such call.")
    other_id = booking.other_than(user.id)
    other = await request.app[ACCOUNTS].get(other_id)
    calls = request.app[CALLS]
    # What the page shows first (call.js checks again with the join endpoint): the waiting
    # room before the join window opens, the call once it is open, or why it is over.
    phase, ended = "ready", ("", "")
    try:
        calls.check_joinable(booking, user.id)
    except CallUnavailable as exc:
        phase = "waiting" if exc.code == "too_early" else "ended"
        ended = ENDED.get(booking.status, ENDED_CALL.get(booking.end_reason or "", ENDED_CALL[""]))
    context = {
        "booking": booking,
        "role": role,
        "other_name": other.name if other else "the other side",
        "other_role": "mentee" if role == "mentor" else "mentor",
        "phase": phase,
        "ended_title": ended[0],
        "ended_text": ended[1],
        "opens_at": booking.starts_at - calls.join_early,
        "server_now": calls.clock(),
        # Straight into the call, no pre-join check: `?join=now`, or once after a demo link.
        "join_now": request.query.get("join") == "now" or await _demo_join(request, booking.id),
    }
    return await request.app[TEMPLATES].render(request, "call.html", context)


async def _demo_join(request: web.Request, booking_id: int) -> bool:
    session = await get_session(request)
    if session.get(JOIN_NOW) != booking_id:
        return False
    del session[JOIN_NOW]
    return True


@routes.get(
    "/demo-login",
    "Log in through a link from `demo-call`",
    kind="redirect",
    errors=(403,),
    query=(QueryParam("token", "The signed link token", required=True),),
)
async def demo_login(request: web.Request) -> web.StreamResponse:
    """A link `demo-call` prints: logs its user in and opens the call."""
    calls = request.app[CALLS]
    try:
        claims = verify(
            request.app[DEMO_KEY],
            request.query.get("token", ""),
            booking_id=None,
            now=calls.clock(),
            purpose=DEMO_LOGIN,
        )
    except TokenError as exc:
        raise ApiError(403, "bad_token", f"This demo link does not work: {exc}.") from None
    user = await request.app[ACCOUNTS].get(claims.user_id)
    if user is None:
        raise ApiError(403, "bad_token", "This demo link does not work: no such user.")
    await log_in(request, user)
    # The demo link is itself the "join now": its call page skips the pre-join check once.
    (await get_session(request))[JOIN_NOW] = claims.booking_id
    raise web.HTTPSeeOther(f"/call/{claims.booking_id}")
