"""Media in worker processes ([media] workers): real worker processes, real aiortc peers over
loopback, through the real HTTP API and call WebSocket."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from media.room import Room
from media.workers.proxy import RemoteRoom
from server.calls.service import CALLS
from server.db.models import Booking
from server.settings_loader import ConfigError
from tests.conftest import make_config
from tests.integration.conftest import MakeClient, Site, make_site
from tests.support.calls import CallParticipant, add_booking
from tests.support.media import Clip, wait_for

Client = TestClient[Any, Any]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def two_workers(
    tmp_path: Path, aiohttp_server: Any, aiohttp_client: MakeClient
) -> AsyncIterator[Site]:
    site = await make_site(
        tmp_path, aiohttp_server, aiohttp_client, manual_clock=False, MICROMENTOR_MEDIA_WORKERS="2"
    )
    yield site
    await site.server.close()


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    found: Samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def by_worker(found: Samples, name: str, **labels: str) -> dict[str, float]:
    return {
        dict(key)["worker"]: value
        for (sample, key), value in found.items()
        if sample == name and all((k, v) in key for k, v in labels.items())
    }


def media_flows(participant: CallParticipant, since: tuple[int, int] = (0, 0)) -> bool:
    video, audio = since
    received = participant.peer.received
    return len(received["video"].frames) > video + 20 and len(received["audio"].frames) > audio + 20


async def test_two_calls_go_to_two_workers_and_carry_media(
    two_workers: Site, video_clip: Clip, audio_clip: Clip
) -> None:
    site = two_workers
    calls = site.server.app[CALLS]
    assert calls.workers is not None
    sides: list[CallParticipant] = []
    try:
        for n in range(2):
            mentor_client, mentor_id = await site.user(f"m{n}@example.org", "mentor")
            mentee_client, mentee_id = await site.user(f"e{n}@example.org", "mentee")
            booking_id = await add_booking(mentor_client, mentor_id, mentee_id)
            for client in (mentor_client, mentee_client):
                side = CallParticipant(client, video_clip, audio_clip)
                sides.append(side)
                await side.join(booking_id)
        await wait_for(lambda: all(media_flows(s) for s in sides), 30, what="media in both calls")
        assert {type(room) for room in calls.rooms.live()} == {RemoteRoom}

        found = await scrape(sides[0].client)
        assert by_worker(found, "micromentor_media_worker_rooms") == {"0": 1, "1": 1}
        assert by_worker(found, "micromentor_media_worker_up") == {"0": 1, "1": 1}
        assert found[("micromentor_rooms_open", ())] == 2
        cpu = by_worker(found, "micromentor_media_worker_cpu_seconds_total")
        assert len(cpu) == 2 and all(seconds > 0 for seconds in cpu.values())
        for _ in range(100):  # the workers report their counts once a second
            found = await scrape(sides[0].client)
            packets = by_worker(found, "micromentor_media_worker_packets_total", direction="out")
            if len(packets) == 2 and all(n > 50 for n in packets.values()):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the workers' packets were not counted: {packets}")
        video_out = (
            "micromentor_forwarded_packets_total",
            (("direction", "out"), ("kind", "video")),
        )
        assert found[video_out] > 50  # the node's totals count the workers' calls
    finally:
        for side in sides:
            await side.close()

    processes = [slot.process for slot in calls.workers.slots]
    await site.server.close()  # the workers close their rooms and exit: no orphans
    for process in processes:
        assert process is not None and process.exited is not None
        assert process.exited.done() and process.exited.result() == 0
        with pytest.raises(ProcessLookupError):
            os.kill(process.pid, 0)


async def test_a_killed_worker_call_resumes_with_the_same_end_time(
    two_workers: Site, video_clip: Clip, audio_clip: Clip
) -> None:
    site = two_workers
    calls = site.server.app[CALLS]
    assert calls.workers is not None
    mentor_client, mentee_client, booking_id = await site.booked_pair()
    first = [CallParticipant(c, video_clip, audio_clip) for c in (mentor_client, mentee_client)]
    again: list[CallParticipant] = []
    try:
        for side in first:
            await side.join(booking_id)
        await wait_for(lambda: all(media_flows(s) for s in first), 30, what="media")
        await wait_for(lambda: first[0].of_type("state")[-1]["ends_at"] is not None, what="start")
        ends_at = first[0].of_type("state")[-1]["ends_at"]
        room = calls.rooms.get(str(booking_id))
        assert isinstance(room, RemoteRoom)
        slot = calls.workers.slots[room.worker]
        assert slot.process is not None
        killed = slot.process.pid

        os.kill(killed, signal.SIGKILL)
        for side in first:  # both are told, as when the whole server restarts
            assert (await side.next_message("ended"))["reason"] == "server_shutdown"
            assert await side.wait_closed() == 1000
            await side.close()
        await wait_for(
            lambda: slot.up and slot.process is not None and slot.process.pid != killed,
            30,
            what="the worker restarted",
        )

        again = [CallParticipant(c, video_clip, audio_clip) for c in (mentor_client, mentee_client)]
        for side in again:  # the pages rejoin
            await side.join(booking_id)
        await wait_for(lambda: all(media_flows(s) for s in again), 30, what="media again")
        for side in again:
            assert side.of_type("state")[-1]["ends_at"] == ends_at
        async with calls.db.read() as s:
            booking = await s.get(Booking, booking_id)
        assert booking is not None
        assert (booking.status, booking.call_ended_at) == ("in_call", None)
        assert booking.call_ends_at is not None
        assert booking.call_ends_at.isoformat().replace("+00:00", "Z") == ends_at
        found = await scrape(mentor_client)
        assert by_worker(found, "micromentor_media_worker_restarts_total")[str(slot.index)] == 1
        assert by_worker(found, "micromentor_media_worker_up") == {"0": 1, "1": 1}
    finally:
        for side in first + again:
            await side.close()


async def test_no_workers_keeps_the_room_in_the_main_process(site: Site) -> None:
    calls = site.server.app[CALLS]
    assert calls.workers is None  # the tests' configuration: [media] workers = 0
    mentor_client, mentor_id = await site.user("m@example.org", "mentor")
    _client, mentee_id = await site.user("e@example.org", "mentee")
    booking = await calls.booking(await add_booking(mentor_client, mentor_id, mentee_id))
    assert booking is not None
    assert isinstance(calls.room_for(booking), Room)


def test_the_workers_setting_is_checked(tmp_path: Path) -> None:
    assert make_config(tmp_path, MICROMENTOR_MEDIA_WORKERS="3").media.worker_count == 3
    one_per_core = make_config(tmp_path, MICROMENTOR_MEDIA_WORKERS="-1").media
    assert one_per_core.worker_count == len(os.sched_getaffinity(0))
    with pytest.raises(ConfigError, match=r"\[media\] workers: -1 \(one media worker per core\)"):
        make_config(tmp_path, MICROMENTOR_MEDIA_WORKERS="-2")
