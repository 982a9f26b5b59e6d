"""Server processes sharing one PostgreSQL database, as nodes of a cluster, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from tests.support.cli import ROOT, cli_env, run_cli
from tests.support.media import TestPeer
from tests.support.net import free_port, until_healthy

SECRET = "a secret key every node of the test cluster shares"


@dataclass
class NodeProcess:
    name: str
    base: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    async def serving(self) -> None:
        assert self.process is not None
        await until_healthy(
            f"{self.base}/healthz", self.process, why_not=lambda: self.log.read_text()[-2000:]
        )


def node(
    tmp_path: Path, name: str, database_url: str, udp_ports: tuple[int, int], **extra: str
) -> NodeProcess:
    """A node's settings: its own HTTP port, UDP range and data folder; the shared database and
    secret key."""
    port = free_port()
    folder = tmp_path / name
    folder.mkdir()
    env = cli_env(
        folder,
        MICROMENTOR_DATABASE_URL=database_url,
        MICROMENTOR_SERVER_SECRET_KEY=SECRET,
        MICROMENTOR_SERVER_PORT=str(port),
        MICROMENTOR_SERVER_LOG_LEVEL="info",
        MICROMENTOR_CLUSTER_NODE_NAME=name,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_MEDIA_UDP_PORT_MIN=str(udp_ports[0]),
        MICROMENTOR_MEDIA_UDP_PORT_MAX=str(udp_ports[1]),
        **extra,
    )
    return NodeProcess(name, f"http://127.0.0.1:{port}", env, folder / "server.log")


@contextlib.contextmanager
def running(*nodes: NodeProcess) -> Iterator[None]:
    try:
        yield
    finally:
        for each in nodes:
            each.kill()


@dataclass
class Side:
    """One side of a call: a logged-in HTTP session on some node."""

    session: aiohttp.ClientSession
    base: str
    closers: list[Any] = field(default_factory=list)

    @classmethod
    async def log_in(cls, base: str, link: str) -> Side:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        parts = urlsplit(link)
        async with session.get(f"{base}{parts.path}?{parts.query}", allow_redirects=False):
            pass
        return cls(session, base)

    async def join_info(self, booking_id: int) -> dict[str, Any]:
        async with self.session.get(f"{self.base}/api/bookings/{booking_id}/join") as response:
            assert response.status == 200, await response.text()
            info: dict[str, Any] = await response.json()
            return info

    async def join_info_status(self, booking_id: int) -> int:
        async with self.session.get(f"{self.base}/api/bookings/{booking_id}/join") as response:
            return response.status

    async def close(self) -> None:
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                await close()
        await self.session.close()


def demo_call(at: NodeProcess) -> dict[str, Any]:
    done = run_cli("demo-call", "--json", data_dir=at.log.parent, **at.env)
    assert done.returncode == 0, done.stderr
    demo: dict[str, Any] = json.loads(done.stdout)
    return demo


async def join(
    side: Side, booking_id: int, peer: TestPeer, messages: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The join details from the side's node, then the call socket wherever they point; the
    socket's messages go to `messages` until it closes."""
    info = await side.join_info(booking_id)
    ws = await side.session.ws_connect(info["ws_url"])
    side.closers.append(ws.close)
    await ws.send_json({"type": "offer", "sdp": await peer.offer()})
    while (message := await ws.receive_json(timeout=30))["type"] != "answer":
        pass
    await peer.accept(message["sdp"])

    async def drain() -> None:
        async for received in ws:
            if messages is not None and received.type == aiohttp.WSMsgType.TEXT:
                messages.append(received.json())

    task = asyncio.get_running_loop().create_task(drain())
    side.closers.append(lambda: asyncio.sleep(0, task.cancel()))
    info["socket"] = ws
    return info
