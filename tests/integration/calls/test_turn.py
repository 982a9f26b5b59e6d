"""Calls through the real coturn, with the generated config and credentials; and the SFU's
fixed UDP port range."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from server.app import create_app
from server.calls.service import CALLS
from tests.conftest import FAST_PASSWORDS, make_config
from tests.integration.conftest import Site
from tests.support.calls import CallParticipant, add_booking
from tests.support.coturn import allocate, free_udp_range, running_coturn
from tests.support.media import Clip, selected_candidate_type, wait_for
from tests.support.net import free_port
from turn.config import TurnSettings
from turn.credentials import ephemeral

SECRET = "campus-turn-secret"


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[TurnSettings]:
    low, high = free_udp_range(20)
    settings = TurnSettings(
        enabled=True, host="127.0.0.1", port=free_port(), relay_port_min=low, relay_port_max=high
    )
    # allow-loopback-peers is for this test alone: here the SFU and the peers are on loopback.
    with running_coturn(
        tmp_path, settings, SECRET, sfu_addresses=["127.0.0.1"], extra=["allow-loopback-peers"]
    ):
        yield settings


def test_coturns_own_client_allocates_with_a_generated_credential(coturn: TurnSettings) -> None:
    fresh = ephemeral(SECRET, "uclient", int(time.time()) + 600)
    result = allocate(coturn.port, fresh)
    assert result.returncode == 0, result.stdout[-800:]
    assert "Total lost packets 0" in result.stdout

    expired = ephemeral(SECRET, "uclient", int(time.time()) - 60)
    refused = allocate(coturn.port, expired)
    assert refused.returncode != 0
    assert "Cannot complete Allocation" in refused.stdout + refused.stderr


def test_the_generated_config_denies_loopback_peers_without_the_test_allowance(
    tmp_path: Path,
) -> None:
    settings = TurnSettings(
        enabled=True, host="127.0.0.1", port=free_port(), relay_port_min=50100, relay_port_max=50120
    )
    with running_coturn(tmp_path, settings, SECRET, sfu_addresses=[], extra=[]):
        result = allocate(settings.port, ephemeral(SECRET, "u", int(time.time()) + 600))
    assert "403 (Forbidden IP)" in result.stdout + result.stderr


async def test_a_call_whose_clients_only_use_turn_relays(
    coturn: TurnSettings,
    tmp_path: Path,
    aiohttp_server: Any,
    aiohttp_client: Any,
    video_clip: Clip,
    audio_clip: Clip,
) -> None:
    config = make_config(
        tmp_path,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_TURN_ENABLED="true",
        MICROMENTOR_TURN_HOST="127.0.0.1",
        MICROMENTOR_TURN_PORT=str(coturn.port),
        MICROMENTOR_TURN_SECRET=SECRET,
    )
    site = Site(
        await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS)), None, aiohttp_client
    )
    mentor_client, mentee_client, booking_id = await site.booked_pair()

    participants = []
    for client in (mentor_client, mentee_client):
        info = await (await client.get(f"/api/bookings/{booking_id}/join")).json()
        (server,) = info["ice_servers"]
        assert server["urls"][:2] == [
            f"turn:127.0.0.1:{coturn.port}?transport=udp",
            f"turn:127.0.0.1:{coturn.port}?transport=tcp",
        ]
        expiry = int(server["username"].split(":")[0])
        assert expiry > time.time() + 600  # the call plus a margin
        relay_only = RTCConfiguration(
            iceServers=[
                RTCIceServer(
                    urls=server["urls"][0],
                    username=server["username"],
                    credential=server["credential"],
                )
            ],
            iceTransportPolicy=RTCIceTransportPolicy.RELAY,
        )
        participants.append(CallParticipant(client, video_clip, audio_clip, relay_only))
    mentor, mentee = participants
    try:
        await mentor.join(booking_id)
        await mentee.join(booking_id)
        await wait_for(
            lambda: mentor.video_frames() > 30 and mentee.video_frames() > 30,
            seconds=30,
            what="video both ways through TURN",
        )
        assert selected_candidate_type(mentor.peer) == "relay"
        assert selected_candidate_type(mentee.peer) == "relay"
    finally:
        await mentor.close()
        await mentee.close()


async def test_sfu_sockets_stay_in_the_port_range_and_a_full_range_refuses_politely(
    tmp_path: Path,
    aiohttp_server: Any,
    aiohttp_client: Any,
    video_clip: Clip,
    audio_clip: Clip,
) -> None:
    low, high = free_udp_range(2)  # room for one call: two participants, one socket each
    config = make_config(
        tmp_path,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_MEDIA_UDP_PORT_MIN=str(low),
        MICROMENTOR_MEDIA_UDP_PORT_MAX=str(high),
    )
    site = Site(
        await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS)), None, aiohttp_client
    )
    mentor_client, mentor_id = await site.user("m@example.org", "mentor")
    mentee_client, mentee_id = await site.user("e@example.org", "mentee")
    late_client, late_id = await site.user("late@example.org", "mentee")
    first_call = await add_booking(mentor_client, mentor_id, mentee_id)
    second_call = await add_booking(mentor_client, mentor_id, late_id)
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    late = CallParticipant(late_client, video_clip, audio_clip)
    try:
        await mentor.join(first_call)
        await mentee.join(first_call)
        await wait_for(lambda: mentor.video_frames() > 10, what="the first call's video")
        room = mentor_client.app[CALLS].rooms.get(str(first_call))  # type: ignore[index]
        ports = []
        for participant in room.participants.values():
            for transceiver in participant.pc.getTransceivers():
                connection = transceiver.receiver.transport.transport._connection
                ports += [p.local_candidate.port for p in connection._protocols]
        assert ports and all(low <= port <= high for port in ports), ports

        await late.open_socket(second_call)
        await late.send({"type": "offer", "sdp": await late.peer.offer()})
        error = await late.next_message("error")
        assert error["code"] == "server_busy"
        seen = mentor.video_frames()
        await wait_for(lambda: mentor.video_frames() > seen + 30, what="the first call goes on")
    finally:
        for participant in (mentor, mentee, late):
            await participant.close()
