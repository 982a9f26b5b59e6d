"""Ranking by rating: the damped average (C*m + sum) / (C + n) as a pure function and through
GET /api/mentors?sort=rating, and the min_rating filter on the shown average."""

from __future__ import annotations

from typing import Any

from server.reviews.stats import PRIOR_MEAN, Rating, damped, prior_mean, rank
from tests.integration.reviews.support import add_reviews
from tests.support.booking import Site

ONE_FIVE = [5]
FIFTY_AT_4_5 = [5, 4] * 25
TEN_FOURS = [4] * 10


def test_one_five_star_review_does_not_outrank_fifty_at_four_and_a_half() -> None:
    ratings = {
        1: Rating(1, sum(ONE_FIVE)),
        2: Rating(50, sum(FIFTY_AT_4_5)),
        3: Rating(10, sum(TEN_FOURS)),
        4: Rating(),  # nobody rated it yet
    }
    assert ratings[2].average == 4.5
    # m is the site's mean (4.43 here) capped at 4: above about 4.4 one 5 would outrank them.
    assert prior_mean(ratings.values()) == PRIOR_MEAN == 4.0
    assert rank(ratings) == [2, 1, 3, 4]
    assert round(damped(ratings[2], 4.0), 3) == 4.455  # (5*4 + 225) / 55
    assert round(damped(ratings[1], 4.0), 3) == 4.167  # (5*4 + 5) / 6
    # A site rated lower than the cap shrinks towards its own mean.
    low = {1: Rating(1, 5), 2: Rating(10, 30)}
    assert prior_mean(low.values()) == 35 / 11
    assert rank(low) == [1, 2]
    assert prior_mean([]) == PRIOR_MEAN


async def test_sort_by_rating_and_min_rating_through_the_api(site: Site) -> None:
    ids = {}
    for name in ("one", "fifty", "ten", "none"):
        _client, ids[name], _token = await site.mentor(f"{name}@example.org")
    viewer, mentee_id, _token = await site.user("e@example.org")
    app = site.server.app
    await add_reviews(app, ids["one"], mentee_id, ONE_FIVE)
    await add_reviews(app, ids["fifty"], mentee_id, FIFTY_AT_4_5)
    await add_reviews(app, ids["ten"], mentee_id, TEN_FOURS)

    async def listed(query: str) -> list[dict[str, Any]]:
        response = await viewer.get(f"/api/mentors?{query}")
        assert response.status == 200, await response.text()
        items: list[dict[str, Any]] = (await response.json())["items"]
        return items

    by_rating = await listed("sort=rating")
    order = [ids["fifty"], ids["one"], ids["ten"], ids["none"]]
    assert [m["id"] for m in by_rating] == order
    assert [(m["rating"], m["reviews"]) for m in by_rating] == [
        (4.5, 50),
        (5.0, 1),
        (4.0, 10),
        (None, 0),
    ]
    assert [m["id"] for m in await listed("sort=rating&min_rating=4")] == order[:3]
    assert [m["id"] for m in await listed("min_rating=4.6")] == [ids["one"]]
    assert (await viewer.get("/api/mentors?min_rating=-1")).status == 400
    page = await (await viewer.get("/mentors?sort=rating&min_rating=4.5")).text()
    assert "2 mentors" in page and "★ 4.5" in page and "★ 5.0" in page
