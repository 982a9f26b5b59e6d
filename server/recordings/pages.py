"""The player page: the two participants' videos side by side (stacked on a phone), kept in
sync by web/static/player.js; without JavaScript each video still plays on its own."""

from __future__ import annotations

from aiohttp import web

from server.http.requests import path_id
from server.http.routes import RouteTable
from server.http.security import current_user
from server.http.templating import TEMPLATES
from server.recordings.api import file_url
from server.recordings.service import RECORDINGS

routes = RouteTable("pages")


@routes.page(
    r"/bookings/{booking_id:\d+}/recording",
    "Watch a call's recording (its participants; administrators when it is disputed)",
    errors=(404,),
    login=True,
)
async def recording_page(request: web.Request) -> web.Response:
    found = await request.app[RECORDINGS].playback(
        current_user(request), path_id(request, "booking_id")
    )
    recording = found.recording
    videos = [
        {
            "role": f.role,
            "name": found.names[f.role],
            "url": file_url(recording.booking_id, f.role),
            "offset": f"{f.offset_seconds:.3f}",
            "size_mb": f"{f.size / 1_000_000:.1f}",
        }
        for f in recording.files
    ]
    context = {"booking": found.booking, "recording": recording, "videos": videos}
    return await request.app[TEMPLATES].render(request, "recording.html", context)
