"""Booking helpers shared by the integration tests: a site with approved mentors, a free slot,
a booking, and paying for it through the test-payment simulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from server.accounts.service import ACCOUNTS
from tests.conftest import PASSWORD, login, register

Client = TestClient[Any, Any]
PROFILE = {
    "headline": "SDE-2, distributed systems",
    "bio": "I help with system design interviews.",
    "skills": ["System Design", "DSA"],
    "institution": "IIT Madras",
    "languages": ["English", "Tamil"],
    "price_paise": 15000,
}
ALL_WEEK = {
    "timezone": "UTC",
    "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
}


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class Site:
    def __init__(self, server: TestServer, make_client: Any) -> None:
        self.server = server
        self.make_client = make_client

    async def user(self, email: str, role: str = "mentee") -> tuple[Client, int, str]:
        client = await self.make_client(self.server)
        user_id = (await register(client, email, role=role))["user"]["id"]
        token = await login(client, email)
        return client, user_id, token

    async def admin(self) -> tuple[Client, str]:
        accounts = self.server.app[ACCOUNTS]
        await accounts.make_admin("root@example.org", PASSWORD, "Root")
        client = await self.make_client(self.server)
        return client, await login(client, "root@example.org")

    async def mentor(
        self, email: str = "mentor@example.org", **profile: Any
    ) -> tuple[Client, int, str]:
        client, user_id, token = await self.user(email, "mentor")
        headers = {"X-CSRF-Token": token}
        applied = await client.post(
            "/api/mentors/apply", json={**PROFILE, **profile}, headers=headers
        )
        assert applied.status == 201, await applied.text()
        admin, admin_token = await self.admin() if not hasattr(self, "_admin") else self._admin
        self._admin = (admin, admin_token)
        approved = await admin.put(
            f"/api/admin/mentors/{user_id}/approve", headers={"X-CSRF-Token": admin_token}
        )
        assert approved.status == 200, await approved.text()
        put = await client.put("/api/mentors/availability", json=ALL_WEEK, headers=headers)
        assert put.status == 200, await put.text()
        return client, user_id, token


async def first_slot(client: Client, mentor_id: int, index: int = 0) -> str:
    slots = (await (await client.get(f"/api/mentors/{mentor_id}/slots")).json())["slots"]
    assert len(slots) > index
    return str(slots[index]["start"])


async def book(client: Client, token: str, mentor_id: int, start: str, **extra: Any) -> Any:
    body = {
        "mentor_id": mentor_id,
        "start": start,
        "topic": "System Design",
        "agenda": "Design a URL shortener",
        "accept_policy": True,
        **extra,
    }
    return await client.post("/api/bookings", json=body, headers={"X-CSRF-Token": token})


async def pay(client: Client, token: str, created: Any) -> dict[str, Any]:
    """Pays a new booking through the test-payment simulator, as the checkout page does."""
    body = await created.json()
    assert body["order"]["gateway"] == "simulator"
    headers = {"X-CSRF-Token": token}
    fields = await (
        await client.post(
            f"/api/payments/simulator/{body['order']['order_id']}/pay", headers=headers
        )
    ).json()
    verified = await client.post("/api/payments/verify", json=fields, headers=headers)
    assert verified.status == 200, await verified.text()
    booking: dict[str, Any] = (await verified.json())["booking"]
    assert booking["status"] == "confirmed"
    return booking
