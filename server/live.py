"""Live events for the logged-in pages: each user's open sockets on this node, and a fan-out
that pushes an event to all of them. Domains publish (a message, a read receipt, a new unread
count); they never hold sockets themselves.

One node only: the sockets of a user connected to another node do not get the event (the
scale-out issue carries events between nodes through PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from server.http.security import current_user

log = logging.getLogger("micromentor.live")
Send = Callable[[dict[str, Any]], Awaitable[None]]
Greeter = Callable[[int], Awaitable[dict[str, Any]]]
Close = Callable[[], Awaitable[object]]
# A socket that cannot take an event within this long is slow or gone; the event is dropped
# for it (the page catches up from the REST calls when it reconnects).
SEND_TIMEOUT_SECONDS = 5


class LiveHub:
    def __init__(self) -> None:
        self._sockets: dict[int, set[Send]] = {}
        self._closers: dict[Send, Close] = {}
        # Each domain's unread counts, merged into the "hello" a socket gets when it opens.
        self.greeters: list[Greeter] = []

    async def greeting(self, user_id: int) -> dict[str, Any]:
        counts: dict[str, Any] = {}
        for greeter in self.greeters:
            counts.update(await greeter(user_id))
        return counts

    def connect(self, user_id: int, send: Send, close: Close) -> None:
        self._sockets.setdefault(user_id, set()).add(send)
        self._closers[send] = close

    def disconnect(self, user_id: int, send: Send) -> None:
        self._closers.pop(send, None)
        sockets = self._sockets.get(user_id)
        if sockets is not None:
            sockets.discard(send)
            if not sockets:
                del self._sockets[user_id]

    def online(self, user_id: int) -> bool:
        return user_id in self._sockets

    @property
    def connections(self) -> int:
        return sum(len(s) for s in self._sockets.values())

    async def publish(self, user_ids: Iterable[int], event: dict[str, Any]) -> None:
        """Sends `event` to every open socket of each user, concurrently."""
        targets = [send for uid in set(user_ids) for send in self._sockets.get(uid, ())]
        if len(targets) == 1:
            await _send(targets[0], event)
        elif targets:
            await asyncio.gather(*(_send(send, event) for send in targets))

    async def close_user(self, user_id: int) -> int:
        """Closes every socket of one user on this node (the account was suspended); their
        pages reconnect and are refused. Returns how many there were."""
        closers = [self._closers[s] for s in self._sockets.get(user_id, ()) if s in self._closers]
        if closers:
            await asyncio.gather(*(close() for close in closers), return_exceptions=True)
        return len(closers)

    async def close_all(self) -> None:
        """Closes every socket (the server is stopping; pages reconnect to the next one)."""
        closers = list(self._closers.values())
        if closers:
            await asyncio.gather(*(close() for close in closers), return_exceptions=True)


async def _send(send: Send, event: dict[str, Any]) -> None:
    try:
        await asyncio.wait_for(send(event), SEND_TIMEOUT_SECONDS)
    except Exception as exc:  # a socket closing as we write; its page catches up on reconnect
        log.debug("live event not delivered: %r", exc)


async def menu_badges(request: web.Request) -> dict[str, Any]:
    """Every page's unread counts for the menu: the same numbers a live socket's "hello" gives,
    so the page and the socket never disagree."""
    user = current_user(request)
    counts = await request.app[LIVE].greeting(user.id) if user is not None else {}
    return {
        "unread_messages": counts.get("messages", 0),
        "unread_notifications": counts.get("notifications", 0),
    }


LIVE = web.AppKey("live", LiveHub)
