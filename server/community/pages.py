"""The community pages: the communities and the feed (/community), one community with its posts
and questions, a post with its replies, the mentor's write and edit form, and the hooks that put
a mentor's posts on their page and the waiting reports on the console's overview. Every form
works without JavaScript: it posts, and redirects (303) when it succeeds; web/static/community.js
only sends a large cover image through the API (forms are limited to 256 KB)."""

from __future__ import annotations

import math
import re
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.web_request import FileField

from server.community.service import COMMUNITIES, Communities
from server.community.shapes import (
    MAX_POST,
    MAX_QUESTION,
    MAX_REPLY,
    MAX_TITLE,
    CommunityFields,
    FeedQuery,
    IndexQuery,
    PostEdit,
    PostFields,
    QuestionFields,
    ReplyFields,
    ReportFields,
    Shown,
)
from server.db.models import User
from server.http.errors import ApiError
from server.http.requests import Form, form_text, parse_form, path_id, query_of, read_form
from server.http.routes import PAGE, QueryParam, RouteTable
from server.http.security import current_user, require_user
from server.http.templating import TEMPLATES

routes = RouteTable("pages")
S = r"{slug:[a-z0-9-]+}"
P = r"{post_id:\d+}"
R = r"{reply_id:\d+}"
T = TypeVar("T")
FEED_PAGE = 20
MENTOR_PAGE = re.compile(r"/mentors/(\d{1,18})")
LABELS = {
    "title": "The title",
    "body": "The text",
    "reason": "The reason",
    "name": "The name",
    "description": "The description",
    "community_id": "The community",
    "cover": "The cover image",
}
DONE = {
    "published": "Published: your post is on your page and in the feed.",
    "saved": "Saved.",
    "asked": "Your question is up; members of the community can reply.",
    "replied": "Your reply is up.",
    "reported": "Thank you: a moderator will look at it.",
    "already_reported": "You reported this already; a moderator will look at it.",
    "deleted": "Deleted.",
    "reply_deleted": "Your reply is deleted.",
    "joined": "You joined: ask questions and reply here.",
    "left": "You left the community; what you wrote stays.",
    "created": "The community is open.",
}
DONT = {
    "refused": "It was saved, but the cover image was refused: it must be a JPEG, PNG or "
    "WebP image of at most 2 MB and 16 megapixels."
}
LIMITS = {
    "max_title": MAX_TITLE,
    "max_post": MAX_POST,
    "max_question": MAX_QUESTION,
    "max_reply": MAX_REPLY,
}
DONE_QUERY = (QueryParam("done", "what was just done (`published`, `reported` ...): say so"),)


def _parse(cls: type[T], values: dict[str, Any]) -> T:
    return parse_form(cls, values, LABELS)


def _sentence(exc: ApiError) -> str:
    """An API error as a sentence on a page: "The title must not be empty."."""
    message = exc.message
    if exc.field in LABELS and not message.startswith(LABELS[exc.field]):
        message = f"{LABELS[exc.field]} {message}"
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def _cover(form: Form) -> bytes | None:
    value = form.get("cover")
    if isinstance(value, FileField):
        data = value.file.read()
        return data or None
    return None


def _pages(total: int, per_page: int = FEED_PAGE) -> int:
    return max(1, math.ceil(total / per_page))


