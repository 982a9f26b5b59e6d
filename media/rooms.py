"""The rooms this node hosts, by id."""

from __future__ import annotations

import asyncio

from media.events import EndReason
from media.room import Room


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    def get(self, room_id: str) -> Room | None:
        room = self._rooms.get(room_id)
        return room if room is not None and not room.ended else None

    def add(self, room: Room) -> None:
        self._rooms[room.room_id] = room

    def discard(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)

    def __len__(self) -> int:
        return sum(1 for room in self._rooms.values() if not room.ended)

    async def close_all(self, reason: EndReason) -> None:
        rooms = list(self._rooms.values())
        self._rooms.clear()
        await asyncio.gather(*(room.close(reason) for room in rooms), return_exceptions=True)
