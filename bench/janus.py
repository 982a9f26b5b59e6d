"""Janus VideoRoom (Debian's `janus`, 1.1.2) as a reference SFU, driven the way a new user would.

The bench writes a minimal configuration for the run (the HTTP transport on one port, the
VideoRoom plugin and nothing else, ICE on the namespace's veth only, no STUN server), runs
`janus` inside the bench's network namespace (bench/netns.py) and drives it through its HTTP
API: a session, a VideoRoom room per call, each side a publisher handle (the aiortc offer
published, Janus answers) and a subscriber handle on the other side's feed (Janus offers, aiortc
answers). A long poll on the session carries the plugin's events and keeps the session alive.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiohttp

from bench.netns import Netns
from bench.peers import ROLES, BenchPeer, Call
from bench.processes import process
from tests.support.media import Clip

PLUGIN = "janus.plugin.videoroom"


def missing() -> str | None:
    """Why Janus cannot run here, or None."""
    if shutil.which("janus") is None:
        return "janus is not installed (`make bench` installs it: apt-get install janus)"
    if library() is None:
        return "janus's VideoRoom plugin is not where Debian puts it"
    return None


def library() -> Path | None:
    for plugin in Path("/usr/lib").glob("*/janus/plugins/libjanus_videoroom.so"):
        return plugin.parents[1]
    return None


def write_config(directory: Path, ns: Netns, port: int) -> Path:
    """janus.jcfg and the two plugin configurations; only the VideoRoom plugin and the HTTP
    transport are loaded (each folder holds just that one library)."""
    lib = library()
    assert lib is not None
    folders = {name: directory / name for name in ("conf", "plugins", "transports", "none")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    (folders["plugins"] / "libjanus_videoroom.so").symlink_to(
        lib / "plugins" / "libjanus_videoroom.so"
    )
    (folders["transports"] / "libjanus_http.so").symlink_to(lib / "transports" / "libjanus_http.so")
    conf = folders["conf"]
    (conf / "janus.jcfg").write_text(f"""general: {{
    configs_folder = "{conf}"
    plugins_folder = "{folders["plugins"]}"
    transports_folder = "{folders["transports"]}"
    events_folder = "{folders["none"]}"
    loggers_folder = "{folders["none"]}"
    log_to_stdout = false
    log_to_file = "{directory / "janus.log"}"
    debug_level = 4
    interface = "{ns.inner}"
    server_name = "micromentor-bench"
}}
certificates: {{}}
media: {{}}
nat: {{
    ice_enforce_list = "{ns.inner_link}"
}}
plugins: {{}}
transports: {{}}
loggers: {{}}
events: {{}}
""")
    (conf / "janus.transport.http.jcfg").write_text(f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {port}
    https = false
}}
admin: {{
    admin_http = false
}}
""")
    (conf / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return conf / "janus.jcfg"


@asynccontextmanager
async def janus_server(ns: Netns, port: int, directory: Path) -> AsyncIterator[int]:
    """Janus serving inside `ns`; yields its pid (one process: every thread's CPU is its)."""
    config = write_config(directory, ns, port)
    args = ns.wrap(["janus", "--config", str(config), "--configs-folder", str(config.parent)])
    url = f"http://{ns.inner}:{port}/janus/info"
    async with process(args, dict(os.environ), url, directory / "janus.stderr") as pid:
        yield pid


class JanusError(Exception):
    pass


class JanusApi:
    """One Janus API session over HTTP, its events read by a long poll."""

    def __init__(self, base: str) -> None:
        self.base = base  # http://HOST:PORT/janus
        self.http = aiohttp.ClientSession()
        self.session = 0
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.hangups: list[str] = []
        self.up: dict[int, asyncio.Event] = {}  # handle -> its peer connection is up
        self._poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("transaction", secrets.token_hex(6))
        async with self.http.post(f"{self.base}{path}", json=body) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {reply.get('error')}")
        return reply

    async def start(self) -> None:
        self.session = (await self._post("", {"janus": "create"}))["data"]["id"]
        self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def attach(self) -> int:
        reply = await self._post(f"/{self.session}", {"janus": "attach", "plugin": PLUGIN})
        handle: int = reply["data"]["id"]
        return handle

    async def request(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A plugin request; waits for its event when Janus handles it asynchronously.
        Returns the plugin's data and the JSEP that came with it."""
        transaction = secrets.token_hex(6)
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[transaction] = waiter
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        try:
            reply = await self._post(f"/{self.session}/{handle}", message)
            if reply.get("janus") == "ack":
                reply = await asyncio.wait_for(waiter, 30)
        finally:
            self.waiting.pop(transaction, None)
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']}")
        return data, reply.get("jsep")

    async def _poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{self.base}/{self.session}?maxev=50") as response:
                    events = await response.json(content_type=None)
            except (aiohttp.ClientError, ValueError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                waiter = self.waiting.get(event.get("transaction", ""))
                if event.get("janus") == "event" and waiter is not None and not waiter.done():
                    waiter.set_result(event)
                elif event.get("janus") == "webrtcup":
                    self.webrtc_up(event.get("sender", 0)).set()
                elif event.get("janus") == "hangup":
                    self.hangups.append(str(event.get("reason")))

    def webrtc_up(self, handle: int) -> asyncio.Event:
        return self.up.setdefault(handle, asyncio.Event())

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        with suppress(Exception):
            await self._post(f"/{self.session}", {"janus": "destroy"})
        await self.http.close()


class JanusCall(Call):
    """A 1:1 call in a VideoRoom room: each side publishes on one peer connection and receives
    the other side's feed on a second one, as Janus's own clients do."""

    def __init__(self, video: Clip, audio: Clip, addresses: tuple[str, ...]) -> None:
        super().__init__()
        self.publishers = [BenchPeer(video, audio, addresses) for _ in ROLES]
        self.subscribers = [BenchPeer(video, audio, addresses) for _ in ROLES]
        self.receivers = [peer.receiver for peer in self.subscribers]
        self.closers = [peer.close for peer in (*self.publishers, *self.subscribers)]

    async def join(self, api: JanusApi, room: int) -> None:
        handle = await api.attach()
        await api.request(
            handle, {"request": "create", "room": room, "publishers": 2, "videocodec": "vp8"}
        )
        feeds, handles = [], []
        for role, peer in zip(ROLES, self.publishers, strict=True):
            handle = await api.attach()
            joined, _ = await api.request(
                handle, {"request": "join", "room": room, "ptype": "publisher", "display": role}
            )
            feeds.append(joined["id"])
            handles.append(handle)
            ours = {"type": "offer", "sdp": await peer.offer(), "trickle": False}
            _, theirs = await api.request(handle, {"request": "publish"}, ours)
            if theirs is None:
                raise JanusError("publish: no answer")
            await peer.accept(theirs["sdp"])
        for handle in handles:  # a feed takes subscribers once its media is up
            await asyncio.wait_for(api.webrtc_up(handle).wait(), 30)
        for feed, peer in zip(reversed(feeds), self.subscribers, strict=True):
            handle = await api.attach()
            body = {
                "request": "join",
                "room": room,
                "ptype": "subscriber",
                "streams": [{"feed": feed}],
            }
            _, theirs = await api.request(handle, body)
            if theirs is None:
                raise JanusError("subscribe: no offer")
            ours = {"type": "answer", "sdp": await peer.answer(theirs["sdp"]), "trickle": False}
            await api.request(handle, {"request": "start", "room": room}, ours)