async def _render(
    request: web.Request, name: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    return await request.app[TEMPLATES].render(
        request,
        name,
        {
            **LIMITS,
            "done": DONE.get(request.query.get("done", ""), ""),
            "dont": DONT.get(request.query.get("cover", ""), ""),
            **context,
        },
        status,
    )


# -- the communities and the feed ------------------------------------------------------------------


@routes.page(
    "/community",
    "The communities to join, and the feed of mentors' posts (`?page=`, `?author=` a mentor)",
    errors=(400,),
    query=(
        *PAGE[:1],
        QueryParam("author", "only this mentor's posts (a user id)", "integer"),
        *DONE_QUERY,
    ),
)
async def community_index(request: web.Request) -> web.Response:
    return await _index(request)


async def _index(
    request: web.Request,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    query: IndexQuery = query_of(request, IndexQuery)
    user = current_user(request)
    service = request.app[COMMUNITIES]
    posts, total = await service.feed(query.page, FEED_PAGE, author_id=query.author)
    context = {
        "author": posts[0].author if query.author and posts else "",
        "author_id": query.author,
        "communities": await service.communities(user),
        "posts": posts,
        "page": query.page,
        "pages": _pages(total),
        "mentor": await service.is_approved_mentor(user),
        "error": error,
        "values": values or {},
    }
    return await _render(request, "community_index.html", context, status)


@routes.post(
    "/community",
    "Create a community (administrators)",
    kind="redirect",
    errors=(400, 403, 409),
    login=True,
)
async def create_community_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    if not user.is_admin:
        raise ApiError(403, "forbidden", "administrators only")
    form = await read_form(request)
    values = {"name": form_text(form, "name"), "description": form_text(form, "description")}
    try:
        made = await request.app[COMMUNITIES].create(user, _parse(CommunityFields, values))
    except ApiError as exc:
        if exc.status not in (400, 409):
            raise
        return await _index(request, error=_sentence(exc), values=values, status=exc.status)
    raise web.HTTPSeeOther(f"/community/{made.community.slug}?done=created")


@routes.page(
    f"/community/{S}",
    "A community: join or leave, ask a question, its posts and questions (`?page=`)",
    errors=(400, 404),
    query=(*PAGE[:1], *DONE_QUERY),
)
async def community_page(request: web.Request) -> web.Response:
    return await _community(request)


async def _community(
    request: web.Request,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    query: FeedQuery = query_of(request, FeedQuery)
    user = current_user(request)
    service = request.app[COMMUNITIES]
    listed = await service.community(user, slug=request.match_info["slug"])
    posts, total = await service.feed(
        query.page, FEED_PAGE, community_id=listed.community.id, kinds=("post", "question")
    )
    context = {
        "listed": listed,
        "community": listed.community,
        "posts": posts,
        "page": query.page,
        "pages": _pages(total),
        "mentor": await service.is_approved_mentor(user),
        "error": error,
        "values": values or {},
    }
    return await _render(request, "community.html", context, status)


@routes.post(
    f"/community/{S}/join", "Join the community", kind="redirect", errors=(404,), login=True
)
async def join_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    service = request.app[COMMUNITIES]
    listed = await service.community(user, slug=request.match_info["slug"])
    await service.join(user, listed.community.id)
    raise web.HTTPSeeOther(f"/community/{listed.community.slug}?done=joined")


@routes.post(
    f"/community/{S}/leave", "Leave the community", kind="redirect", errors=(404,), login=True
)
async def leave_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    service = request.app[COMMUNITIES]
    listed = await service.community(user, slug=request.match_info["slug"])
    await service.leave(user, listed.community.id)
    raise web.HTTPSeeOther(f"/community/{listed.community.slug}?done=left")


@routes.post(
    f"/community/{S}/questions",
    "Ask a question in the community (its members)",
    kind="redirect",
    errors=(400, 403, 404),
    login=True,
)
async def ask_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await read_form(request)
    service = request.app[COMMUNITIES]
    listed = await service.community(user, slug=request.match_info["slug"])
    values = {"title": form_text(form, "title"), "body": form_text(form, "body")}
    try:
        shown = await service.ask(user, listed.community.id, _parse(QuestionFields, values))
    except ApiError as exc:
        if exc.status != 400:
            raise
        return await _community(request, error=_sentence(exc), values=values, status=400)
    raise web.HTTPSeeOther(f"/posts/{shown.post.id}?done=asked")


# -- a post and its replies ------------------------------------------------------------------------


@routes.page(
    f"/posts/{P}",
    "A post or question with its replies, the reply form and the report forms",
    errors=(404,),
    query=(*DONE_QUERY, QueryParam("cover", "`refused`: the cover image was refused, say so")),
)
async def post_page(request: web.Request) -> web.Response:
    return await _post(request, path_id(request, "post_id"))


async def _post(
    request: web.Request, post_id: int, *, error: str = "", reply: str = "", status: int = 200
) -> web.Response:
    user = current_user(request)
    service = request.app[COMMUNITIES]
    shown, replies = await service.post(post_id)
    community = shown.community
    context = {
        "shown": shown,
        "post": shown.post,
        "replies": replies,
        "may_reply": await service.may_reply(user, shown.post),
        "member": community is not None and await service.is_member(user, community.id),
        "error": error,
        "reply_text": reply,
    }
    return await _render(request, "post.html", context, status)


@routes.post(
    f"/posts/{P}/replies",
    "Reply under the post (in a community, its members)",
    kind="redirect",
    errors=(400, 403, 404),
    login=True,
)
async def reply_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await read_form(request)
    post_id = path_id(request, "post_id")
    text = form_text(form, "body")
    try:
        body = _parse(ReplyFields, {"body": text})
        made = await request.app[COMMUNITIES].reply(user, post_id, body.body)
    except ApiError as exc:
        if exc.status != 400:
            raise
        return await _post(request, post_id, error=_sentence(exc), reply=text, status=400)
    raise web.HTTPSeeOther(f"/posts/{post_id}?done=replied#reply-{made.reply.id}")


@routes.post(
    f"/replies/{R}/delete",
    "Delete your reply",
    kind="redirect",
    errors=(403, 404),
    login=True,
)
async def reply_delete_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    post_id = await request.app[COMMUNITIES].delete_reply(user, path_id(request, "reply_id"))
    raise web.HTTPSeeOther(f"/posts/{post_id}?done=reply_deleted#replies")


@routes.post(
    f"/posts/{P}/report",
    "Report the post or question to the moderators",
    kind="redirect",
    errors=(400, 404),
    login=True,
)
async def post_report_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    post_id = path_id(request, "post_id")
    done = await _report(request, user, "post", post_id)
    raise web.HTTPSeeOther(f"/posts/{post_id}?done={done}")


@routes.post(
    f"/replies/{R}/report",
    "Report a reply to the moderators",
    kind="redirect",
    errors=(400, 404),
    login=True,
)
async def reply_report_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    reply_id = path_id(request, "reply_id")
    post_id = await request.app[COMMUNITIES].reply_post_id(reply_id)
    done = await _report(request, user, "reply", reply_id)
    raise web.HTTPSeeOther(f"/posts/{post_id}?done={done}#reply-{reply_id}")


async def _report(request: web.Request, user: User, kind: str, subject_id: int) -> str:
    """Reports it; what the page then says: `reported`, or `already_reported` when the
    first report stands (a reason left out at first is added to it instead)."""
    form = await read_form(request)
    body = _parse(ReportFields, {"reason": form_text(form, "reason")})
    try:
        await request.app[COMMUNITIES].report(user, kind, subject_id, body.reason)
    except ApiError as exc:
        if exc.code != "already_reported":
            raise
        return "already_reported"
    return "reported"


# -- writing ---------------------------------------------------------------------------------------


@routes.page(
    "/posts/new",
    "Write a post (approved mentors): title, Markdown, a cover image, a community",
    errors=(403,),
    login=True,
    query=(QueryParam("community", "the slug of a community to choose"),),
)
async def new_post_page(request: web.Request) -> web.Response:
    user = require_user(request)
    service = request.app[COMMUNITIES]
    await _must_be_mentor(service, user)
    values = {"community": request.query.get("community", "")}
    return await _form(request, user, values=values)


async def _must_be_mentor(service: Communities, user: User) -> None:
    if not await service.is_approved_mentor(user):
        raise ApiError(403, "not_a_mentor", "Only approved mentors write posts.")


async def _form(
    request: web.Request,
    user: User,
    *,
    post: Shown | None = None,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> web.Response:
    service = request.app[COMMUNITIES]
    if values is None and post is not None:
        values = {"title": post.post.title, "body": post.post.body}
    context = {
        "shown": post,
        "joined": await service.joined(user) if post is None else [],
        "values": values or {},
        "error": error,
    }
    return await _render(request, "post_form.html", context, status)


@routes.post(
    "/posts/new",
    "Publish the post (a cover up to 256 KB rides along; larger ones go through the API)",
    kind="redirect",
    errors=(400, 403),
    login=True,
)
async def new_post_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    service = request.app[COMMUNITIES]
    await _must_be_mentor(service, user)
    form = await read_form(request)
    values = {
        "title": form_text(form, "title"),
        "body": form_text(form, "body"),
        "community": form_text(form, "community"),
    }
    try:
        community_id = None
        if values["community"]:
            listed = await service.community(user, slug=values["community"])
            community_id = listed.community.id
        fields = {"title": values["title"], "body": values["body"], "community_id": community_id}
        shown = await service.write(user, _parse(PostFields, fields))
    except ApiError as exc:
        if exc.status not in (400, 403, 404) or exc.code == "not_a_mentor":
            raise
        return await _form(request, user, values=values, error=_sentence(exc), status=400)
    cover = await _save_cover(service, user, shown.post.id, form)
    raise web.HTTPSeeOther(f"/posts/{shown.post.id}?done=published{cover}")


async def _save_cover(service: Communities, user: User, post_id: int, form: Form) -> str:
    """Saves the form's cover image, if any: "" or the query that says it was refused."""
    data = _cover(form)
    if data is None:
        return ""
    try:
        await service.save_cover(user, post_id, data)
    except ApiError as exc:
        if exc.status not in (400, 413, 415):
            raise
        return "&cover=refused"
    return ""


@routes.page(
    f"/posts/{P}/edit",
    "Edit your post or question",
    errors=(403, 404),
    login=True,
    query=(QueryParam("cover", "`refused`: the cover image was refused, say so"),),
)
async def edit_post_page(request: web.Request) -> web.Response:
    user = require_user(request)
    shown, _replies = await request.app[COMMUNITIES].post(path_id(request, "post_id"))
    if shown.post.author_id != user.id:
        raise ApiError(403, "not_the_author", "Only its author can change a post.")
    return await _form(request, user, post=shown)


@routes.post(
    f"/posts/{P}/edit",
    "Save the edit (and a new cover image, or remove it)",
    kind="redirect",
    errors=(400, 403, 404),
    login=True,
)
async def edit_post_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    post_id = path_id(request, "post_id")
    service = request.app[COMMUNITIES]
    form = await read_form(request)
    values = {"title": form_text(form, "title"), "body": form_text(form, "body")}
    try:
        shown = await service.edit(user, post_id, _parse(PostEdit, values))
    except ApiError as exc:
        if exc.status != 400:
            raise
        shown, _replies = await service.post(post_id)
        return await _form(
            request, user, post=shown, values=values, error=_sentence(exc), status=400
        )
    cover = ""
    if shown.post.kind == "post":
        if form_text(form, "remove_cover") and shown.post.cover:
            await service.remove_cover(user, post_id)
        cover = await _save_cover(service, user, post_id, form)
    raise web.HTTPSeeOther(f"/posts/{post_id}?done=saved{cover}")


@routes.post(
    f"/posts/{P}/delete",
    "Delete your post or question",
    kind="redirect",
    errors=(403, 404),
    login=True,
)
async def delete_post_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    post_id = path_id(request, "post_id")
    service = request.app[COMMUNITIES]
    shown, _replies = await service.post(post_id)
    await service.delete(user, post_id)
    where = f"/community/{shown.community.slug}" if shown.community else "/community"
    raise web.HTTPSeeOther(f"{where}?done=deleted")


# -- what other pages show -------------------------------------------------------------------------


async def mentor_posts(request: web.Request) -> dict[str, Any]:
    """A template hook: on a mentor's page (/mentors/{id}), their newest posts."""
    match = MENTOR_PAGE.fullmatch(request.path)
    if match is None:
        return {}
    items, total = await request.app[COMMUNITIES].feed(1, 5, author_id=int(match[1]))
    return {"mentor_posts": items, "mentor_posts_total": total}


async def admin_waiting(request: web.Request) -> dict[str, Any]:
    """A template hook: on the console's overview (/admin), the posts and replies reported."""
    user = current_user(request)
    if request.path != "/admin" or user is None or not user.is_admin:
        return {}
    return {"community_reports_waiting": await request.app[COMMUNITIES].waiting()}
