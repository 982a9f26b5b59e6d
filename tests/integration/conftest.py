"""Fixtures for app-level call tests: a served app on loopback, users, clips."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from tests.conftest import FAST_PASSWORDS, login, make_config, register
from tests.support.calls import add_booking
from tests.support.clock import ManualClock

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


@dataclass
class Site:
    server: TestServer
    clock: ManualClock | None
    make_client: MakeClient

    async def user(self, email: str, role: str) -> tuple[Client, int]:
        client = await self.make_client(self.server)
        created = await register(client, email, role=role, name=email.split("@")[0].title())
        await login(client, email)
        return client, created["user"]["id"]

    async def booked_pair(self) -> tuple[Client, Client, int]:
        """A mentor (m@example.org) and a mentee (e@example.org), logged in, with a
        confirmed booking starting now: (mentor's client, mentee's client, booking id)."""
        mentor_client, mentor_id = await self.user("m@example.org", "mentor")
        mentee_client, mentee_id = await self.user("e@example.org", "mentee")
        return mentor_client, mentee_client, await add_booking(mentor_client, mentor_id, mentee_id)


async def make_site(
    tmp_path: Path,
    aiohttp_server: Any,
    aiohttp_client: MakeClient,
    manual_clock: bool,
    **env: str,
) -> Site:
    env = {
        "MICROMENTOR_MEDIA_ICE_ADDRESSES": "127.0.0.1",
        "MICROMENTOR_METRICS_ALLOW": "127.0.0.1",
        **env,
    }
    config = make_config(tmp_path, **env)
    clock = ManualClock() if manual_clock else None
    extra: dict[str, Any] = {"clock": clock.now, "sleep": clock.sleep} if clock else {}
    app = create_app(config, passwords=FAST_PASSWORDS, **extra)
    return Site(await aiohttp_server(app), clock, aiohttp_client)


@pytest.fixture
async def site(tmp_path: Path, aiohttp_server: Any, aiohttp_client: MakeClient) -> Site:
    return await make_site(tmp_path, aiohttp_server, aiohttp_client, manual_clock=False)


@pytest.fixture
async def clocked_site(tmp_path: Path, aiohttp_server: Any, aiohttp_client: MakeClient) -> Site:
    return await make_site(tmp_path, aiohttp_server, aiohttp_client, manual_clock=True)
