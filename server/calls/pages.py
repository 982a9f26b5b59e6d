"""The call page, and the demo links that log a user in and open it."""

from __future__ import annotations

from aiohttp import web

from server.accounts.service import ACCOUNTS
from server.calls.api import booking_or_404
from server.calls.demo import DEMO_KEY, DEMO_LOGIN
from server.calls.service import CALLS
from server.http.errors import ApiError
from server.http.routes import QueryParam, RouteTable
from server.http.security import log_in, require_user
from server.http.templating import TEMPLATES
from signaling.token import TokenError, verify

routes = RouteTable("pages")


@routes.page("/call/{booking_id}", "The call page", errors=(404,), login=True)
async def call_page(request: web.Request) -> web.Response:
    user = require_user(request)
    booking = await booking_or_404(request)
    role = booking.role_of(user.id)
    if role is None:
        # The same answer as for a booking that does not exist: nothing is confirmed.
        raise ApiError(404, "not_found", "There is no such call.")
    other_id = booking.other_than(user.id)
    other = await request.app[ACCOUNTS].get(other_id)
    context = {
        "booking": booking,
        "role": role,
        "other_name": other.name if other else "the other side",
        "other_role": "mentee" if role == "mentor" else "mentor",
    }
    return await request.app[TEMPLATES].render(request, "call.html", context)


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
    raise web.HTTPSeeOther(f"/call/{claims.booking_id}")
