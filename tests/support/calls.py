"""A participant driven through the real HTTP API and call WebSocket, with a real aiortc peer."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration

from server.calls.service import CALLS
from server.db.models import Booking
from tests.support.media import Clip, TestPeer, wait_for

Client = TestClient[Any, Any]


async def add_booking(
    client: Client,
    mentor_id: int,
    mentee_id: int,
    *,
    starts_at: datetime | None = None,
    duration_seconds: int = 600,
    status: str = "confirmed",
) -> int:
    calls = client.app[CALLS] if client.app is not None else None
    assert calls is not None
    now = calls.clock()
    async with calls.db.write() as s:
        booking = Booking(
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            starts_at=starts_at or now,
            duration_seconds=duration_seconds,
            status=status,
            created_at=now,
        )
        s.add(booking)
        await s.flush()
        return booking.id


class CallParticipant:
    """Logged-in HTTP client + call socket + aiortc peer; collects every server message."""

    def __init__(
        self,
        client: Client,
        video: Clip,
        audio: Clip,
        configuration: RTCConfiguration | None = None,
    ) -> None:
        self.client = client
        self.peer = TestPeer(video, audio, configuration)
        self.ws: ClientWebSocketResponse | None = None
        self.messages: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self._consumed: dict[str, int] = {}
        self._reader: asyncio.Task[None] | None = None

    async def join_info(self, booking_id: int) -> dict[str, Any]:
        response = await self.client.get(f"/api/bookings/{booking_id}/join")
        assert response.status == 200, await response.text()
        info: dict[str, Any] = await response.json()
        return info

    async def open_socket(self, booking_id: int, **headers: str) -> None:
        info = await self.join_info(booking_id)
        url = urlsplit(info["ws_url"])
        self.ws = await self.client.ws_connect(f"{url.path}?{url.query}", headers=headers)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def join(self, booking_id: int) -> None:
        await self.open_socket(booking_id)
        await self.send({"type": "offer", "sdp": await self.peer.offer()})
        answer = await self.next_message("answer")
        await self.peer.accept(answer["sdp"])

    async def send(self, message: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(message))

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == WSMsgType.TEXT:
                self.messages.append(json.loads(message.data))
        self.closed_with = self.ws.close_code

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def next_message(self, kind: str, seconds: float = 15) -> dict[str, Any]:
        """The next message of `kind` not returned before, waiting for it if need be."""
        index = self._consumed.get(kind, 0)
        await wait_for(lambda: len(self.of_type(kind)) > index, seconds, what=f"a {kind} message")
        self._consumed[kind] = index + 1
        return self.of_type(kind)[index]

    async def wait_closed(self, seconds: float = 15) -> int | None:
        await wait_for(lambda: self.closed_with is not None, seconds, what="the socket to close")
        return self.closed_with

    def video_frames(self) -> int:
        return len(self.peer.received["video"].frames)

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)
        await self.peer.close()


def soon(seconds: int = 60) -> timedelta:
    return timedelta(seconds=seconds)
