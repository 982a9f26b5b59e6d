"""The rooms this node hosts, by id."""

from __future__ import annotations

import asyncio

from media.events import EndReason
from media.recording.recorder import RecordingTotals
from media.room import Room
from media.stats import MediaCounts


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}
        self.retired = MediaCounts()  # what closed rooms forwarded
        self.recordings = RecordingTotals()  # every room's recorders add to these

    def get(self, room_id: str) -> Room | None:
        room = self._rooms.get(room_id)
        return room if room is not None and not room.ended else None

    def add(self, room: Room) -> None:
        self._rooms[room.room_id] = room

    def discard(self, room_id: str) -> None:
        room = self._rooms.pop(room_id, None)
        if room is not None:
            self.retired.add(room.counts())

    def live(self) -> list[Room]:
        return [room for room in self._rooms.values() if not room.ended]

    def counts(self) -> MediaCounts:
        """Everything forwarded since start: closed rooms and open ones."""
        total = MediaCounts()
        total.add(self.retired)
        for room in self._rooms.values():
            total.add(room.counts())
        return total

    def __len__(self) -> int:
        return sum(1 for room in self._rooms.values() if not room.ended)

    async def close_all(self, reason: EndReason) -> None:
        rooms = list(self._rooms.values())
        self._rooms.clear()
        await asyncio.gather(*(room.close(reason) for room in rooms), return_exceptions=True)
