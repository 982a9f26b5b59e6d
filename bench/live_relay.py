"""The baseline for bench/messages.py: a bare aiohttp WebSocket relay with no database.

Run as `python -m bench.live_relay PORT`. Client N connects to GET /ws?id=N and gets
{"type": "hello"}; its {"type": "send", "to": M, "text": ..., "ref": ...} is pushed to every
socket of client M as {"type": "message", "from": N, "text": ...} and answered
{"type": "sent", "ref": ...}. That is the floor cost of two WebSocket hops through one Python
process; GET /healthz says it is up.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from aiohttp import WSMsgType, web


class Relay:
    def __init__(self) -> None:
        self.sockets: defaultdict[int, set[web.WebSocketResponse]] = defaultdict(set)

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        me = int(request.query["id"])
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self.sockets[me].add(ws)
        try:
            await ws.send_json({"type": "hello"})
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                body = message.json()
                if body.get("type") != "send":
                    continue
                event = {"type": "message", "from": me, "text": body["text"]}
                for other in list(self.sockets.get(int(body["to"]), ())):
                    await other.send_json(event)
                await ws.send_json({"type": "sent", "ref": body.get("ref")})
        finally:
            self.sockets[me].discard(ws)
        return ws


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    relay = Relay()
    app = web.Application()
    app.router.add_get("/ws", relay.socket)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
