"""The credits API: a student's campus address and free calls; administrators' sponsors."""

from __future__ import annotations

from aiohttp import web

from server.credits.service import (
    CREDITS,
    CampusAddressFields,
    Confirmation,
    SponsorFields,
    TopUpFields,
)
from server.http.requests import path_id, read_body
from server.http.routes import RouteTable
from server.http.security import require_admin, require_user

routes = RouteTable("credits")
S = r"{sponsor_id:\d+}"


@routes.get(
    "/api/me/credits",
    "Your campus address and the free calls or credits you may use now",
    errors=(401,),
    login=True,
)
async def my_credits(request: web.Request) -> web.Response:
    user = require_user(request)
    standing = await request.app[CREDITS].standing(user)
    return web.json_response({"credits": standing.json()})


@routes.post(
    "/api/me/campus-address",
    "Set your campus email address: a confirmation link is mailed to it (once a minute)",
    body=CampusAddressFields,
    status=202,
    errors=(400, 401, 409, 429),
    login=True,
)
async def set_campus_address(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, CampusAddressFields)
    row = await request.app[CREDITS].request_link(user, fields)
    return web.json_response(
        {"campus_address": {"email": row.email, "verified": row.verified_at is not None}},
        status=202,
    )


@routes.post(
    "/api/campus-address/confirm",
    "Confirm a campus address with the token of its mailed link",
    body=Confirmation,
    errors=(400, 404, 409),
)
async def confirm_campus_address(request: web.Request) -> web.Response:
    fields = await read_body(request, Confirmation)
    row = await request.app[CREDITS].confirm(fields.token)
    return web.json_response({"campus_address": {"email": row.email, "verified": True}})


# -- sponsors (administrators) -------------------------------------------------------------------


@routes.get(
    "/api/admin/sponsors",
    "Sponsors with their wallet balances and calls covered (administrators)",
    tag="admin",
    errors=(401, 403),
    login=True,
)
async def list_sponsors(request: web.Request) -> web.Response:
    require_admin(request)
    return web.json_response({"items": await request.app[CREDITS].sponsors()})


@routes.post(
    "/api/admin/sponsors",
    "Set up an institution that sponsors its verified students' calls (administrators)",
    tag="admin",
    body=SponsorFields,
    status=201,
    errors=(400, 401, 403, 409),
    login=True,
)
async def create_sponsor(request: web.Request) -> web.Response:
    admin = require_admin(request)
    fields = await read_body(request, SponsorFields)
    row = await request.app[CREDITS].create_sponsor(admin, fields)
    return web.json_response({"sponsor": await request.app[CREDITS].sponsor(row.id)}, status=201)


@routes.get(
    f"/api/admin/sponsors/{S}",
    "One sponsor: its rule, balance, recent top-ups and calls covered (administrators)",
    tag="admin",
    errors=(401, 403, 404),
    login=True,
)
async def get_sponsor(request: web.Request) -> web.Response:
    require_admin(request)
    sponsor = await request.app[CREDITS].sponsor(path_id(request, "sponsor_id"))
    return web.json_response({"sponsor": sponsor})


@routes.put(
    f"/api/admin/sponsors/{S}",
    "Change a sponsor's name, domains, rule or whether it is active (administrators)",
    tag="admin",
    body=SponsorFields,
    errors=(400, 401, 403, 404, 409),
    login=True,
)
async def update_sponsor(request: web.Request) -> web.Response:
    admin = require_admin(request)
    fields = await read_body(request, SponsorFields)
    credits = request.app[CREDITS]
    row = await credits.update_sponsor(admin, path_id(request, "sponsor_id"), fields)
    return web.json_response({"sponsor": await credits.sponsor(row.id)})


@routes.post(
    f"/api/admin/sponsors/{S}/topups",
    "Record money an institution sent: it funds the sponsor wallet (administrators)",
    tag="admin",
    body=TopUpFields,
    status=201,
    errors=(400, 401, 403, 404),
    login=True,
)
async def top_up_sponsor(request: web.Request) -> web.Response:
    admin = require_admin(request)
    fields = await read_body(request, TopUpFields)
    credits = request.app[CREDITS]
    sponsor_id = path_id(request, "sponsor_id")
    await credits.top_up(admin, sponsor_id, fields)
    return web.json_response({"sponsor": await credits.sponsor(sponsor_id)}, status=201)
