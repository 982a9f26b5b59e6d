"""HAProxy (Debian's) in front of two nodes, configured as docs/cluster.md says: one call made
through the front lands on one node, whichever node each request went to."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cluster.nodes import NodeProcess, Side, demo_call, join, node, running
from tests.support.media import Clip, TestPeer, wait_for
from tests.support.net import free_port, until_healthy
from tests.support.postgres import fresh_database, postgres_bin

pytestmark = [
    pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed"),
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed"),
]


def haproxy_config(port: int, nodes: list[NodeProcess]) -> str:
    """docs/cluster.md's configuration, on loopback without TLS, round robin (so that the two
    sides' requests meet both nodes) and no sticky cookie."""
    servers = "\n".join(
        f"    use-server {n.name} if {{ path_beg /ws/call/ }} {{ urlp(node) -m str {n.name} }}"
        for n in nodes
    )
    servers += "\n" + "\n".join(
        f"    server {n.name} {n.base.removeprefix('http://')} check inter 1s fall 2 rise 1"
        for n in nodes
    )
    return f"""
defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h

frontend micromentor
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
{servers}
"""


@contextlib.contextmanager
def haproxy(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


async def test_a_call_through_haproxy_in_front_of_two_nodes(
    postgres: str,
    tmp_path: Path,
    video_clip: Clip,
    audio_clip: Clip,
) -> None:
    url = await fresh_database(postgres)
    port = free_port()
    front = f"http://127.0.0.1:{port}"
    behind_front = {
        "MICROMENTOR_SERVER_PUBLIC_URL": front,
        "MICROMENTOR_CLUSTER_NODE_URL": front,
        "MICROMENTOR_SERVER_TRUSTED_PROXIES": "127.0.0.1",
    }
    a = node(tmp_path, "node-a", url, (42400, 42599), **behind_front)
    b = node(tmp_path, "node-b", url, (42600, 42799), **behind_front)
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(port, [a, b]))
    with running(a, b), haproxy(config) as proxy:
        a.start()
        await a.serving()
        b.start()
        await b.serving()
        await until_healthy(f"{front}/healthz", proxy, seconds=20)
        await asyncio.sleep(1.5)  # both pass a health check: round robin uses both
        demo = demo_call(a)
        sides = [await Side.log_in(front, demo["urls"][r]) for r in ("mentor", "mentee")]
        peers = [TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)]
        try:
            infos = [
                await join(side, demo["booking_id"], peer)
                for side, peer in zip(sides, peers, strict=True)
            ]
            assert infos[0]["node"] == infos[1]["node"]
            assert all(i["ws_url"].startswith(front.replace("http", "ws")) for i in infos)
            await wait_for(
                lambda: all(len(p.received["video"].frames) > 30 for p in peers),
                what="each side's video from the other, through HAProxy",
            )
        finally:
            for side in sides:
                await side.close()
            for peer in peers:
                await peer.close()
    joined = f"/api/bookings/{demo['booking_id']}/join"
    served = [n.name for n in (a, b) if joined in n.log.read_text(errors="replace")]
    assert served == ["node-a", "node-b"], served  # the joins met both nodes
    for each in (a, b):
        assert "Traceback" not in each.log.read_text(errors="replace")
