"""What the community API reads (bodies, queries) and writes (communities, posts, replies and
reports as JSON)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from markupsafe import Markup

from server.community.tables import Community, CommunityReport, Post, Reply
from server.conversations.markdown import render
from server.http.formats import iso

MAX_TITLE = 150
MAX_POST = 20_000
MAX_QUESTION = 5_000
MAX_REPLY = 5_000
MAX_REASON = 500
MAX_NAME = 60
MAX_ABOUT = 500


@dataclass(frozen=True)
class PostFields:
    title: str = field(metadata={"min_length": 1, "max_length": MAX_TITLE})
    body: str = field(metadata={"min_length": 1, "max_length": MAX_POST, "description": "Markdown"})
    community_id: int | None = field(
        default=None,
        metadata={"minimum": 1, "description": "a community you belong to; none: your page only"},
    )


@dataclass(frozen=True)
class PostEdit:
    title: str = field(metadata={"min_length": 1, "max_length": MAX_TITLE})
    body: str = field(
        default="",
        metadata={
            "max_length": MAX_POST,
            "description": "Markdown; a post's must not be empty, a question's is optional",
        },
    )


@dataclass(frozen=True)
class QuestionFields:
    title: str = field(
        metadata={"min_length": 1, "max_length": MAX_TITLE, "description": "the question"}
    )
    body: str = field(
        default="",
        metadata={"max_length": MAX_QUESTION, "description": "details, Markdown (optional)"},
    )


@dataclass(frozen=True)
class ReplyFields:
    body: str = field(
        metadata={"min_length": 1, "max_length": MAX_REPLY, "description": "Markdown"}
    )


@dataclass(frozen=True)
class ReportFields:
    reason: str = field(default="", metadata={"max_length": MAX_REASON})


@dataclass(frozen=True)
class CommunityFields:
    name: str = field(metadata={"min_length": 3, "max_length": MAX_NAME})
    description: str = field(default="", metadata={"max_length": MAX_ABOUT})


@dataclass(frozen=True)
class Moderation:
    decision: Literal["hide", "keep"]
    note: str = field(default="", metadata={"max_length": 500})


@dataclass(frozen=True)
class FeedQuery:
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@dataclass(frozen=True)
class Shown:
    """A visible post or question with what its cards and page show beside it."""

    post: Post
    author: str
    community: Community | None
    replies: int = 0

    @property
    def html(self) -> Markup:
        """The body as safe HTML: raw HTML stays text, links only to http(s) and mailto."""
        return render(self.post.body)

    @property
    def cover_url(self) -> str | None:
        return f"/media/covers/{self.post.cover}" if self.post.cover else None

    @property
    def url(self) -> str:
        return f"/posts/{self.post.id}"


@dataclass(frozen=True)
class ShownReply:
    reply: Reply
    author: str

    @property
    def html(self) -> Markup:
        return render(self.reply.body)


@dataclass(frozen=True)
class IndexQuery:
    page: int = field(default=1, metadata={"minimum": 1})
    author: int | None = field(default=None, metadata={"minimum": 1})


def slug_of(name: str) -> str:
    """ "Interview prep" -> "interview-prep": lower-case ASCII letters and digits joined by
    hyphens ("" when the name has none)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")


def community_json(
    community: Community, members: int, joined: bool | None = None
) -> dict[str, Any]:
    return {
        "id": community.id,
        "slug": community.slug,
        "name": community.name,
        "description": community.description,
        "members": members,
        "joined": joined,
        "url": f"/community/{community.slug}",
        "created_at": iso(community.created_at),
    }


def report_json(report: CommunityReport, reporter: str) -> dict[str, Any]:
    return {
        "id": report.id,
        "subject_type": report.subject_type,
        "subject_id": report.subject_id,
        "reporter_id": report.reporter_id,
        "reporter": reporter,
        "reason": report.reason,
        "created_at": iso(report.created_at),
    }


def post_json(shown: Shown) -> dict[str, Any]:
    post, community = shown.post, shown.community
    return {
        "id": post.id,
        "kind": post.kind,
        "title": post.title,
        "body": post.body,
        "html": str(shown.html),
        "cover_url": shown.cover_url,
        "author_id": post.author_id,
        "author": shown.author,
        "community": None
        if community is None
        else {"id": community.id, "slug": community.slug, "name": community.name},
        "replies": shown.replies,
        "created_at": iso(post.created_at),
        "edited_at": iso(post.edited_at),
        "hidden": post.hidden_at is not None,
        "url": shown.url,
    }


def reply_json(shown: ShownReply) -> dict[str, Any]:
    reply = shown.reply
    return {
        "id": reply.id,
        "post_id": reply.post_id,
        "author_id": reply.author_id,
        "author": shown.author,
        "body": reply.body,
        "html": str(shown.html),
        "created_at": iso(reply.created_at),
        "hidden": reply.hidden_at is not None,
    }
