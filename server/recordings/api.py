"""The recordings API: a booking's recorded files, and each file with HTTP range requests.

Every refusal is a 404, for anonymous requests too: nobody learns that a recording exists
unless they may watch it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.http.formats import iso
from server.http.requests import path_id
from server.http.routes import QueryParam, RouteTable
from server.http.security import current_user
from server.recordings.service import RECORDINGS, Recording

routes = RouteTable("recordings")
B = r"{booking_id:\d+}"


def file_url(booking_id: int, role: str) -> str:
    return f"/recordings/{booking_id}/{role}.webm"


def recording_json(recording: Recording) -> dict[str, Any]:
    return {
        "booking_id": recording.booking_id,
        "started_at": iso(recording.started_at),
        "stopped_at": iso(recording.stopped_at),
        "files": [
            {
                "role": f.role,
                "name": f.name,
                "size": f.size,
                "url": file_url(recording.booking_id, f.role),
                "offset_seconds": f.offset_seconds,
            }
            for f in recording.files
        ],
    }


@routes.get(
    f"/api/bookings/{B}/recordings",
    "The call's recorded files, one per participant, with their offsets on the shared "
    "timeline (the booking's participants; administrators when it is disputed)",
    errors=(404,),
    login=True,
)
async def list_recordings(request: web.Request) -> web.Response:
    found = await request.app[RECORDINGS].playback(
        current_user(request), path_id(request, "booking_id")
    )
    return web.json_response(recording_json(found.recording))


@routes.get(
    f"/recordings/{B}/{{role}}.webm",
    "One participant's recording (role mentor or mentee), WebM with VP8 and Opus; answers "
    "HTTP range requests (206) so players can seek",
    kind="text",
    media_type="video/webm",
    also_ok=(206,),
    errors=(404, 416),
    login=True,
    query=(QueryParam("download", "1: as an attachment to save", "integer"),),
)
async def recording_file(request: web.Request) -> web.StreamResponse:
    booking_id = path_id(request, "booking_id")
    found = await request.app[RECORDINGS].file(
        current_user(request), booking_id, request.match_info["role"]
    )
    disposition = "attachment" if request.query.get("download") == "1" else "inline"
    headers = {
        "Content-Type": "video/webm",
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f'{disposition}; filename="booking-{booking_id}-{found.name}"',
        "X-Content-Type-Options": "nosniff",
    }
    return web.FileResponse(found.path, headers=headers)
