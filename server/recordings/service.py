"""Recordings of calls: who may play them, what the folder of one holds, and retention.

The SFU (media/recording/recorder.py) writes one WebM per participant under
`{recording_dir}/{booking_id}/`: `mentor.webm`, `mentee.webm` and a manifest `recording.json`
({"booking_id", "started_at", "stopped_at", "files": {"mentor": {"name", "offset_seconds"},
...}}) where `offset_seconds` is
where that file's time 0 sits on the recording's shared timeline. This module only reads them:
the file names are always the convention's (a name in the manifest is never followed), and a
file that is missing or empty is left out.

Only the booking's two participants may list, play or download its recordings; an
administrator only while the booking has a dispute. Anyone else gets the same 404 as for a
booking without recordings, so nothing tells whether one exists.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from media.recording.recorder import MANIFEST, ROLES
from server.clock import Clock
from server.db.engine import Database
from server.db.models import Booking, Dispute, User
from server.http.errors import ApiError

log = logging.getLogger("micromentor.recordings")

# The retention job runs from the sweeper, at most this often.
RETENTION_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class RecordingFile:
    role: str  # mentor or mentee
    path: Path
    size: int
    offset_seconds: float  # where this file's time 0 sits on the shared timeline

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Recording:
    booking_id: int
    folder: Path
    started_at: datetime | None
    stopped_at: datetime | None
    files: tuple[RecordingFile, ...]

    def file(self, role: str) -> RecordingFile | None:
        return next((f for f in self.files if f.role == role), None)


@dataclass(frozen=True)
class Playback:
    """A recording the user may watch, with what the player page shows beside it."""

    booking: Booking
    recording: Recording
    names: dict[str, str]  # role -> the participant's name


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _offset(entry: Any) -> float:
    value = entry.get("offset_seconds") if isinstance(entry, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return max(0.0, float(value))


def _manifest(path: Path) -> dict[str, Any]:
    """The manifest as a dict; {} when it is missing or unreadable (a file may still play)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_recording(folder: Path, booking_id: int) -> Recording | None:
    """What a booking's folder holds; None when it has no playable file."""
    if not folder.is_dir():
        return None
    manifest = _manifest(folder / MANIFEST)
    entries = manifest.get("files")
    entries = entries if isinstance(entries, dict) else {}
    files = []
    for role in ROLES:
        path = folder / f"{role}.webm"
        try:
            size = path.stat().st_size if path.is_file() else 0
        except OSError:
            size = 0
        if size > 0:
            files.append(RecordingFile(role, path, size, _offset(entries.get(role))))
    if not files:
        return None
    return Recording(
        booking_id,
        folder,
        _instant(manifest.get("started_at")),
        _instant(manifest.get("stopped_at")),
        tuple(files),
    )


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


class Recordings:
    def __init__(self, db: Database, directory: Path, *, retention_days: int, clock: Clock) -> None:
        self.db = db
        self.directory = directory
        self.retention = timedelta(days=retention_days)
        self.clock = clock
        self.last_retention: datetime | None = None

    # -- reading --------------------------------------------------------------------------------

    def folder(self, booking_id: int) -> Path:
        return self.directory / str(booking_id)

    def of_booking(self, booking_id: int) -> Recording | None:
        return read_recording(self.folder(booking_id), booking_id)

    def exists(self, booking_id: int) -> bool:
        """For pages: a "Watch the recording" link where there is something to watch."""
        return self.of_booking(booking_id) is not None

    async def playback(self, user: User | None, booking_id: int) -> Playback:
        """The booking's recording if `user` may watch it; the same 404 for every refusal."""
        missing = ApiError(404, "not_found", "no such recording")
        if user is None:
            raise missing
        async with self.db.read() as s:
            booking = await s.get(Booking, booking_id)
            if booking is None:
                raise missing
            if booking.role_of(user.id) is None:
                disputed = await s.scalar(
                    select(Dispute.id).where(Dispute.booking_id == booking_id)
                )
                if not (user.is_admin and disputed is not None):
                    raise missing
            people = await s.execute(
                select(User.id, User.name).where(
                    User.id.in_((booking.mentor_id, booking.mentee_id))
                )
            )
            by_id = {row.id: row.name for row in people}
        recording = self.of_booking(booking_id)
        if recording is None:
            raise missing
        names = {
            "mentor": by_id.get(booking.mentor_id, "Mentor"),
            "mentee": by_id.get(booking.mentee_id, "Mentee"),
        }
        return Playback(booking, recording, names)

    async def file(self, user: User | None, booking_id: int, role: str) -> RecordingFile:
        """One participant's file, for a user who may watch the recording; 404 otherwise."""
        if role not in ROLES:  # the path's only free part: nothing else is ever opened
            raise ApiError(404, "not_found", "no such recording")
        found = (await self.playback(user, booking_id)).recording.file(role)
        if found is None:
            raise ApiError(404, "not_found", "no such recording")
        return found

    # -- retention ------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """The retention job, from the sweeper: at most once per RETENTION_EVERY."""
        now = self.clock()
        if self.last_retention is not None and now - self.last_retention < RETENTION_EVERY:
            return 0
        self.last_retention = now
        return await self.delete_old()

    async def delete_old(self) -> int:
        """Deletes every recording older than [recording] retention_days; how many."""
        return await asyncio.to_thread(self._delete_old, self.clock())

    def _delete_old(self, now: datetime) -> int:
        if not self.directory.is_dir():
            return 0
        deleted = 0
        for folder in sorted(self.directory.iterdir()):
            if not (folder.is_dir() and folder.name.isascii() and folder.name.isdigit()):
                continue
            try:
                made = self._made_at(folder)
                if now - made <= self.retention:
                    continue
                size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
            except OSError:  # it changed under us (being written or deleted): next time
                continue
            shutil.rmtree(folder, ignore_errors=True)
            if folder.exists():
                log.warning("could not delete the recording of booking %s", folder.name)
                continue
            deleted += 1
            log.info(
                "deleted the recording of booking %s (%d days old, %s)",
                folder.name,
                (now - made).days,
                megabytes(size),
            )
        return deleted

    def _made_at(self, folder: Path) -> datetime:
        """When the recording ended (else began), from its manifest; else when its newest file
        (or the empty folder) was last modified."""
        manifest = _manifest(folder / MANIFEST)
        at = _instant(manifest.get("stopped_at")) or _instant(manifest.get("started_at"))
        if at is not None:
            return at
        times = [f.stat().st_mtime for f in folder.iterdir() if f.is_file()]
        return datetime.fromtimestamp(max(times, default=folder.stat().st_mtime), UTC)


RECORDINGS = web.AppKey("recordings", Recordings)
