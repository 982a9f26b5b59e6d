"""The discovery API: favourites, a mentee's interests, and "Mentors for you". The favourites
filter of the mentor search is `GET /api/mentors?favourites=true` (server/booking)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.discovery.service import DISCOVERY, Recommendation, Recommendations
from server.discovery.shapes import (
    InterestsFields,
    RecommendationsQuery,
    favourite_json,
    mentor_card_json,
)
from server.http.formats import iso
from server.http.requests import path_id, query_of, read_body
from server.http.routes import QueryParam, RouteTable
from server.http.security import require_user

routes = RouteTable("discovery")
M = r"{mentor_id:\d+}"


@routes.put(
    f"/api/mentors/{M}/favourite",
    "Add a listed mentor to your favourites (doing it again changes nothing)",
    errors=(401, 404, 409),
    login=True,
)
async def add_favourite(request: web.Request) -> web.Response:
    user = require_user(request)
    mentor_id = path_id(request, "mentor_id")
    made = await request.app[DISCOVERY].favourite(user, mentor_id)
    return web.json_response(
        {"mentor_id": mentor_id, "favourite": True, "favourited_at": iso(made.created_at)}
    )


@routes.delete(
    f"/api/mentors/{M}/favourite",
    "Take a mentor out of your favourites (doing it again changes nothing)",
    errors=(401, 404),
    login=True,
)
async def remove_favourite(request: web.Request) -> web.Response:
    user = require_user(request)
    mentor_id = path_id(request, "mentor_id")
    await request.app[DISCOVERY].unfavourite(user, mentor_id)
    return web.json_response({"mentor_id": mentor_id, "favourite": False, "favourited_at": None})


@routes.get(
    "/api/me/favourites",
    "Your favourite mentors that are listed, the newest favourite first",
    errors=(401,),
    login=True,
)
async def my_favourites(request: web.Request) -> web.Response:
    user = require_user(request)
    found = await request.app[DISCOVERY].favourites(user)
    items = [favourite_json(mentor, kept.created_at) for mentor, kept in found]
    return web.json_response({"items": items, "total": len(items)})


@routes.get("/api/me/interests", "What you want to learn: your interests", login=True)
async def my_interests(request: web.Request) -> web.Response:
    user = require_user(request)
    return web.json_response({"interests": await request.app[DISCOVERY].interests(user.id)})


@routes.put(
    "/api/me/interests",
    "Set your interests (free-text tags such as python, interviews); they replace the old ones",
    body=InterestsFields,
    errors=(400, 401),
    login=True,
)
async def set_my_interests(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, InterestsFields)
    saved = await request.app[DISCOVERY].set_interests(user, body.interests)
    return web.json_response({"interests": saved})


def recommendation_json(item: Recommendation) -> dict[str, Any]:
    return {
        "mentor": mentor_card_json(item.mentor),
        "score": item.score,
        "shared": list(item.shared),
        "reason": item.reason,
    }


def recommendations_json(found: Recommendations) -> dict[str, Any]:
    return {
        "basis": found.basis,
        "interests": found.interests,
        "items": [recommendation_json(i) for i in found.items],
    }


@routes.get(
    "/api/me/recommendations",
    "Mentors for you, from your interests, bookings and favourites, each with its reason",
    errors=(400, 401),
    login=True,
    query=(QueryParam("limit", "how many, 1 to 20 (default 5)", "integer"),),
)
async def my_recommendations(request: web.Request) -> web.Response:
    user = require_user(request)
    query: RecommendationsQuery = query_of(request, RecommendationsQuery)
    found = await request.app[DISCOVERY].recommend(user, query.limit)
    return web.json_response(recommendations_json(found))
