"""The community API: communities (join, leave; administrators create them), mentors' posts
with a cover image, members' questions, replies, reports and their moderation. Feeds, posts
and communities are public; writing needs a login. See docs/api.md, "Posts and communities"."""

from __future__ import annotations

from aiohttp import web

from server.booking import photos
from server.community.service import COMMUNITIES
from server.community.shapes import (
    CommunityFields,
    FeedQuery,
    Moderation,
    PostEdit,
    PostFields,
    QuestionFields,
    ReplyFields,
    ReportFields,
    community_json,
    post_json,
    reply_json,
    report_json,
)
from server.http.errors import ApiError
from server.http.requests import path_id, query_of, read_body
from server.http.routes import PAGE, RouteTable, link
from server.http.security import current_user, require_admin, require_user

routes = RouteTable("community")
C = r"{community_id:\d+}"
P = r"{post_id:\d+}"
R = r"{reply_id:\d+}"
POST_ID = "$response.body#/post/id"
POST_LINKS = (
    link("post", "GET /api/posts/{post_id}", post_id=POST_ID),
    link("edit", "PUT /api/posts/{post_id}", post_id=POST_ID),
    link("reply", "POST /api/posts/{post_id}/replies", post_id=POST_ID),
    link("report", "POST /api/posts/{post_id}/report", post_id=POST_ID),
    link("cover", "POST /api/posts/{post_id}/cover", post_id=POST_ID),
)
REPLY_ID = "$response.body#/reply/id"
REPLY_LINKS = (
    link("report", "POST /api/replies/{reply_id}/report", reply_id=REPLY_ID),
    link("delete", "DELETE /api/replies/{reply_id}", reply_id=REPLY_ID),
)
COMMUNITY_ID = "$response.body#/community/id"
COMMUNITY_LINKS = (
    link("join", "PUT /api/communities/{community_id}/membership", community_id=COMMUNITY_ID),
    link("feed", "GET /api/communities/{community_id}/posts", community_id=COMMUNITY_ID),
    link("ask", "POST /api/communities/{community_id}/questions", community_id=COMMUNITY_ID),
)


# -- communities -----------------------------------------------------------------------------------


@routes.get(
    "/api/communities",
    "Every community with its member count (and `joined`, when logged in)",
)
async def list_communities(request: web.Request) -> web.Response:
    listed = await request.app[COMMUNITIES].communities(current_user(request))
    return web.json_response(
        {"items": [community_json(c.community, c.members, c.joined) for c in listed]}
    )


@routes.post(
    "/api/communities",
    "Create a community (administrators): a name and a description",
    tag="admin",
    body=CommunityFields,
    status=201,
    links=COMMUNITY_LINKS,
    errors=(400, 401, 403, 409),
    login=True,
)
async def create_community(request: web.Request) -> web.Response:
    admin = require_admin(request)
    fields = await read_body(request, CommunityFields)
    made = await request.app[COMMUNITIES].create(admin, fields)
    return web.json_response(
        {"community": community_json(made.community, made.members, made.joined)}, status=201
    )


@routes.get(f"/api/communities/{C}", "One community", errors=(404,))
async def get_community(request: web.Request) -> web.Response:
    found = await request.app[COMMUNITIES].community(
        current_user(request), id=path_id(request, "community_id")
    )
    return web.json_response(
        {"community": community_json(found.community, found.members, found.joined)}
    )


@routes.put(
    f"/api/communities/{C}/membership",
    "Join a community (nothing changes when you are in it)",
    errors=(401, 404),
    login=True,
)
async def join_community(request: web.Request) -> web.Response:
    user = require_user(request)
    found = await request.app[COMMUNITIES].join(user, path_id(request, "community_id"))
    return web.json_response(
        {"community": community_json(found.community, found.members, found.joined)}
    )


@routes.delete(
    f"/api/communities/{C}/membership",
    "Leave a community (what you wrote stays)",
    errors=(401, 404),
    login=True,
)
async def leave_community(request: web.Request) -> web.Response:
    user = require_user(request)
    found = await request.app[COMMUNITIES].leave(user, path_id(request, "community_id"))
    return web.json_response(
        {"community": community_json(found.community, found.members, found.joined)}
    )


@routes.get(
    f"/api/communities/{C}/posts",
    "A community's feed: its posts and questions, newest first",
    errors=(400, 404),
    query=PAGE,
)
async def community_feed(request: web.Request) -> web.Response:
    community_id = path_id(request, "community_id")
    query: FeedQuery = query_of(request, FeedQuery)
    service = request.app[COMMUNITIES]
    await service.community(None, id=community_id)  # 404 for none
    items, total = await service.feed(
        query.page, query.per_page, community_id=community_id, kinds=("post", "question")
    )
    return web.json_response({"items": [post_json(p) for p in items], "total": total})


