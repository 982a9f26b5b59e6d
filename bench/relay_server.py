"""The baseline SFU for bench/calls.py: aiortc's MediaRelay, decoding and re-encoding.

This is how an aiortc server forwards media without media/: every subscriber gets decoded
frames, and its sender encodes them again. Run as `python -m bench.relay_server PORT [ADDRESS]`
(ADDRESS, 127.0.0.1 by default, is where it serves HTTP and gathers ICE).
It speaks one tiny endpoint: POST /offer {"call", "role", "sdp"} -> {"sdp"}.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from media.aiortc_glue import restrict_host_addresses

OTHER = {"mentor": "mentee", "mentee": "mentor"}


class LateTrack(MediaStreamTrack):
    """The other side's relayed track, once that side has joined."""

    def __init__(self, kind: str, source: asyncio.Future[MediaStreamTrack]) -> None:
        super().__init__()
        self.kind = kind
        self._source = source

    async def recv(self) -> Any:
        return await (await self._source).recv()


class Relay:
    def __init__(self, address: str) -> None:
        self.address = address
        self.relay = MediaRelay()
        self.sources: dict[tuple[str, str, str], asyncio.Future[MediaStreamTrack]] = {}
        self.pcs: list[RTCPeerConnection] = []

    def source(self, call: str, role: str, kind: str) -> asyncio.Future[MediaStreamTrack]:
        key = (call, role, kind)
        if key not in self.sources:
            self.sources[key] = asyncio.get_running_loop().create_future()
        return self.sources[key]

    async def offer(self, request: web.Request) -> web.Response:
        body = await request.json()
        call, role = str(body["call"]), body["role"]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # not Google's STUN
        self.pcs.append(pc)
        for kind in ("audio", "video"):
            pc.addTransceiver(LateTrack(kind, self.source(call, OTHER[role], kind)), "sendrecv")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            future = self.source(call, role, track.kind)
            if not future.done():
                future.set_result(self.relay.subscribe(track))

        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        restrict_host_addresses(pc, (self.address,))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})


def main() -> None:
    address = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    relay = Relay(address)
    app = web.Application()
    app.router.add_post("/offer", relay.offer)
    web.run_app(app, host=address, port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
