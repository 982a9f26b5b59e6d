"""Shared fixtures: a config under tmp_path, a movable clock, the app through aiohttp_client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from server.accounts.passwords import Passwords
from server.app import create_app
from server.config import Config, load_config
from tests.support.media import Clip, encode_opus, encode_vp8

# Tests hash many passwords; production parameters are checked in test_passwords.py.
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# Every test client comes from 127.0.0.1; the sign-up limit per address has tests of its own.
# Media runs in the test's process (no worker processes) except in tests/integration/workers/.
TEST_DEFAULTS = {
    "MICROMENTOR_AUTH_MAX_REGISTRATIONS_PER_ADDRESS": "100000",
    "MICROMENTOR_MEDIA_WORKERS": "0",
}


# The tests that hold real calls (Chromium pages in a call, aiortc peers, media workers, call
# servers) are marked `calls`. make test runs them alone, in one process, after the others ran
# in two workers: a call's timing is part of what they check, and next to another worker's load
# on 2 cores a page sometimes waited 40 s for its first video frame.
CALL_TESTS = (
    "tests/media/",
    "tests/integration/calls/",
    "tests/integration/workers/",
    "tests/integration/cluster/",
    "tests/browser/restarts/",
    "tests/browser/recordings/",
    "tests/browser/test_call_page.py",
    "tests/browser/test_screen_share.py",
    "tests/browser/test_paid_call.py",
    "tests/browser/test_demo_call.py",
    "tests/browser/test_journeys.py",
    "tests/browser/test_conversation.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(CALL_TESTS):
            item.add_marker(pytest.mark.calls)


def make_config(data_dir: Path, **env: str) -> Config:
    return load_config(None, {**TEST_DEFAULTS, "MICROMENTOR_SERVER_DATA_DIR": str(data_dir), **env})


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    config: Config,
    clock: FakeClock,
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))


async def register(
    client: TestClient[Any, Any], email: str, role: str = "mentee", name: str = "Asha Rao"
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "name": name, "role": role},
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def login(client: TestClient[Any, Any], email: str, password: str = PASSWORD) -> str:
    """Logs in and returns the CSRF token."""
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status == 200, await response.text()
    token: str = (await response.json())["csrf_token"]
    return token


@pytest.fixture(scope="session")
def video_clip() -> Clip:
    """Four seconds of 320x240 VP8 at ~700 kbps, encoded once per test run."""
    return encode_vp8(seconds=4)


@pytest.fixture(scope="session")
def audio_clip() -> Clip:
    return encode_opus(seconds=4)
