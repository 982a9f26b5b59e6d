"""Favourites through the JSON API and the favourites filter of the mentor search: only the
favourites listed, a 401 logged out, a 404 for a mentor who is not listed, 4xx JSON for bad
input; a favourite of a mentor who stops being listed is kept, hidden, and can be taken out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from server.db.engine import DATABASE
from server.db.models import User
from server.discovery.service import DISCOVERY
from tests.integration.discovery.support import add_catalogue
from tests.support.booking import Client, Site


async def names(client: Client, path: str) -> list[str]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return [item["name"] for item in (await response.json())["items"]]


async def test_favourite_unfavourite_and_list(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    headers = {"X-CSRF-Token": token}

    added = await asha.put(f"/api/mentors/{ids['Kavya']}/favourite", headers=headers)
    assert added.status == 200
    body = await added.json()
    assert body["mentor_id"] == ids["Kavya"] and body["favourite"] is True
    again = await asha.put(f"/api/mentors/{ids['Kavya']}/favourite", headers=headers)
    assert (await again.json()) == body  # nothing changed, not even the time
    await asha.put(f"/api/mentors/{ids['Arjun']}/favourite", headers=headers)

    listing = await (await asha.get("/api/me/favourites")).json()
    assert listing["total"] == 2
    assert {item["name"] for item in listing["items"]} == {"Kavya Nair", "Arjun Das"}
    kavya = next(i for i in listing["items"] if i["name"] == "Kavya Nair")
    assert kavya["rating"] == 5.0 and kavya["reviews"] == 5
    assert kavya["favourited_at"] == body["favourited_at"]

    removed = await asha.delete(f"/api/mentors/{ids['Kavya']}/favourite", headers=headers)
    assert (await removed.json()) == {
        "mentor_id": ids["Kavya"],
        "favourite": False,
        "favourited_at": None,
    }
    assert (await asha.delete(f"/api/mentors/{ids['Kavya']}/favourite", headers=headers)).ok
    assert await names(asha, "/api/me/favourites") == ["Arjun Das"]

    # Someone else's favourites are their own.
    kiran, _kiran_id, _token = await site.user("kiran@example.org")
    assert await names(kiran, "/api/me/favourites") == []


async def test_the_filter_lists_only_favourites(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    for first in ("Kavya", "Meera"):
        await asha.put(f"/api/mentors/{ids[first]}/favourite", headers={"X-CSRF-Token": token})

    everyone = await names(asha, "/api/mentors")
    assert len(everyone) == 6  # the listed ones: not Priya (pending) nor Zoe (suspended)
    assert sorted(await names(asha, "/api/mentors?favourites=true")) == [
        "Kavya Nair",
        "Meera Iyer",
    ]
    assert sorted(await names(asha, "/api/mentors?favourites=1&skill=Interviews")) == ["Kavya Nair"]
    assert await names(asha, "/api/mentors?favourites=1&q=python") == ["Meera Iyer"]
    assert await names(asha, "/api/mentors?favourites=false") == everyone
    assert await names(asha, "/api/mentors?favourites=0") == everyone
    kiran, _id, _token = await site.user("kiran@example.org")
    assert await names(kiran, "/api/mentors?favourites=true") == []  # none of their own

    stranger = await site.make_client(site.server)
    logged_out = await stranger.get("/api/mentors?favourites=true")
    assert logged_out.status == 401
    assert (await logged_out.json())["error"]["code"] == "unauthenticated"
    assert len(await names(stranger, "/api/mentors")) == 6  # the filter is the only change

    bad = await asha.get("/api/mentors?favourites=maybe")
    assert bad.status == 400
    assert (await bad.json())["error"]["field"] == "favourites"


async def test_unknown_unlisted_and_yourself(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    headers = {"X-CSRF-Token": token}
    for target in (999_999, ids["Priya"], ids["Zoe"], asha_id):  # unknown, pending, suspended,
        for method in (asha.put, asha.delete):  # and a mentee, not a mentor
            response = await method(f"/api/mentors/{target}/favourite", headers=headers)
            assert response.status == 404, (target, method)
            assert (await response.json())["error"]["code"] == "not_found"
    for path in ("/api/mentors/0/favourite", "/api/mentors/99999999999999999999/favourite"):
        assert (await asha.put(path, headers=headers)).status == 404

    mentor, mentor_id, mentor_token = await site.mentor("mentor@example.org")
    own = await mentor.put(
        f"/api/mentors/{mentor_id}/favourite", headers={"X-CSRF-Token": mentor_token}
    )
    assert own.status == 409
    assert (await own.json())["error"]["code"] == "own_profile"


async def test_logged_out_and_without_the_csrf_token(site: Site) -> None:
    asha, asha_id, _token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    path = f"/api/mentors/{ids['Kavya']}/favourite"
    no_token = await asha.put(path)
    assert no_token.status == 403
    assert (await no_token.json())["error"]["code"] == "csrf_failed"

    # A logged-out browser has a CSRF token from any page it opened: then the answer is 401.
    stranger = await site.make_client(site.server)
    page = await (await stranger.get("/mentors")).text()
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    for method in (stranger.put, stranger.delete):
        response = await method(path, headers={"X-CSRF-Token": token})
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthenticated"
    assert (await stranger.get("/api/me/favourites")).status == 401


async def test_a_favourite_who_stops_being_listed_is_hidden_and_can_go(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    headers = {"X-CSRF-Token": token}
    await asha.put(f"/api/mentors/{ids['Rohan']}/favourite", headers=headers)
    db = site.server.app[DATABASE]

    async def suspend(when: datetime | None) -> None:
        async with db.write() as s:
            await s.execute(update(User).where(User.id == ids["Rohan"]).values(suspended_at=when))

    await suspend(_now(site))
    assert await names(asha, "/api/me/favourites") == []
    assert await names(asha, "/api/mentors?favourites=true") == []
    await suspend(None)  # reactivated: the favourite is back
    assert await names(asha, "/api/me/favourites") == ["Rohan Mehta"]
    await suspend(_now(site))
    removed = await asha.delete(f"/api/mentors/{ids['Rohan']}/favourite", headers=headers)
    assert removed.status == 200  # a kept favourite can always be taken out
    await suspend(None)
    assert await names(asha, "/api/me/favourites") == []


def _now(site: Site) -> datetime:
    return site.server.app[DISCOVERY].clock()
