"""Bad input on one call socket never disturbs another call: errors, refusals, frames flowing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError

from tests.integration.conftest import Site
from tests.support.calls import CallParticipant, add_booking
from tests.support.media import Clip, wait_for


async def read_until_error(ws: Any) -> dict[str, Any]:
    while True:
        message = await ws.receive(timeout=10)
        assert message.type == WSMsgType.TEXT, message
        data: dict[str, Any] = json.loads(message.data)
        if data["type"] == "error":
            return data


async def test_bad_input_gets_errors_while_another_call_keeps_flowing(
    site: Site, video_clip: Clip, audio_clip: Clip
) -> None:
    mentor_client, mentor_id = await site.user("mentor@example.org", "mentor")
    mentee_client, mentee_id = await site.user("mentee@example.org", "mentee")
    rogue_client, rogue_id = await site.user("rogue@example.org", "mentee")
    other_mentor, other_mentor_id = await site.user("other@example.org", "mentor")
    good_call = await add_booking(mentor_client, mentor_id, mentee_id)
    rogue_call = await add_booking(other_mentor, other_mentor_id, rogue_id)

    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    try:
        await mentor.join(good_call)
        await mentee.join(good_call)
        await wait_for(
            lambda: mentor.video_frames() > 15 and mentee.video_frames() > 15,
            what="the good call's video",
        )
        before = (mentor.video_frames(), mentee.video_frames())

        async def rogue_socket() -> Any:
            info = await (await rogue_client.get(f"/api/bookings/{rogue_call}/join")).json()
            ws = await rogue_client.ws_connect(f"/ws/call/{rogue_call}?token={info['token']}")
            assert json.loads((await ws.receive(timeout=10)).data)["type"] == "state"
            return ws

        ws = await rogue_socket()
        cases = [
            ("not json{", "bad_json"),
            ("[1, 2]", "bad_message"),
            (json.dumps({"type": "dance"}), "unknown_type"),
            (json.dumps({"type": "offer", "sdp": "hello, I am not SDP"}), "bad_offer"),
            (
                json.dumps({"type": "offer", "sdp": "v=0\r\nm=video 9 RTP/SAVPF 96\r\n"}),
                "bad_offer",
            ),
            (json.dumps({"type": "offer", "sdp": 42}), "bad_field"),
            (json.dumps({"type": "offer", "sdp": "x", "evil": 1}), "bad_field"),
            (
                json.dumps({"type": "candidate", "candidate": "candidate:1 1 udp", "sdpMid": "0"}),
                "no_offer",
            ),
            (json.dumps({"type": "chat", "text": "x" * 1001}), "bad_field"),
            (json.dumps({"type": "chat", "text": "   "}), "bad_field"),
        ]
        for text, code in cases:
            await ws.send_str(text)
            assert (await read_until_error(ws))["code"] == code, text
        await ws.send_bytes(b"\x00\x01")
        assert (await read_until_error(ws))["code"] == "bad_message"

        await ws.send_str("x" * (1024 * 1024))  # a 1 MB message: the socket is closed
        closing = await ws.receive(timeout=10)
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        assert ws.close_code == 1009

        flood = await rogue_socket()
        for _ in range(1000):
            await flood.send_str(json.dumps({"type": "chat", "text": "spam"}))
        codes = []
        while True:
            message = await flood.receive(timeout=10)
            if message.type != WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if data["type"] == "error":
                codes.append(data["code"])
        assert "rate_limited" in codes
        assert flood.close_code == 1008

        # The rogue tries the good call with a token that is not theirs.
        token = (await mentor.join_info(good_call))["token"]
        with pytest.raises(WSServerHandshakeError) as refused:
            await rogue_client.ws_connect(f"/ws/call/{good_call}?token={token}")
        assert refused.value.status == 403

        # Meanwhile the good call kept going, and keeps going.
        await wait_for(
            lambda: (
                mentor.video_frames() > before[0] + 30 and mentee.video_frames() > before[1] + 30
            ),
            what="frames still flowing",
        )
        assert mentor.closed_with is None and mentee.closed_with is None
        assert (await mentor_client.get("/healthz")).status == 200
    finally:
        await mentor.close()
        await mentee.close()
