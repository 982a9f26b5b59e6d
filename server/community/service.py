"""Posts and communities: who may write what, the feeds, reports and their moderation.

The rules:
- Approved mentors write posts (Markdown, an optional cover image), on their page and in the
  feed, and in a community they belong to if they choose one. Only the author edits or
  deletes a post.
- Anyone logged in joins and leaves communities; a member asks questions in it.
- Replies: under a community's post or question, its members (and the post's author); under a
  mentor's post outside any community, anyone logged in. The author deletes their reply.
- Anyone logged in reports a post, question or reply once; an administrator hides or keeps it,
  which closes its open reports and writes the audit log. Hidden or deleted, it stays stored
  but leaves every feed and page; a hidden post's replies and cover go with it.
- Administrators create communities."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.booking import photos
from server.clock import Clock
from server.community.shapes import (
    MAX_QUESTION,
    CommunityFields,
    PostEdit,
    PostFields,
    QuestionFields,
    Shown,
    ShownReply,
    slug_of,
)
from server.community.tables import Community, CommunityReport, Membership, Post, Reply
from server.db import audit, events
from server.db.engine import Database
from server.db.models import MentorProfile, User
from server.http.errors import ApiError

SUBJECTS = ("post", "reply")
MAX_REPLIES_SHOWN = 500


@dataclass(frozen=True)
class Listed:
    """A community with its member count and whether the viewer is in it (None: no viewer)."""

    community: Community
    members: int
    joined: bool | None


@dataclass(frozen=True)
class Case:
    """A reported post or reply waiting for moderation, with its open reports. `post` is the
    reported post, or the one the reported reply is under."""

    kind: str  # post, reply
    post: Shown
    reply: ShownReply | None
    reports: list[tuple[CommunityReport, str]]

    @property
    def subject(self) -> Post | Reply:
        return self.reply.reply if self.reply is not None else self.post.post


def _visible_post() -> ColumnElement[bool]:
    return and_(Post.hidden_at.is_(None), Post.deleted_at.is_(None))


def _visible_reply() -> ColumnElement[bool]:
    return and_(Reply.hidden_at.is_(None), Reply.deleted_at.is_(None))


class Communities:
    def __init__(self, db: Database, *, clock: Clock, cover_dir: Path) -> None:
        self.db = db
        self.clock = clock
        self.cover_dir = cover_dir

    # -- communities ------------------------------------------------------------------------------

    async def communities(self, viewer: User | None) -> list[Listed]:
        """Every community, by name, with its member count."""
        async with self.db.read() as s:
            rows = list(await s.scalars(select(Community).order_by(Community.name)))
            return await _listed(s, rows, viewer)

    async def community(self, viewer: User | None, *, slug: str = "", id: int = 0) -> Listed:
        async with self.db.read() as s:
            where = Community.slug == slug if slug else Community.id == id
            found = await s.scalar(select(Community).where(where))
            if found is None:
                raise ApiError(404, "not_found", "no such community")
            return (await _listed(s, [found], viewer))[0]

    async def create(self, admin: User, fields: CommunityFields) -> Listed:
        name, about = " ".join(fields.name.split()), fields.description.strip()
        slug = slug_of(name)
        if len(name) < 3 or not slug:
            raise ApiError(400, "invalid_field", "must have letters or digits", "name")
        now = self.clock()
        try:
            async with self.db.write() as s:
                taken = await s.scalar(
                    select(Community.id).where(
                        or_(Community.slug == slug, func.lower(Community.name) == name.lower())
                    )
                )
                if taken is not None:
                    raise _community_exists()
                community = Community(
                    slug=slug, name=name, description=about, created_at=now, created_by=admin.id
                )
                s.add(community)
                await s.flush()
                audit.record(
                    s,
                    admin.id,
                    "community_created",
                    ("community", community.id),
                    now,
                    after={"name": name, "slug": slug, "description": about},
                )
        except IntegrityError:  # created at the same moment by another administrator
            raise _community_exists() from None
        return Listed(community, 0, False)

    async def join(self, user: User, community_id: int) -> Listed:
        """Joins (doing nothing when already a member)."""
        try:
            async with self.db.write() as s:
                await _community(s, community_id)
                if await s.get(Membership, (community_id, user.id)) is None:
                    s.add(
                        Membership(
                            community_id=community_id, user_id=user.id, joined_at=self.clock()
                        )
                    )
        except IntegrityError:  # joined twice at once: one of them stands
            pass
        return await self.community(user, id=community_id)

    async def leave(self, user: User, community_id: int) -> Listed:
        """Leaves (doing nothing when not a member); what they wrote stays."""
        async with self.db.write() as s:
            await _community(s, community_id)
            membership = await s.get(Membership, (community_id, user.id))
            if membership is not None:
                await s.delete(membership)
        return await self.community(user, id=community_id)

    async def joined(self, user: User) -> list[Community]:
        """The communities the user belongs to, by name (where a mentor may post)."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(Community)
                .join(Membership, Membership.community_id == Community.id)
                .where(Membership.user_id == user.id)
                .order_by(Community.name)
            )
            return list(rows)

    # -- posts and questions ----------------------------------------------------------------------

    async def write(self, user: User, fields: PostFields) -> Shown:
        title, body = _title(fields.title), _body(fields.body)
        async with self.db.write() as s:
            if not await _approved_mentor(s, user.id):
                raise ApiError(403, "not_a_mentor", "only approved mentors write posts")
            community = None
            if fields.community_id is not None:
                community = await _community(s, fields.community_id, "community_id")
                await _must_be_member(s, community.id, user.id, "to post in it")
            return await self._add(s, "post", user, community, title, body)

    async def ask(self, user: User, community_id: int, fields: QuestionFields) -> Shown:
        title, body = _title(fields.title), fields.body.strip()
        async with self.db.write() as s:
            community = await _community(s, community_id)
            await _must_be_member(s, community.id, user.id, "to ask in it")
            return await self._add(s, "question", user, community, title, body)

    async def _add(
        self,
        s: AsyncSession,
        kind: str,
        user: User,
        community: Community | None,
        title: str,
        body: str,
    ) -> Shown:
        """A new post or question by `user`, in `community` or (a post) on their page only."""
        post = Post(
            kind=kind,
            author_id=user.id,
            community_id=community.id if community else None,
            title=title,
            body=body,
            created_at=self.clock(),
            hidden_note="",
        )
        s.add(post)
        await s.flush()
        return Shown(post, user.name, community)

    async def edit(self, user: User, post_id: int, fields: PostEdit) -> Shown:
        title, body = _title(fields.title), fields.body.strip()
        async with self.db.write() as s:
            post = await _authors_post(s, user, post_id)
            if post.kind == "post" and not body:
                raise ApiError(400, "invalid_field", "must not be empty", "body")
            if post.kind == "question" and len(body) > MAX_QUESTION:
                message = f"must be at most {MAX_QUESTION} characters"
                raise ApiError(400, "invalid_field", message, "body")
            post.title, post.body, post.edited_at = title, body, self.clock()
            return await _shown(s, post)

    async def delete(self, user: User, post_id: int) -> None:
        async with self.db.write() as s:
            post = await _authors_post(s, user, post_id)
            post.deleted_at, cover, post.cover = self.clock(), post.cover, None
        if cover:
            (self.cover_dir / cover).unlink(missing_ok=True)

    async def save_cover(self, user: User, post_id: int, data: bytes) -> Shown:
        """Checks the image as mentors' photos are checked (a real JPEG, PNG or WebP by its
        header, at most 2 MB and 16 megapixels), stores it, and points the post at it; the
        cover it replaces is deleted."""
        async with self.db.read() as s:
            await _covered_post(s, user, post_id)
        try:
            kind = photos.checked_kind(data)
        except photos.PhotoRefused as exc:
            code = {413: "payload_too_large", 415: "unsupported_media_type"}
            message = exc.message.replace("the photo", "the cover image")
            message = message.replace("photo", "image")
            status = exc.status
            raise ApiError(status, code.get(status, "invalid_field"), message, "cover") from None
        name = f"{post_id}-{hashlib.sha256(data).hexdigest()[:16]}.{kind}"
        await asyncio.to_thread(photos.store, self.cover_dir, name, data)
        try:
            async with self.db.write() as s:
                post = await _covered_post(s, user, post_id)
                old, post.cover = post.cover, name
                shown = await _shown(s, post)
        except ApiError:  # the post went away while the file was written
            (self.cover_dir / name).unlink(missing_ok=True)
            raise
        if old and old != name:
            (self.cover_dir / old).unlink(missing_ok=True)
        return shown

    async def remove_cover(self, user: User, post_id: int) -> Shown:
        async with self.db.write() as s:
            post = await _covered_post(s, user, post_id)
            old, post.cover = post.cover, None
            shown = await _shown(s, post)
        if old:
            (self.cover_dir / old).unlink(missing_ok=True)
        return shown

    async def cover_file(self, name: str) -> Path | None:
        """The cover's file, while a visible post shows it."""
        async with self.db.read() as s:
            used = await s.scalar(select(Post.id).where(Post.cover == name, _visible_post()))
        path = (self.cover_dir / name).resolve()
        if used is None or path.parent != self.cover_dir.resolve() or not path.is_file():
            return None
        return path

    async def feed(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        community_id: int | None = None,
        author_id: int | None = None,
        kinds: Sequence[str] = ("post",),
    ) -> tuple[list[Shown], int]:
        """Visible posts (and questions, when `kinds` says so), newest first, and how many."""
        where = [_visible_post(), Post.kind.in_(kinds)]
        if community_id is not None:
            where.append(Post.community_id == community_id)
        if author_id is not None:
            where.append(Post.author_id == author_id)
        async with self.db.read() as s:
            total = int(await s.scalar(select(func.count(Post.id)).where(*where)) or 0)
            rows = await s.execute(
                _with_names(select(Post).where(*where))
                .order_by(Post.created_at.desc(), Post.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
            return _shown_rows(rows.all()), total

    async def post(self, post_id: int) -> tuple[Shown, list[ShownReply]]:
        """A visible post with its visible replies, oldest first."""
        async with self.db.read() as s:
            post = await _visible(s, post_id)
            shown = await _shown(s, post)
            rows = await s.execute(
                select(Reply, User.name)
                .join(User, User.id == Reply.author_id)
                .where(Reply.post_id == post_id, _visible_reply())
                .order_by(Reply.created_at, Reply.id)
                .limit(MAX_REPLIES_SHOWN)
            )
            return shown, [ShownReply(r, name) for r, name in rows.all()]

    async def may_reply(self, user: User | None, post: Post) -> bool:
        if user is None:
            return False
        async with self.db.read() as s:
            return await _may_reply(s, user, post)

    async def is_member(self, user: User | None, community_id: int) -> bool:
        if user is None:
            return False
        async with self.db.read() as s:
            return await s.get(Membership, (community_id, user.id)) is not None

    async def is_approved_mentor(self, user: User | None) -> bool:
        if user is None or not user.is_mentor:
            return False
        async with self.db.read() as s:
            return await _approved_mentor(s, user.id)

    # -- replies ----------------------------------------------------------------------------------

    async def reply(self, user: User, post_id: int, body: str) -> ShownReply:
        body = _body(body)
        async with self.db.write() as s:
            post = await _visible(s, post_id)
            if not await _may_reply(s, user, post):
                raise ApiError(403, "not_a_member", "join the community first to reply in it")
            reply = Reply(
                post_id=post.id,
                author_id=user.id,
                body=body,
                created_at=self.clock(),
                hidden_note="",
            )
            s.add(reply)
            await s.flush()
            return ShownReply(reply, user.name)

    async def delete_reply(self, user: User, reply_id: int) -> int:
        """Deletes the author's reply; returns the post it was under."""
        async with self.db.write() as s:
            reply = await _visible_reply_of(s, reply_id)
            if reply.author_id != user.id:
                raise ApiError(403, "not_the_author", "only its author can delete a reply")
            reply.deleted_at = self.clock()
            return reply.post_id

    async def reply_post_id(self, reply_id: int) -> int:
        """The post a visible reply is under (404 for a reply no one sees)."""
        async with self.db.read() as s:
            return (await _visible_reply_of(s, reply_id)).post_id

    # -- reports and moderation -------------------------------------------------------------------

    async def report(self, user: User, kind: str, subject_id: int, reason: str) -> CommunityReport:
        try:
            async with self.db.write() as s:
                if kind == "post":
                    await _visible(s, subject_id)
                else:
                    await _visible_reply_of(s, subject_id)
                earlier = await s.scalar(
                    select(CommunityReport).where(
                        CommunityReport.subject_type == kind,
                        CommunityReport.subject_id == subject_id,
                        CommunityReport.reporter_id == user.id,
                    )
                )
                if earlier is not None:
                    if earlier.decided_at is None and not earlier.reason and reason.strip():
                        earlier.reason = reason.strip()  # the reason they left out at first
                        return earlier
                    raise _already_reported(kind)
                report = CommunityReport(
                    subject_type=kind,
                    subject_id=subject_id,
                    reporter_id=user.id,
                    reason=reason.strip(),
                    created_at=self.clock(),
                    note="",
                )
                s.add(report)
                await s.flush()
        except IntegrityError:  # the same reporter, twice at once
            raise _already_reported(kind) from None
        return report

    async def waiting(self) -> int:
        """How many posts and replies have open reports."""
        async with self.db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(_open_cases())) or 0)

    async def reported(self, page: int = 1, per_page: int = 50) -> tuple[list[Case], int]:
        """Posts and replies with open reports, the longest waiting first."""
        cases = _open_cases()
        async with self.db.read() as s:
            total = int(await s.scalar(select(func.count()).select_from(cases)) or 0)
            rows = (
                await s.execute(
                    select(cases.c.subject_type, cases.c.subject_id)
                    .order_by(cases.c.first, cases.c.subject_type, cases.c.subject_id)
                    .offset((page - 1) * per_page)
                    .limit(per_page)
                )
            ).all()
            found = [await _case(s, kind, subject_id) for kind, subject_id in rows]
        return [c for c in found if c is not None], total

    async def moderate(
        self, admin: User, kind: str, subject_id: int, hide: bool, note: str
    ) -> Case:
        """Hides the post or reply or keeps it (showing it again if it was hidden), closes its
        open reports, and records the decision in the audit log, in one transaction."""
        now, note = self.clock(), note.strip()
        async with self.db.write() as s:
            table: type[Post] | type[Reply] = Post if kind == "post" else Reply
            subject: Post | Reply | None = await s.get(table, subject_id)
            if subject is None:
                raise ApiError(404, "not_found", f"no such {kind}")
            reports = list(
                await s.scalars(
                    select(CommunityReport).where(
                        CommunityReport.subject_type == kind,
                        CommunityReport.subject_id == subject_id,
                        CommunityReport.decided_at.is_(None),
                    )
                )
            )
            before = {
                "hidden": subject.hidden_at is not None,
                "hidden_note": subject.hidden_note,
                "open_reports": len(reports),
            }
            if hide:
                if subject.hidden_at is None:  # its author is told, once
                    post = (
                        subject if isinstance(subject, Post) else await s.get(Post, subject.post_id)
                    )
                    what = "reply" if isinstance(subject, Reply) else subject.kind
                    title = post.title if post is not None else ""
                    events.record(
                        s,
                        "community_hidden",
                        subject_id,
                        now,
                        actor_id=admin.id,
                        author_id=subject.author_id,
                        what=what,
                        title=title,
                        note=note,
                    )
                subject.hidden_at, subject.hidden_note = subject.hidden_at or now, note
            else:
                subject.hidden_at, subject.hidden_note = None, ""
            for report in reports:
                report.decided_at, report.decided_by = now, admin.id
                report.decision, report.note = ("hide" if hide else "keep"), note
            after = {"hidden": hide, "hidden_note": subject.hidden_note, "open_reports": 0}
            audit.record(
                s,
                admin.id,
                f"{kind}_{'hidden' if hide else 'kept'}",
                (kind, subject_id),
                now,
                before=before,
                after=after,
                note=note,
            )
            await s.flush()
            case = await _case(s, kind, subject_id, open_only=False)
            assert case is not None
            return case


