"""Recordings through the real app: who may list, play and download them (and that everyone
else gets the same 404), range requests, paths that try to leave the folder, retention, and
the mentor's switch that keeps mentees from asking for a recording."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.config import CONFIG
from server.db.models import Booking, Dispute
from server.recordings.service import RECORDINGS, Recordings
from tests.conftest import FakeClock
from tests.integration.recordings.support import write_recording
from tests.support.booking import PROFILE, Client, Site, book, first_slot
from tests.support.calls import add_booking

MENTOR_BYTES = bytes(range(256)) * 40  # 10,240 bytes
MENTEE_BYTES = bytes(reversed(range(256))) * 30


@dataclass
class World:
    site: Site
    clock: FakeClock
    mentor: Client
    mentee: Client
    booking_id: int
    mentor_id: int
    mentor_token: str

    @property
    def recordings(self) -> Recordings:
        return self.site.server.app[RECORDINGS]

    @property
    def directory(self) -> Path:
        return Path(self.site.server.app[CONFIG].recording_dir)

    def urls(self) -> list[str]:
        b = self.booking_id
        return [f"/api/bookings/{b}/recordings", f"/recordings/{b}/mentor.webm", self.page]

    @property
    def page(self) -> str:
        return f"/bookings/{self.booking_id}/recording"


@pytest.fixture
async def world(client: TestClient[Any, Any], aiohttp_client: Any, clock: FakeClock) -> World:
    assert isinstance(client.server, TestServer)
    site = Site(client.server, aiohttp_client)
    mentor, mentor_id, mentor_token = await site.mentor("meera@example.org")
    mentee, mentee_id, _ = await site.user("kiran@example.org")
    booking_id = await add_booking(
        mentee, mentor_id, mentee_id, starts_at=clock.now - timedelta(hours=2), status="completed"
    )
    found = World(site, clock, mentor, mentee, booking_id, mentor_id, mentor_token)
    write_recording(
        found.directory,
        booking_id,
        started_at=clock.now - timedelta(hours=2),
        stopped_at=clock.now - timedelta(hours=1, minutes=50),
        files={"mentor": MENTOR_BYTES, "mentee": MENTEE_BYTES},
        offsets={"mentor": 0.0, "mentee": 1.25},
    )
    return found


async def test_both_participants_list_play_and_download(world: World) -> None:
    for who in (world.mentee, world.mentor):
        listed = await who.get(f"/api/bookings/{world.booking_id}/recordings")
        assert listed.status == 200, await listed.text()
        body = await listed.json()
        assert body["started_at"].endswith("Z") and body["stopped_at"].endswith("Z")
        assert body["files"] == [
            {
                "role": "mentor",
                "name": "mentor.webm",
                "size": len(MENTOR_BYTES),
                "url": f"/recordings/{world.booking_id}/mentor.webm",
                "offset_seconds": 0.0,
            },
            {
                "role": "mentee",
                "name": "mentee.webm",
                "size": len(MENTEE_BYTES),
                "url": f"/recordings/{world.booking_id}/mentee.webm",
                "offset_seconds": 1.25,
            },
        ]
        played = await who.get(f"/recordings/{world.booking_id}/mentee.webm")
        assert played.status == 200
        assert await played.read() == MENTEE_BYTES
        assert played.headers["Content-Type"] == "video/webm"
        assert played.headers["Cache-Control"].startswith("private")
        assert played.headers["Content-Disposition"].startswith("inline")
        assert played.headers["Accept-Ranges"] == "bytes"
        saved = await who.get(f"/recordings/{world.booking_id}/mentor.webm?download=1")
        assert saved.status == 200 and await saved.read() == MENTOR_BYTES
        disposition = saved.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="booking-{world.booking_id}-mentor.webm"'

        page = await who.get(world.page)
        assert page.status == 200
        html = await page.text()
        assert html.count("<video controls") == 2
        assert 'data-offset="1.250"' in html
        assert f"/recordings/{world.booking_id}/mentee.webm?download=1" in html
        dashboard = await (await who.get("/dashboard")).text()
        assert f'href="/bookings/{world.booking_id}/recording">Watch the recording' in dashboard


async def test_a_range_request_gets_exactly_those_bytes(world: World) -> None:
    url = f"/recordings/{world.booking_id}/mentor.webm"
    part = await world.mentee.get(url, headers={"Range": "bytes=100-199"})
    assert part.status == 206
    assert await part.read() == MENTOR_BYTES[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(MENTOR_BYTES)}"
    assert part.headers["Content-Length"] == "100"
    assert part.headers["Content-Type"] == "video/webm"
    tail = await world.mentee.get(url, headers={"Range": "bytes=-24"})
    assert tail.status == 206 and await tail.read() == MENTOR_BYTES[-24:]
    beyond = await world.mentee.get(url, headers={"Range": "bytes=999999-"})
    assert beyond.status == 416


async def test_others_anonymous_and_admins_without_a_dispute_get_404(world: World) -> None:
    stranger, _id, _token = await world.site.user("nosy@example.org")
    anonymous = await world.site.make_client(world.site.server)
    admin, _token = await world.site.admin()
    for who in (stranger, anonymous, admin):
        for url in world.urls():
            response = await who.get(url, allow_redirects=False)
            assert response.status == 404, (url, response.status)
    # The same 404 as for a booking that has no recording, or does not exist.
    assert (await stranger.get("/api/bookings/999999/recordings")).status == 404
    missing = await (await stranger.get(world.urls()[0])).json()
    assert missing["error"]["code"] == "not_found"

    # A dispute on the booking lets administrators watch it (and only then).
    async with world.recordings.db.write() as s:
        booking = await s.get(Booking, world.booking_id)
        assert booking is not None
        s.add(
            Dispute(
                booking_id=world.booking_id,
                mentee_id=booking.mentee_id,
                reason="The mentor was rude.",
                status="open",
                opened_at=world.clock.now,
            )
        )
    for url in world.urls():
        assert (await admin.get(url)).status == 200, url
    assert (await stranger.get(world.urls()[1])).status == 404
    queue = await (await admin.get("/admin/disputes")).text()
    assert f'href="/bookings/{world.booking_id}/recording"' in queue


@pytest.mark.parametrize(
    "tail",
    [
        "admin.webm",
        "recording.json",
        "..%2Fmentor.webm",
        "%2E%2E%2F%2E%2E%2Fsecret_key.webm",
        "mentor.webm%00",
        "MENTOR.webm",
        "mentor.webm/",
        "mentee%2F..%2Fmentor.webm",
    ],
)
async def test_other_names_and_traversal_get_404(world: World, tail: str) -> None:
    response = await world.mentee.get(f"/recordings/{world.booking_id}/{tail}")
    assert response.status == 404


async def test_names_in_the_manifest_are_never_followed(world: World) -> None:
    folder = world.directory / str(world.booking_id)
    (folder / "recording.json").write_text(
        '{"files": {"mentor": {"name": "../../secret_key", "offset_seconds": "soon"}}}'
    )
    listed = await (await world.mentee.get(f"/api/bookings/{world.booking_id}/recordings")).json()
    assert [f["name"] for f in listed["files"]] == ["mentor.webm", "mentee.webm"]
    assert [f["offset_seconds"] for f in listed["files"]] == [0.0, 0.0]
    assert listed["started_at"] is None
    played = await world.mentee.get(f"/recordings/{world.booking_id}/mentor.webm")
    assert await played.read() == MENTOR_BYTES
    (folder / "recording.json").write_text("not json")
    (folder / "mentee.webm").unlink()  # that side never sent media
    listed = await (await world.mentee.get(f"/api/bookings/{world.booking_id}/recordings")).json()
    assert [f["role"] for f in listed["files"]] == ["mentor"]
    assert (await world.mentee.get(f"/recordings/{world.booking_id}/mentee.webm")).status == 404


async def test_retention_deletes_only_old_recordings_and_says_so(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    now, directory = world.clock.now, world.directory
    old = write_recording(
        directory,
        12,
        started_at=now - timedelta(days=31, minutes=10),
        stopped_at=now - timedelta(days=31),
        files={"mentor": b"x" * 4_200_000},
    )
    running_old = write_recording(  # the process died: no stop time, its start decides
        directory, 13, started_at=now - timedelta(days=40), stopped_at=None, files={"mentee": b"y"}
    )
    recent = write_recording(
        directory,
        14,
        started_at=now - timedelta(days=30),
        stopped_at=now - timedelta(days=30) + timedelta(minutes=20),
        files={"mentor": b"z"},
    )
    no_manifest = directory / "15"
    no_manifest.mkdir()
    (no_manifest / "mentor.webm").write_bytes(b"w" * 10)
    stamp = (now - timedelta(days=35)).timestamp()
    os.utime(no_manifest / "mentor.webm", (stamp, stamp))
    not_a_booking = directory / "scratch"
    not_a_booking.mkdir()

    world.recordings.last_retention = None  # the app's sweeper ran it once at start-up
    with caplog.at_level(logging.INFO, logger="micromentor.recordings"):
        assert await world.recordings.sweep() == 3
    assert not old.exists() and not running_old.exists() and not no_manifest.exists()
    assert recent.exists() and not_a_booking.exists()
    assert (directory / str(world.booking_id)).exists()
    lines = [r.getMessage() for r in caplog.records if r.name == "micromentor.recordings"]
    assert "deleted the recording of booking 12 (31 days old, 4.2 MB)" in lines
    assert "deleted the recording of booking 13 (40 days old, 0.0 MB)" in lines
    assert "deleted the recording of booking 15 (35 days old, 0.0 MB)" in lines

    # At most once an hour: a recording that ages meanwhile waits for the next run.
    world.clock.advance(minutes=30)  # 30 days and 10 minutes old now
    assert await world.recordings.sweep() == 0
    assert recent.exists()
    world.clock.advance(minutes=30)
    assert await world.recordings.sweep() == 1
    assert not recent.exists()


async def test_a_mentee_asks_for_a_recording_unless_the_mentor_turned_it_off(
    world: World,
) -> None:
    site = world.site
    _strict, strict_id, _ = await site.mentor("strict@example.org", allow_recording=False)
    _open, open_id, _ = await site.mentor("open@example.org")
    mentee, _mentee_id, token = await site.user("asks@example.org")

    refused = await book(mentee, token, strict_id, await first_slot(mentee, strict_id), record=True)
    assert refused.status == 409
    error = (await refused.json())["error"]
    assert error["code"] == "recording_off" and error["field"] == "record"
    without = await book(mentee, token, strict_id, await first_slot(mentee, strict_id))
    assert without.status == 201, await without.text()
    assert (await without.json())["booking"]["record"] is False

    later = await first_slot(mentee, open_id, 4)  # not at the time of the first booking
    asked = await book(mentee, token, open_id, later, record=True)
    assert asked.status == 201, await asked.text()
    assert (await asked.json())["booking"]["record"] is True

    # The option is offered only where it can be taken.
    assert 'name="record"' not in await (await mentee.get(f"/mentors/{strict_id}")).text()
    assert 'name="record"' in await (await mentee.get(f"/mentors/{open_id}")).text()


async def test_the_mentor_turns_recording_off_and_on(world: World) -> None:
    mentor, me = world.mentor, world.mentor_id
    headers = {"X-CSRF-Token": world.mentor_token}
    assert (await (await mentor.get(f"/api/mentors/{me}")).json())["allow_recording"] is True
    off = await mentor.put(
        "/api/mentors/profile", json={**PROFILE, "allow_recording": False}, headers=headers
    )
    assert off.status == 200, await off.text()
    assert (await off.json())["mentor"]["allow_recording"] is False
    kept = await mentor.put("/api/mentors/profile", json=PROFILE, headers=headers)
    assert (await kept.json())["mentor"]["allow_recording"] is False  # left out: unchanged
    assert (await (await mentor.get(f"/api/mentors/{me}")).json())["allow_recording"] is False
    form = await (await mentor.get("/become-a-mentor")).text()
    assert 'name="allow_recording" data-type="bool" >' in form  # unchecked
    bad = await mentor.put(
        "/api/mentors/profile", json={**PROFILE, "allow_recording": "yes"}, headers=headers
    )
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "allow_recording"
    on = await mentor.put(
        "/api/mentors/profile", json={**PROFILE, "allow_recording": True}, headers=headers
    )
    assert (await on.json())["mentor"]["allow_recording"] is True
