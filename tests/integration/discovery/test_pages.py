"""The pages without JavaScript: the favourite button as a form on the list and the mentor's
page (back where it came from, the state shown by aria-pressed), the "Favourites only"
checkbox, and the interests form with "Mentors for you" on the dashboard."""

from __future__ import annotations

import re

from tests.integration.discovery.support import add_catalogue, add_past_call
from tests.support.booking import Client, Site


def csrf(page: str) -> str:
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def pressed(page: str, mentor_id: int) -> str:
    """The favourite button's aria-pressed for that mentor on the page ("" without one)."""
    form = re.search(rf'<form class="favourite" id="favourite-{mentor_id}".*?</form>', page, re.S)
    if form is None:
        return ""
    state = re.search(r'aria-pressed="(\w+)"', form.group())
    assert state is not None
    return state.group(1)


def cards(page: str) -> list[str]:
    return re.findall(r'<h2><a href="/mentors/\d+">([^<]+)</a>', page)


async def post_form(
    client: Client, path: str, fields: dict[str, str], referer: str | None = None
) -> tuple[int, str]:
    headers = {"Referer": referer} if referer is not None else {}
    response = await client.post(path, data=fields, headers=headers, allow_redirects=False)
    return response.status, response.headers.get("Location", "")


async def test_the_favourite_form_and_the_filter(site: Site) -> None:
    asha, asha_id, _token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    kavya = ids["Kavya"]
    listing = await (await asha.get("/mentors?skill=Interviews")).text()
    assert pressed(listing, kavya) == "false"
    assert 'Favourite<span class="visually-hidden"> Kavya Nair</span>' in listing
    assert 'name="favourites" value="1"' in listing and "Favourites only" in listing

    origin = str(site.server.make_url("/mentors?skill=Interviews"))
    status, location = await post_form(
        asha, f"/mentors/{kavya}/favourite", {"csrf_token": csrf(listing), "favourite": "1"}, origin
    )
    assert (status, location) == (303, f"/mentors?skill=Interviews#favourite-{kavya}")
    listing = await (await asha.get("/mentors")).text()
    assert pressed(listing, kavya) == "true"
    assert pressed(listing, ids["Meera"]) == "false"

    only = await (await asha.get("/mentors?favourites=1")).text()
    assert cards(only) == ["Kavya Nair"]
    assert re.search(r'name="favourites" value="1"\s+checked', only)

    # From the mentor's page, with no Referer: back to that page.
    page = await (await asha.get(f"/mentors/{kavya}")).text()
    assert pressed(page, kavya) == "true"
    status, location = await post_form(
        asha, f"/mentors/{kavya}/favourite", {"csrf_token": csrf(page), "favourite": "0"}
    )
    assert (status, location) == (303, f"/mentors/{kavya}#favourite-{kavya}")
    assert pressed(await (await asha.get(f"/mentors/{kavya}")).text(), kavya) == "false"
    empty = await (await asha.get("/mentors?favourites=1")).text()
    assert cards(empty) == [] and "No favourites yet" in empty

    # Another site's Referer is not followed.
    _status, location = await post_form(
        asha,
        f"/mentors/{kavya}/favourite",
        {"csrf_token": csrf(page), "favourite": "1"},
        "https://evil.example/mentors",
    )
    assert location == f"/mentors/{kavya}#favourite-{kavya}"
    for referer in ("//evil.example/x", "javascript:alert(1)"):
        _status, location = await post_form(
            asha,
            f"/mentors/{kavya}/favourite",
            {"csrf_token": csrf(page), "favourite": "1"},
            referer,
        )
        assert location == f"/mentors/{kavya}#favourite-{kavya}"


async def test_bad_forms_and_logged_out(site: Site) -> None:
    asha, asha_id, _token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    page = await (await asha.get("/mentors")).text()
    path = f"/mentors/{ids['Kavya']}/favourite"
    assert (await post_form(asha, path, {"csrf_token": csrf(page), "favourite": "yes"}))[0] == 400
    assert (await post_form(asha, path, {"csrf_token": csrf(page)}))[0] == 400
    assert (await post_form(asha, path, {"favourite": "1"}))[0] == 403  # no CSRF token
    gone = f"/mentors/{ids['Priya']}/favourite"
    assert (await post_form(asha, gone, {"csrf_token": csrf(page), "favourite": "1"}))[0] == 404

    stranger = await site.make_client(site.server)
    public = await (await stranger.get("/mentors")).text()
    assert pressed(public, ids["Kavya"]) == "" and "Favourites only" not in public
    status, location = await post_form(
        stranger, path, {"csrf_token": csrf(public), "favourite": "1"}
    )
    assert status == 303 and location.startswith("/login?next=")
    response = await stranger.get("/mentors?favourites=1", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")
    assert "favourites" in response.headers["Location"]


async def test_interests_on_the_dashboard_choose_mentors_for_you(site: Site) -> None:
    asha, asha_id, _token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    await add_past_call(site.server.app, ids["Dev"], asha_id)
    dashboard = await (await asha.get("/dashboard")).text()
    assert "Mentors for you" in dashboard and 'id="f-interests"' in dashboard
    # Only a past call so far: Rohan, for Kubernetes.
    assert re.findall(r'<small class="reason">([^<]+)</small>', dashboard) == ["Shares: Kubernetes"]

    status, location = await post_form(
        asha, "/interests", {"csrf_token": csrf(dashboard), "interests": "python, interviews"}
    )
    assert (status, location) == (303, "/dashboard?interests=saved#for-you")
    dashboard = await (await asha.get("/dashboard")).text()
    assert 'value="python, interviews"' in dashboard
    found = re.findall(
        r'<a href="/mentors/\d+">([^<]+)</a></strong>.*?<small class="reason">([^<]+)</small>',
        dashboard,
        re.S,
    )
    assert found[:2] == [
        ("Meera Iyer", "Shares: Python, interviews"),
        ("Sana Khan", "Shares: Python, interviews"),
    ]

    interests_page = await (await asha.get("/interests")).text()
    assert 'value="python, interviews"' in interests_page
    too_long = "python, " + "x" * 41
    response = await asha.post(
        "/interests", data={"csrf_token": csrf(interests_page), "interests": too_long}
    )
    assert response.status == 400
    page = await response.text()
    assert "Each interest must be at most 40 characters." in page
    assert 'aria-invalid="true"' in page and f'value="{too_long}"' in page
    assert (await (await asha.get("/api/me/interests")).json())["interests"] == [
        "python",
        "interviews",
    ]


async def test_a_mentor_only_dashboard_has_no_mentors_for_you(site: Site) -> None:
    mentor, _mentor_id, _token = await site.mentor()
    assert "Mentors for you" not in await (await mentor.get("/dashboard")).text()