# -- helpers ---------------------------------------------------------------------------------------


async def _listed(s: AsyncSession, rows: list[Community], viewer: User | None) -> list[Listed]:
    ids = [c.id for c in rows]
    counts: dict[int, int] = {}
    mine: set[int] = set()
    if ids:
        counted = await s.execute(
            select(Membership.community_id, func.count())
            .where(Membership.community_id.in_(ids))
            .group_by(Membership.community_id)
        )
        counts = {community: int(n) for community, n in counted.all()}
        if viewer is not None:
            mine = set(
                await s.scalars(
                    select(Membership.community_id).where(
                        Membership.user_id == viewer.id, Membership.community_id.in_(ids)
                    )
                )
            )
    return [Listed(c, counts.get(c.id, 0), None if viewer is None else c.id in mine) for c in rows]


async def _community(s: AsyncSession, community_id: int, field: str | None = None) -> Community:
    community = await s.get(Community, community_id)
    if community is None:
        if field:  # named in a body: the body is wrong, not the path
            raise ApiError(400, "invalid_field", "no such community", field)
        raise ApiError(404, "not_found", "no such community")
    return community


async def _must_be_member(s: AsyncSession, community_id: int, user_id: int, why: str) -> None:
    if await s.get(Membership, (community_id, user_id)) is None:
        raise ApiError(403, "not_a_member", f"join the community first {why}")