@routes.post(
    f"/api/communities/{C}/questions",
    "Ask a question in a community you belong to (Markdown details, optional)",
    body=QuestionFields,
    status=201,
    links=POST_LINKS,
    errors=(400, 401, 403, 404),
    login=True,
)
async def ask_question(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, QuestionFields)
    shown = await request.app[COMMUNITIES].ask(user, path_id(request, "community_id"), fields)
    return web.json_response({"post": post_json(shown)}, status=201)


# -- posts -----------------------------------------------------------------------------------------


@routes.get("/api/posts", "The feed: mentors' posts, newest first", errors=(400,), query=PAGE)
async def feed(request: web.Request) -> web.Response:
    query: FeedQuery = query_of(request, FeedQuery)
    items, total = await request.app[COMMUNITIES].feed(query.page, query.per_page)
    return web.json_response({"items": [post_json(p) for p in items], "total": total})


@routes.get(
    r"/api/mentors/{mentor_id:\d+}/posts",
    "A mentor's posts, newest first",
    errors=(400, 404),
    query=PAGE,
)
async def mentor_posts(request: web.Request) -> web.Response:
    query: FeedQuery = query_of(request, FeedQuery)
    items, total = await request.app[COMMUNITIES].feed(
        query.page, query.per_page, author_id=path_id(request, "mentor_id")
    )
    return web.json_response({"items": [post_json(p) for p in items], "total": total})


@routes.post(
    "/api/posts",
    "Write a post (approved mentors): a title, a Markdown body, optionally in a community",
    body=PostFields,
    status=201,
    links=POST_LINKS,
    errors=(400, 401, 403),
    login=True,
)
async def write_post(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, PostFields)
    shown = await request.app[COMMUNITIES].write(user, fields)
    return web.json_response({"post": post_json(shown)}, status=201)


@routes.get(f"/api/posts/{P}", "A post or question with its replies", errors=(404,))
async def get_post(request: web.Request) -> web.Response:
    shown, replies = await request.app[COMMUNITIES].post(path_id(request, "post_id"))
    return web.json_response(
        {"post": post_json(shown), "replies": [reply_json(r) for r in replies]}
    )


@routes.put(
    f"/api/posts/{P}",
    "Edit your post or question: the title and the body",
    body=PostEdit,
    errors=(400, 401, 403, 404),
    login=True,
)
async def edit_post(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, PostEdit)
    shown = await request.app[COMMUNITIES].edit(user, path_id(request, "post_id"), fields)
    return web.json_response({"post": post_json(shown)})


@routes.delete(
    f"/api/posts/{P}",
    "Delete your post or question (it leaves every page)",
    status=204,
    errors=(401, 403, 404),
    login=True,
)
async def delete_post(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[COMMUNITIES].delete(user, path_id(request, "post_id"))
    return web.Response(status=204)


@routes.post(
    f"/api/posts/{P}/cover",
    "Set your post's cover image (multipart field `cover`: JPEG, PNG or WebP, at most 2 MB)",
    errors=(400, 401, 403, 404, 409, 413, 415),
    login=True,
)
async def upload_cover(request: web.Request) -> web.Response:
    user = require_user(request)
    post_id = path_id(request, "post_id")
    service = request.app[COMMUNITIES]
    shown, _replies = await service.post(post_id)  # who may, before reading a byte
    if shown.post.author_id != user.id:
        raise ApiError(403, "not_the_author", "only its author can change a post")
    if shown.post.kind != "post":
        raise ApiError(409, "not_a_post", "questions have no cover image")
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "unsupported_media_type", "send the image as multipart/form-data")
    try:
        data = await cover_part(request)
    except (ValueError, AssertionError, UnicodeDecodeError):  # a broken multipart body
        raise ApiError(400, "malformed_form", "the multipart body could not be read") from None
    if data is None:
        raise ApiError(400, "invalid_field", "is required", "cover")
    shown = await service.save_cover(user, post_id, data)
    return web.json_response({"post": post_json(shown)})


async def cover_part(request: web.Request) -> bytes | None:
    """The bytes of the multipart field `cover`, read up to the size limit and no further."""
    reader = await request.multipart()
    async for part in reader:
        if getattr(part, "name", None) != "cover":
            continue
        data = bytearray()
        while chunk := await part.read_chunk():  # type: ignore[union-attr]
            data += chunk
            if len(data) > photos.MAX_PHOTO_BYTES:
                raise ApiError(
                    413, "payload_too_large", "the cover image must be at most 2 MB", "cover"
                )
        return bytes(data)
    return None


