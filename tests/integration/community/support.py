"""Helpers for the community tests: logged-in people who call the API, and the cast of a
mentor (approved), a mentee and an administrator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import FormData

from tests.support.booking import Client, Site

SCRIPT = "<script>alert(1)</script>"


@dataclass
class Person:
    client: Client
    id: int
    token: str

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An API call with the CSRF header: (status, JSON body or None)."""
        response = await self.client.request(
            method, path, json=body, headers={"X-CSRF-Token": self.token}
        )
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, data

    async def form(self, path: str, **fields: Any) -> Any:
        """A page's form, posted as a browser would (not following the redirect)."""
        data = {"csrf_token": self.token, **fields}
        return await self.client.post(path, data=data, allow_redirects=False)

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status == 200, (path, response.status)
        return await response.text()


@dataclass
class Cast:
    mentor: Person
    mentee: Person
    admin: Person
    site: Site

    async def anonymous(self) -> Client:
        client: Client = await self.site.make_client(self.site.server)
        return client


async def cast(site: Site) -> Cast:
    mentor = Person(*await site.mentor("meera@example.org"))
    mentee = Person(*await site.user("kiran@example.org"))
    admin_client, admin_token = site._admin  # the administrator who approved the mentor
    me = await (await admin_client.get("/api/me")).json()
    admin = Person(admin_client, me["user"]["id"], admin_token)
    return Cast(mentor, mentee, admin, site)


async def community_id(person: Person, slug: str = "interview-prep") -> int:
    status, body = await person.call("GET", "/api/communities")
    assert status == 200
    found: int = next(c["id"] for c in body["items"] if c["slug"] == slug)
    return found


async def joined(person: Person, slug: str = "interview-prep") -> int:
    cid = await community_id(person, slug)
    status, body = await person.call("PUT", f"/api/communities/{cid}/membership")
    assert (status, body["community"]["joined"]) == (200, True)
    return cid


async def post(person: Person, title: str = "Arrays first", **fields: Any) -> dict[str, Any]:
    body = {"title": title, "body": "Start with **arrays**.", **fields}
    status, made = await person.call("POST", "/api/posts", body)
    assert status == 201, made
    created: dict[str, Any] = made["post"]
    return created


def image_form(data: bytes, name: str = "cover", **fields: str) -> FormData:
    """A multipart body with the image as a file field (and text fields beside it)."""
    form = FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field(name, data, filename="cover.png", content_type="image/png")
    return form