async def _approved_mentor(s: AsyncSession, user_id: int) -> bool:
    profile = await s.get(MentorProfile, user_id)
    return profile is not None and profile.status == "approved"


async def _may_reply(s: AsyncSession, user: User, post: Post) -> bool:
    if post.community_id is None or post.author_id == user.id:
        return True
    return await s.get(Membership, (post.community_id, user.id)) is not None


async def _visible(s: AsyncSession, post_id: int) -> Post:
    post = await s.get(Post, post_id)
    if post is None or post.hidden_at is not None or post.deleted_at is not None:
        raise ApiError(404, "not_found", "no such post")
    return post


async def _visible_reply_of(s: AsyncSession, reply_id: int) -> Reply:
    reply = await s.get(Reply, reply_id)
    if reply is None or reply.hidden_at is not None or reply.deleted_at is not None:
        raise ApiError(404, "not_found", "no such reply")
    await _visible(s, reply.post_id)  # a hidden post takes its replies with it
    return reply


async def _authors_post(s: AsyncSession, user: User, post_id: int) -> Post:
    post = await _visible(s, post_id)
    if post.author_id != user.id:
        raise ApiError(403, "not_the_author", "only its author can change a post")
    return post


async def _covered_post(s: AsyncSession, user: User, post_id: int) -> Post:
    post = await _authors_post(s, user, post_id)
    if post.kind != "post":
        raise ApiError(409, "not_a_post", "questions have no cover image")
    return post