@routes.delete(
    f"/api/posts/{P}/cover",
    "Remove your post's cover image",
    errors=(401, 403, 404, 409),
    login=True,
)
async def remove_cover(request: web.Request) -> web.Response:
    user = require_user(request)
    shown = await request.app[COMMUNITIES].remove_cover(user, path_id(request, "post_id"))
    return web.json_response({"post": post_json(shown)})


@routes.get(
    "/media/covers/{name}",
    "A post's cover image (while the post is visible)",
    kind="text",
    media_type="image/*",
    errors=(404,),
)
async def cover(request: web.Request) -> web.StreamResponse:
    path = await request.app[COMMUNITIES].cover_file(request.match_info["name"])
    if path is None:
        raise ApiError(404, "not_found", "no such image")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


# -- replies and reports ---------------------------------------------------------------------------


@routes.post(
    f"/api/posts/{P}/replies",
    "Reply under a post or question (Markdown): in a community, its members",
    body=ReplyFields,
    status=201,
    links=REPLY_LINKS,
    errors=(400, 401, 403, 404),
    login=True,
)
async def write_reply(request: web.Request) -> web.Response:
    user = require_user(request)
    fields = await read_body(request, ReplyFields)
    shown = await request.app[COMMUNITIES].reply(user, path_id(request, "post_id"), fields.body)
    return web.json_response({"reply": reply_json(shown)}, status=201)


@routes.delete(
    f"/api/replies/{R}",
    "Delete your reply",
    status=204,
    errors=(401, 403, 404),
    login=True,
)
async def delete_reply(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[COMMUNITIES].delete_reply(user, path_id(request, "reply_id"))
    return web.Response(status=204)


@routes.post(
    f"/api/posts/{P}/report",
    "Report a post or question to the moderators (once per person); an optional reason",
    body=ReportFields,
    status=201,
    errors=(400, 401, 404, 409),
    login=True,
)
async def report_post(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, ReportFields)
    made = await request.app[COMMUNITIES].report(
        user, "post", path_id(request, "post_id"), body.reason
    )
    return web.json_response({"report": report_json(made, user.name)}, status=201)


@routes.post(
    f"/api/replies/{R}/report",
    "Report a reply to the moderators (once per person); an optional reason",
    body=ReportFields,
    status=201,
    errors=(400, 401, 404, 409),
    login=True,
)
async def report_reply(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, ReportFields)
    made = await request.app[COMMUNITIES].report(
        user, "reply", path_id(request, "reply_id"), body.reason
    )
    return web.json_response({"report": report_json(made, user.name)}, status=201)


# -- moderation ------------------------------------------------------------------------------------


@routes.get(
    "/api/admin/community-reports",
    "Posts, questions and replies with open reports, with the reports (administrators)",
    tag="admin",
    errors=(400, 401, 403),
    login=True,
    query=PAGE,
)
async def community_reports(request: web.Request) -> web.Response:
    require_admin(request)
    query: FeedQuery = query_of(request, FeedQuery)
    cases, total = await request.app[COMMUNITIES].reported(query.page, query.per_page)
    items = [
        {
            "kind": case.kind,
            "post": post_json(case.post),
            "reply": reply_json(case.reply) if case.reply is not None else None,
            "reports": [report_json(r, name) for r, name in case.reports],
        }
        for case in cases
    ]
    return web.json_response({"items": items, "total": total})


@routes.put(
    f"/api/admin/posts/{P}/moderate",
    "Hide a post or question or keep it, with a note; closes its reports (administrators)",
    tag="admin",
    body=Moderation,
    errors=(400, 401, 403, 404),
    login=True,
)
async def moderate_post(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_body(request, Moderation)
    case = await request.app[COMMUNITIES].moderate(
        admin, "post", path_id(request, "post_id"), body.decision == "hide", body.note
    )
    return web.json_response({"post": post_json(case.post)})


@routes.put(
    f"/api/admin/replies/{R}/moderate",
    "Hide a reply or keep it, with a note; closes its reports (administrators)",
    tag="admin",
    body=Moderation,
    errors=(400, 401, 403, 404),
    login=True,
)
async def moderate_reply(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_body(request, Moderation)
    case = await request.app[COMMUNITIES].moderate(
        admin, "reply", path_id(request, "reply_id"), body.decision == "hide", body.note
    )
    assert case.reply is not None
    return web.json_response({"reply": reply_json(case.reply)})
