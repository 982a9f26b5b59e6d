"""The assistant tests' scene: a fake model server on loopback, and the app with `[assistant]`
pointed at it (or unset), a mentor, a mentee, a stranger, and a confirmed booking between the
first two with a conversation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.db.engine import DATABASE
from server.db.models import Booking
from tests.conftest import FAST_PASSWORDS, FakeClock, login, make_config, register
from tests.integration.assistant.fake_model import FakeModel

Client = TestClient[Any, Any]


@dataclass
class Person:
    client: Client
    id: int
    token: str

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.token}

    async def post(self, path: str, body: dict[str, Any]) -> ClientResponse:
        return await self.client.post(path, json=body, headers=self.headers())


@dataclass
class Scene:
    app: web.Application
    fake: FakeModel
    mentor: Person
    mentee: Person
    stranger: Person
    booking_id: int

    @property
    def base(self) -> str:
        return f"/api/conversations/{self.booking_id}"

    async def ask(self, who: Person, kind: str = "agenda") -> ClientResponse:
        return await who.post(f"{self.base}/assistant/drafts", {"kind": kind})

    async def say(self, who: Person, text: str) -> None:
        sent = await who.post(f"{self.base}/messages", {"text": text})
        assert sent.status == 201, await sent.text()

    async def messages(self, who: Person | None = None) -> list[dict[str, Any]]:
        got = await (who or self.mentor).client.get(f"{self.base}/messages")
        assert got.status == 200
        items: list[dict[str, Any]] = (await got.json())["items"]
        return items

    async def set_status(self, status: str) -> None:
        async with self.app[DATABASE].write() as s:
            booking = await s.get(Booking, self.booking_id)
            assert booking is not None
            booking.status = status


async def next_event(response: ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """The next server-sent event of a streamed response, or None at its end."""
    name, data = "message", []
    while True:
        raw = await response.content.readline()
        if not raw:
            return None
        line = raw.decode().rstrip("\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            return name, json.loads("\n".join(data))


async def all_events(response: ClientResponse) -> list[tuple[str, dict[str, Any]]]:
    events = []
    while (found := await next_event(response)) is not None:
        events.append(found)
    return events


def drafted(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(data["text"] for name, data in events if name == "text")


@pytest.fixture
async def fake(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> AsyncIterator[FakeModel]:
    model = FakeModel()
    server = await aiohttp_server(model.app(), host="127.0.0.1")
    model.url = str(server.make_url("/v1"))
    yield model
    model.released.set()


MakeScene = Callable[..., Awaitable[Scene]]


@pytest.fixture
def make_scene(
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[Client]],
    fake: FakeModel,
    clock: FakeClock,
) -> MakeScene:
    async def make(*, on: bool = True, **env: str) -> Scene:
        settings = {
            "MICROMENTOR_ASSISTANT_URL": fake.url,
            "MICROMENTOR_ASSISTANT_MODEL": "campus-model",
            "MICROMENTOR_ASSISTANT_TIMEOUT_SECONDS": "1",
        }
        config = make_config(tmp_path, **{**(settings if on else {}), **env})
        app = create_app(config, clock=clock, passwords=FAST_PASSWORDS)
        first = await aiohttp_client(app)
        people: list[Person] = []
        for email, role, name in (
            ("mentor@example.org", "mentor", "Ravi Kumar"),
            ("mentee@example.org", "mentee", "Asha Rao"),
            ("other@example.org", "mentee", "Someone Else"),
        ):
            client = first if not people else await aiohttp_client(first.server)
            user = (await register(client, email, role=role, name=name))["user"]
            people.append(Person(client, user["id"], await login(client, email)))
        mentor, mentee, stranger = people
        async with app[DATABASE].write() as s:
            booking = Booking(
                mentor_id=mentor.id,
                mentee_id=mentee.id,
                starts_at=clock() + timedelta(days=1),
                duration_seconds=600,
                status="confirmed",
                created_at=clock(),
                topic="System design",
                agenda="Design a URL shortener; how to prepare for the interview",
            )
            s.add(booking)
            await s.flush()
            booking_id = booking.id
        return Scene(app, fake, mentor, mentee, stranger, booking_id)

    return make


@pytest.fixture
async def scene(make_scene: MakeScene) -> Scene:
    return await make_scene()