def _title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise ApiError(400, "invalid_field", "must not be empty", "title")
    return title


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise ApiError(400, "invalid_field", "must not be empty", "body")
    return body


def _reply_counts() -> Any:
    return (
        select(Reply.post_id, func.count().label("n"))
        .where(_visible_reply())
        .group_by(Reply.post_id)
        .subquery()
    )


def _with_names(stmt: Select[Any]) -> Select[Any]:
    """The posts with their author's name, their community and their visible reply count."""
    counts = _reply_counts()
    return (
        stmt.add_columns(User.name, Community, func.coalesce(counts.c.n, 0))
        .join(User, User.id == Post.author_id)
        .outerjoin(Community, Community.id == Post.community_id)
        .outerjoin(counts, counts.c.post_id == Post.id)
    )


def _shown_rows(rows: Sequence[Any]) -> list[Shown]:
    return [Shown(post, name, community, int(n)) for post, name, community, n in rows]


async def _shown(s: AsyncSession, post: Post) -> Shown:
    row = (await s.execute(_with_names(select(Post).where(Post.id == post.id)))).one()
    return _shown_rows([row])[0]


def _open_cases() -> Any:
    return (
        select(
            CommunityReport.subject_type,
            CommunityReport.subject_id,
            func.min(CommunityReport.created_at).label("first"),
        )
        .where(CommunityReport.decided_at.is_(None))
        .group_by(CommunityReport.subject_type, CommunityReport.subject_id)
        .subquery()
    )


