"""Mentors for you: the made-up catalogue of support.py in the exact order the scoring gives,
each with its reason; what a mentee's interests, past calls and favourites each add; the top
rated when there is nothing to go on; an empty list when nobody is rated either."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from server.db.engine import DATABASE
from server.db.models import MentorProfile
from tests.integration.discovery.support import Mentor, add_catalogue, add_past_call
from tests.support.booking import Client, Site


def listed(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["mentor"]["name"], item["reason"]) for item in body["items"]]


async def recommendations(client: Client, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/me/recommendations{query}")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def say(client: Client, token: str, *interests: str) -> None:
    response = await client.put(
        "/api/me/interests", json={"interests": list(interests)}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 200, await response.text()


async def test_the_catalogue_comes_in_order_each_with_its_reason(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    await add_past_call(site.server.app, ids["Dev"], asha_id)
    await say(asha, token, "python", "interviews")

    body = await recommendations(asha)

    assert body["basis"] == "similarity"
    assert body["interests"] == ["python", "interviews"]
    # Meera and Sana share both interests (Python written twice in their bios, so it weighs
    # more); they are equal but for Sana's lower rating. Kavya shares interviews, Arjun Python
    # (in a longer document), Rohan only Kubernetes, a skill of Dev whom Asha booked. Dev
    # himself (booked), Priya (pending) and Zoe (suspended) are left out.
    assert listed(body) == [
        ("Meera Iyer", "shares: Python, interviews"),
        ("Sana Khan", "shares: Python, interviews"),
        ("Kavya Nair", "shares: Interviews"),
        ("Arjun Das", "shares: Python"),
        ("Rohan Mehta", "shares: Kubernetes"),
    ]
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True) and scores[0] < 1.1
    first = body["items"][0]
    assert first["shared"] == ["Python", "interviews"]
    assert first["mentor"] == {
        "id": ids["Meera"],
        "name": "Meera Iyer",
        "headline": "Backend engineer at a fintech",
        "skills": ["Python", "Django", "Mock interviews"],
        "price_paise": 10000,
        "photo_url": None,
        "rating": 4.8,
        "reviews": 4,
    }
    assert listed(await recommendations(asha, "?limit=2")) == listed(body)[:2]
    assert await recommendations(asha) == body  # the same every time


async def test_interests_and_past_calls_each_count(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    await say(asha, token, "Python", "interview")  # any case, singular or plural
    names = [name for name, _reason in listed(await recommendations(asha))]
    assert names == ["Meera Iyer", "Sana Khan", "Kavya Nair", "Arjun Das"]  # no Kubernetes

    kiran, kiran_id, _token = await site.user("kiran@example.org")
    await add_past_call(site.server.app, ids["Dev"], kiran_id)  # no interests, one call
    assert listed(await recommendations(kiran)) == [("Rohan Mehta", "shares: Kubernetes")]


async def test_favourites_leave_the_list_and_their_skills_count(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    await say(asha, token, "interviews")
    favourite = await asha.put(
        f"/api/mentors/{ids['Kavya']}/favourite", headers={"X-CSRF-Token": token}
    )
    assert favourite.status == 200
    # Kavya is a favourite now: left out, but her System Design counts for Asha.
    assert listed(await recommendations(asha)) == [
        ("Meera Iyer", "shares: interviews"),
        ("Sana Khan", "shares: interviews"),
    ]
    await say(asha, token, "interviews", "system design")
    unfavourite = await asha.delete(
        f"/api/mentors/{ids['Kavya']}/favourite", headers={"X-CSRF-Token": token}
    )
    assert unfavourite.status == 200
    # A skill of several words, all of them shared, is named whole, as the mentor wrote it.
    assert listed(await recommendations(asha))[0] == (
        "Kavya Nair",
        "shares: System Design, Interviews",
    )


async def test_with_nothing_to_go_on_the_top_rated_come_saying_so(site: Site) -> None:
    asha, asha_id, token = await site.user("asha@example.org")
    await add_catalogue(site.server.app, asha_id)
    body = await recommendations(asha)
    assert body["basis"] == "top_rated"
    # The damped average (server/reviews/stats.py): five 5s beat four averaging 4.8; Kavya and
    # Rohan tie on everything, so the lower id (Kavya) comes first; Dev has no rating.
    assert listed(body) == [
        ("Kavya Nair", "top rated: 5.0 stars from 5 reviews"),
        ("Rohan Mehta", "top rated: 5.0 stars from 5 reviews"),
        ("Meera Iyer", "top rated: 4.8 stars from 4 reviews"),
        ("Arjun Das", "top rated: 4.0 stars from 3 reviews"),
        ("Sana Khan", "top rated: 3.0 stars from 2 reviews"),
    ]
    assert all(item["shared"] == [] for item in body["items"])

    await say(asha, token, "cooking", "the")  # nobody shares these: the top rated again
    again = await recommendations(asha)
    assert again["basis"] == "top_rated" and again["interests"] == ["cooking", "the"]
    assert listed(again) == listed(body)


async def test_nobody_rated_and_nothing_asked_is_an_empty_list(site: Site) -> None:
    asha, asha_id, _token = await site.user("asha@example.org")
    unrated = (Mentor("Dev Patel", ("Go",), "SRE", "Go in production."),)
    await add_catalogue(site.server.app, asha_id, unrated)
    assert await recommendations(asha) == {"basis": "top_rated", "interests": [], "items": []}
    page = await (await asha.get("/dashboard")).text()
    assert "Mentors for you" in page
    assert "Tell us your interests below and we will suggest mentors who share them" in page


async def test_interests_are_cleaned_and_bad_input_is_a_400(site: Site) -> None:
    asha, _asha_id, token = await site.user("asha@example.org")
    headers = {"X-CSRF-Token": token}
    assert (await (await asha.get("/api/me/interests")).json()) == {"interests": []}
    saved = await asha.put(
        "/api/me/interests",
        json={"interests": ["  machine   learning ", "Python", "python", ""]},
        headers=headers,
    )
    assert (await saved.json()) == {"interests": ["machine learning", "Python"]}
    assert (await (await asha.get("/api/me/interests")).json()) == {
        "interests": ["machine learning", "Python"]
    }
    for body in (
        {"interests": ["x" * 41]},
        {"interests": [f"tag {i}" for i in range(21)]},
        {"interests": "python"},
        {"interests": [3]},
        {"interests": ["a\x00b"]},
        {"interest": ["python"]},
        {},
    ):
        bad = await asha.put("/api/me/interests", json=body, headers=headers)
        assert bad.status == 400, body
        error = (await bad.json())["error"]
        assert error["code"] == "invalid_field"
        assert error["field"].startswith(("interests", "interest")), error
    for query in ("?limit=0", "?limit=21", "?limit=many"):
        bad = await asha.get(f"/api/me/recommendations{query}")
        assert bad.status == 400 and (await bad.json())["error"]["field"] == "limit"


async def test_logged_out_is_a_401(site: Site) -> None:
    stranger = await site.make_client(site.server)
    for path in ("/api/me/recommendations", "/api/me/interests"):
        response = await stranger.get(path)
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthenticated"


async def test_a_changed_profile_counts_at_once(site: Site) -> None:
    """The kept vectors (server/discovery/service.py) follow an edited profile and a mentor who
    stops being listed."""
    asha, asha_id, token = await site.user("asha@example.org")
    ids = await add_catalogue(site.server.app, asha_id)
    await say(asha, token, "kubernetes")
    assert [n for n, _r in listed(await recommendations(asha))] == ["Dev Patel", "Rohan Mehta"]
    async with site.server.app[DATABASE].write() as s:
        await s.execute(
            update(MentorProfile)
            .where(MentorProfile.user_id == ids["Arjun"])
            .values(bio="Pandas pipelines on Kubernetes, Kubernetes and Kubernetes.")
        )
        await s.execute(
            update(MentorProfile)
            .where(MentorProfile.user_id == ids["Rohan"])
            .values(status="rejected")
        )
    assert listed(await recommendations(asha)) == [
        ("Dev Patel", "shares: Kubernetes"),
        ("Arjun Das", "shares: Kubernetes"),
    ]
