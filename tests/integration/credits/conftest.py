"""The credits tests' site: campus domains set, a sponsor with a funded wallet, and students
who confirm their campus address through the mailed link (read from the outbox)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.app import create_app
from server.config import Config
from server.db.engine import DATABASE
from server.db.models import OutboxMail
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support.booking import Client, Site

CAMPUS = "campus.edu"
LINK = re.compile(r"/campus/confirm\?token=(\S+)")


@pytest.fixture
def config(tmp_path: Any) -> Config:
    return make_config(tmp_path, MICROMENTOR_ACCOUNTS_CAMPUS_DOMAINS=f"{CAMPUS},other.ac.in")


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    config: Config,
    clock: FakeClock,
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))


class CreditSite(Site):
    async def sponsor(self, **rule: Any) -> int:
        """A sponsor of campus.edu with ₹1,000 in its wallet; returns its id."""
        admin, token = await self.admin_once()
        headers = {"X-CSRF-Token": token}
        made = await admin.post(
            "/api/admin/sponsors",
            json={"name": "Campus Institute", "domains": [CAMPUS], **rule},
            headers=headers,
        )
        assert made.status == 201, await made.text()
        sponsor_id: int = (await made.json())["sponsor"]["id"]
        topped = await admin.post(
            f"/api/admin/sponsors/{sponsor_id}/topups",
            json={"amount_paise": 100_000, "reference": "NEFT 42"},
            headers=headers,
        )
        assert topped.status == 201, await topped.text()
        return sponsor_id

    async def admin_once(self) -> tuple[Client, str]:
        if not hasattr(self, "_admin"):
            self._admin = await self.admin()
        return self._admin

    async def student(self, email: str, campus_email: str) -> tuple[Client, int, str]:
        """A mentee who confirmed `campus_email` through the link mailed to it."""
        client, user_id, token = await self.user(email)
        asked = await client.post(
            "/api/me/campus-address", json={"email": campus_email}, headers={"X-CSRF-Token": token}
        )
        assert asked.status == 202, await asked.text()
        confirmed = await client.get(f"/campus/confirm?token={await self.link_token(campus_email)}")
        assert confirmed.status == 200
        assert "is confirmed as your campus address" in await confirmed.text()
        return client, user_id, token

    async def link_token(self, address: str) -> str:
        async with self.server.app[DATABASE].read() as s:
            mail = await s.scalar(
                select(OutboxMail)
                .where(OutboxMail.to_address == address, OutboxMail.kind == "campus_link")
                .order_by(OutboxMail.id.desc())
                .limit(1)
            )
        assert mail is not None
        found = LINK.search(mail.body)
        assert found is not None
        return found.group(1)


@pytest.fixture
async def site(client: TestClient[Any, Any], aiohttp_client: Any) -> CreditSite:
    return CreditSite(client.server, aiohttp_client)