async def _case(
    s: AsyncSession, kind: str, subject_id: int, *, open_only: bool = True
) -> Case | None:
    reply = await s.get(Reply, subject_id) if kind == "reply" else None
    post = await s.get(Post, reply.post_id if reply is not None else subject_id)
    if post is None or (kind == "reply" and reply is None):
        return None
    shown_reply = None
    if reply is not None:
        author = await s.get(User, reply.author_id)
        shown_reply = ShownReply(reply, author.name if author else "")
    reporter = aliased(User)
    where = [CommunityReport.subject_type == kind, CommunityReport.subject_id == subject_id]
    if open_only:
        where.append(CommunityReport.decided_at.is_(None))
    reports = await s.execute(
        select(CommunityReport, reporter.name)
        .join(reporter, reporter.id == CommunityReport.reporter_id)
        .where(*where)
        .order_by(CommunityReport.id)
    )
    return Case(kind, await _shown(s, post), shown_reply, [(r, n) for r, n in reports.all()])


def _community_exists() -> ApiError:
    return ApiError(409, "community_exists", "a community with this name exists already", "name")


def _already_reported(kind: str) -> ApiError:
    return ApiError(409, "already_reported", f"you have reported this {kind} already")


COMMUNITIES = web.AppKey("communities", Communities)
