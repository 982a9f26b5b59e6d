"""The assistant in a booking's conversation: either participant asks for a draft (an agenda
before the call, a summary of the chat after it), reads it as it streams in, edits it, and
posts it, or throws it away. Nothing is posted without that press: a draft lives only in the
asker's page until then. A posted draft is an ordinary message marked `drafted_by_assistant`.

Off unless `[assistant] url` names the operator's model server: then `on` is false, no page
offers it, and nothing here ever opens a connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections import deque
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import select

from server.assistant.client import ModelServer, Reply
from server.assistant.prompts import Kind, Line, messages
from server.clock import Clock
from server.config import AssistantSettings
from server.conversations.service import Conversations, has_conversation
from server.conversations.shapes import Posted
from server.db.engine import Database
from server.db.models import Attachment, Booking, ChatLine, User
from server.http.errors import ApiError, too_many

# A draft can be posted for this long after it was written.
DRAFT_LIFETIME = timedelta(hours=24)
RATE_WINDOW = timedelta(hours=1)
LABELS: dict[Kind, str] = {"agenda": "Draft an agenda", "summary": "Draft a summary"}
AGENDA_STATUSES = ("confirmed",)  # before the call
SUMMARY_STATUSES = ("in_call", "completed", "no_show")  # once it has begun


def kinds_for(booking: Booking) -> list[Kind]:
    """The drafts that make sense now: an agenda before the call, a summary after it."""
    if booking.status in AGENDA_STATUSES:
        return ["agenda"]
    if booking.status in SUMMARY_STATUSES:
        return ["summary"]
    return []


class Assistant:
    def __init__(
        self,
        db: Database,
        settings: AssistantSettings,
        conversations: Conversations,
        *,
        clock: Clock,
        key: bytes,
        model: ModelServer | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.conversations = conversations
        self.clock = clock
        self.key = key
        self.model = model or ModelServer(settings)
        self._asked: dict[int, deque[datetime]] = {}

    @property
    def on(self) -> bool:
        return self.settings.on

    def offers(self, booking: Booking) -> list[tuple[Kind, str]]:
        """The buttons a conversation page shows (none when the assistant is off)."""
        if not self.on:
            return []
        return [(kind, LABELS[kind]) for kind in kinds_for(booking)]

    async def close(self) -> None:
        await self.model.close()

    # -- who may ask -----------------------------------------------------------------------------

    def require_on(self) -> None:
        if not self.on:
            raise ApiError(404, "assistant_off", "this server has no assistant")

    async def participant(self, user: User, booking_id: int) -> Booking:
        """The booking whose conversation `user` takes part in: 404 when there is no such
        conversation, 403 for someone who is not one of its two participants."""
        self.require_on()
        async with self.db.read() as s:
            booking = await s.get(Booking, booking_id)
        if booking is None:
            raise ApiError(404, "not_found", "no such conversation")
        if booking.role_of(user.id) is None:
            raise ApiError(
                403, "not_participant", "only the mentor and the mentee of a booking may ask"
            )
        if not has_conversation(booking):
            raise ApiError(404, "not_found", "no such conversation")
        return booking

    # -- drafting --------------------------------------------------------------------------------

    async def draft(self, user: User, booking: Booking, kind: Kind) -> Reply:
        """Asks the model server for a draft; returns once its first words have arrived.
        Raises ApiError (409, 429) before asking, AssistantUnavailable or AssistantFailed
        when the model server is slow, down or broken."""
        if kind not in kinds_for(booking):
            when = "before the call" if kind == "agenda" else "once the call has begun"
            raise ApiError(409, "not_now", f"an {kind} can be drafted only {when}", "kind")
        lines = await self._lines(booking)
        if kind == "summary" and not lines:
            raise ApiError(409, "nothing_to_summarize", "there are no messages to summarize yet")
        self._count(user.id)
        sent = messages(
            kind,
            topic=booking.topic,
            notes=booking.agenda,
            minutes=max(1, booking.duration_seconds // 60),
            lines=lines,
        )
        return await self.model.start(sent)

    def _count(self, user_id: int) -> None:
        """Drafts per person per hour (on this node): a 429 past `drafts_per_hour`."""
        now = self.clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - RATE_WINDOW:
            asked.popleft()
        if len(asked) >= self.settings.drafts_per_hour:
            wait = math.ceil((asked[0] + RATE_WINDOW - now).total_seconds())
            raise too_many(wait, f"at most {self.settings.drafts_per_hour} drafts an hour")
        asked.append(now)

    async def _lines(self, booking: Booking) -> list[Line]:
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(ChatLine.sender_id, ChatLine.text, Attachment.id)
                    .outerjoin(Attachment, Attachment.line_id == ChatLine.id)
                    .where(ChatLine.booking_id == booking.id)
                    .order_by(ChatLine.id)
                )
            ).all()
        return [
            Line(
                "mentor" if sender == booking.mentor_id else "mentee",
                text,
                with_file=file_id is not None,
            )
            for sender, text, file_id in rows
        ]

    # -- the draft's ticket, and posting it ------------------------------------------------------

    def ticket(self, booking_id: int, user_id: int, kind: Kind) -> str:
        """Proof that this person got a draft of this kind in this conversation; posting with
        it marks the message as the assistant's. Signed, so it holds on every node."""
        issued = int(self.clock().timestamp())
        body = f"{booking_id}.{user_id}.{kind}.{issued}"
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        digest = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    def _check_ticket(self, ticket: str, booking_id: int, user_id: int) -> None:
        body, _, signature = ticket.rpartition(".")
        parts = body.split(".")
        valid = (
            len(parts) == 4
            and hmac.compare_digest(signature.encode(), self._sign(body).encode())
            and parts[0] == str(booking_id)
            and parts[1] == str(user_id)
            and parts[3].isascii()
            and parts[3].isdigit()
            and len(parts[3]) <= 12
        )
        if valid:
            issued = datetime.fromtimestamp(int(parts[3]), UTC)
            valid = self.clock() - issued <= DRAFT_LIFETIME
        if not valid:
            raise ApiError(
                400, "invalid_draft", "not a draft of yours from this conversation", "draft"
            )

    async def post(self, user: User, booking: Booking, ticket: str, text: str) -> Posted:
        """Posts the (possibly edited) draft as `user`'s message, marked as the assistant's."""
        self._check_ticket(ticket, booking.id, user.id)
        return await self.conversations.send(user, booking, text, drafted_by_assistant=True)


ASSISTANT = web.AppKey("assistant", Assistant)
