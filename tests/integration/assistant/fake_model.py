"""A local fake of an OpenAI-compatible model server (`POST /v1/chat/completions`, streamed as
server-sent events), on 127.0.0.1 at a random port. Each test sets how it answers: the pieces,
a delay before the first, a pause after the first until the test lets it go on, a stall, or an
error status. It keeps every request it received."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        return "\n".join(m["content"] for m in self.body["messages"])


@dataclass
class FakeModel:
    pieces: list[str] = field(default_factory=lambda: ["**Agenda**\n", "1. Intro", " (2 min)\n"])
    status: int = 200
    first_delay: float = 0.0  # seconds before the first piece
    between: float = 0.0  # seconds between pieces
    hold_after_first: bool = False  # wait for `go_on` after the first piece
    stall_after_first: bool = False  # never send more after the first piece
    endless: bool = False  # repeat the pieces forever (every `between` seconds)
    unstreamed: bool = False  # answer the whole reply as one JSON object
    requests: list[Received] = field(default_factory=list)
    go_on: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)  # ends every wait
    finished: bool = False
    cut_off: bool = False
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.completions)
        return app

    async def wait(self, seconds: float) -> None:
        """Sleeps, but never past the end of the test (`released`)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.released.wait(), seconds)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Received(dict(request.headers), await request.json()))
        if self.status != 200:
            return web.json_response(
                {"error": {"message": "model crashed", "type": "server_error"}},
                status=self.status,
            )
        await self.wait(self.first_delay)
        if self.unstreamed:  # a server that ignores `stream: true`
            message = {"role": "assistant", "content": "".join(self.pieces)}
            return web.json_response({"choices": [{"index": 0, "message": message}]})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            await self._send(response)
        except (ConnectionResetError, asyncio.CancelledError):
            self.cut_off = True  # the app closed the request before the reply's end
            return response
        self.finished = True
        return response

    async def _send(self, response: web.StreamResponse) -> None:
        role = {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
        await response.write(f"data: {json.dumps(role)}\n\n".encode())  # no content yet
        pieces = list(self.pieces)
        index = 0
        while index < len(pieces) or self.endless:
            piece = pieces[index % len(pieces)]
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if index == 0:
                if self.stall_after_first:
                    await self.wait(60)
                    return
                if self.hold_after_first:
                    await asyncio.wait_for(self.go_on.wait(), 10)
            index += 1
            if self.between:
                await self.wait(self.between)
                if self.released.is_set():
                    return
        end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await response.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
