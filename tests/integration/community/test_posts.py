"""Posts, communities, questions and replies through the API: who may write what, the feeds,
editing and deleting, the cover image, and Markdown that never lets HTML through."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.community.support import (
    SCRIPT,
    Person,
    cast,
    community_id,
    image_form,
    joined,
    post,
)
from tests.support.booking import Site
from tests.support.images import jpeg_header, png


async def test_only_approved_mentors_post_and_posts_reach_the_feeds(site: Site) -> None:
    people = await cast(site)
    denied = await people.mentee.call("POST", "/api/posts", {"title": "Hi", "body": "x"})
    assert (denied[0], denied[1]["error"]["code"]) == (403, "not_a_mentor")
    pending = Person(*await site.user("pending@example.org", "mentor"))  # never approved
    assert (await pending.call("POST", "/api/posts", {"title": "Hi", "body": "x"}))[0] == 403

    made = await post(people.mentor, "Arrays first")
    assert made["kind"] == "post" and made["community"] is None
    assert made["html"] == "<p>Start with <strong>arrays</strong>.</p>"
    assert made["author"] == "Asha Rao" and made["replies"] == 0

    anonymous = await people.anonymous()
    feed = await (await anonymous.get("/api/posts")).json()
    assert [p["title"] for p in feed["items"]] == ["Arrays first"] and feed["total"] == 1
    mine = await (await anonymous.get(f"/api/mentors/{people.mentor.id}/posts")).json()
    assert [p["id"] for p in mine["items"]] == [made["id"]]
    one = await (await anonymous.get(f"/api/posts/{made['id']}")).json()
    assert one["post"]["title"] == "Arrays first" and one["replies"] == []

    cid = await community_id(people.mentor)
    outside = await people.mentor.call(
        "POST", "/api/posts", {"title": "In", "body": "x", "community_id": cid}
    )
    assert (outside[0], outside[1]["error"]["code"]) == (403, "not_a_member")
    nowhere = await people.mentor.call(
        "POST", "/api/posts", {"title": "In", "body": "x", "community_id": 999}
    )
    assert (nowhere[0], nowhere[1]["error"]["field"]) == (400, "community_id")
    await joined(people.mentor)
    inside = await post(people.mentor, "Mock interviews", community_id=cid)
    assert inside["community"]["slug"] == "interview-prep"
    feed = await (await anonymous.get(f"/api/communities/{cid}/posts")).json()
    assert [p["title"] for p in feed["items"]] == ["Mock interviews"]


async def test_members_ask_and_reply_and_authors_edit_and_delete(site: Site) -> None:
    people = await cast(site)
    cid = await community_id(people.mentee)
    question = {"title": "How do I start DSA?", "body": "I know *Python*."}
    early = await people.mentee.call("POST", f"/api/communities/{cid}/questions", question)
    assert (early[0], early[1]["error"]["code"]) == (403, "not_a_member")
    await joined(people.mentee)
    status, asked = await people.mentee.call("POST", f"/api/communities/{cid}/questions", question)
    assert status == 201 and asked["post"]["kind"] == "question"
    qid = asked["post"]["id"]

    # The mentor is not a member: no reply there; after joining, yes.
    reply = {"body": "Arrays, then hashing."}
    refused = await people.mentor.call("POST", f"/api/posts/{qid}/replies", reply)
    assert (refused[0], refused[1]["error"]["code"]) == (403, "not_a_member")
    await joined(people.mentor)
    status, answered = await people.mentor.call("POST", f"/api/posts/{qid}/replies", reply)
    assert status == 201 and answered["reply"]["html"] == "<p>Arrays, then hashing.</p>"
    anonymous = await people.anonymous()
    nobody = await anonymous.post(f"/api/posts/{qid}/replies", json=reply)
    assert nobody.status == 403  # no login, so no CSRF token either

    # A post outside any community takes replies from anyone logged in.
    general = await post(people.mentor, "General advice")
    stranger = Person(*await site.user("stranger@example.org"))
    assert (await stranger.call("POST", f"/api/posts/{general['id']}/replies", reply))[0] == 201

    thread = await (await anonymous.get(f"/api/posts/{qid}")).json()
    assert thread["post"]["replies"] == 1 and len(thread["replies"]) == 1
    feed = await (await anonymous.get(f"/api/communities/{cid}/posts")).json()
    assert [(p["kind"], p["replies"]) for p in feed["items"]] == [("question", 1)]

    edit = {"title": "How do I start DSA, really?", "body": ""}
    assert (await people.mentor.call("PUT", f"/api/posts/{qid}", edit))[0] == 403
    status, edited = await people.mentee.call("PUT", f"/api/posts/{qid}", edit)
    assert status == 200 and edited["post"]["edited_at"] and edited["post"]["body"] == ""
    empty = await people.mentor.call("PUT", f"/api/posts/{general['id']}", edit)
    assert (empty[0], empty[1]["error"]["field"]) == (400, "body")  # a post needs its text

    reply_id = answered["reply"]["id"]
    assert (await people.mentee.call("DELETE", f"/api/replies/{reply_id}"))[0] == 403
    assert (await people.mentor.call("DELETE", f"/api/replies/{reply_id}"))[0] == 204
    assert (await people.mentor.call("DELETE", f"/api/replies/{reply_id}"))[0] == 404
    assert (await people.mentor.call("DELETE", f"/api/posts/{qid}"))[0] == 403
    assert (await people.mentee.call("DELETE", f"/api/posts/{qid}"))[0] == 204
    assert (await anonymous.get(f"/api/posts/{qid}")).status == 404
    assert (await (await anonymous.get(f"/api/communities/{cid}/posts")).json())["total"] == 0

    # Leaving ends asking; what was written stays.
    status, left = await people.mentee.call("DELETE", f"/api/communities/{cid}/membership")
    assert (status, left["community"]["joined"], left["community"]["members"]) == (200, False, 1)
    again = await people.mentee.call("POST", f"/api/communities/{cid}/questions", question)
    assert again[0] == 403


async def test_script_in_a_post_a_question_and_a_reply_stays_text(site: Site) -> None:
    people = await cast(site)
    cid = await joined(people.mentor)
    await joined(people.mentee)
    nasty = f"{SCRIPT} <img src=x onerror=alert(2)> [click](javascript:alert(3)) [ok](https://example.org)"
    made = await post(people.mentor, f"Title {SCRIPT}", body=nasty, community_id=cid)
    status, asked = await people.mentee.call(
        "POST", f"/api/communities/{cid}/questions", {"title": f"Q {SCRIPT}", "body": nasty}
    )
    assert status == 201
    status, replied = await people.mentee.call(
        "POST", f"/api/posts/{made['id']}/replies", {"body": nasty}
    )
    assert status == 201
    for html in (made["html"], asked["post"]["html"], replied["reply"]["html"]):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
        assert "<img" not in html and "javascript:" not in re.findall(r'href="[^"]*"', html)[0]
        assert 'href="https://example.org" rel="nofollow noopener noreferrer"' in html

    anonymous = await people.anonymous()
    for path in (
        f"/posts/{made['id']}",
        f"/posts/{asked['post']['id']}",
        "/community",
        "/community/interview-prep",
        f"/mentors/{people.mentor.id}",
    ):
        page = await (await anonymous.get(path)).text()
        assert SCRIPT not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert 'href="javascript' not in page, path


async def test_the_cover_image_is_checked_served_and_removed(site: Site) -> None:
    people = await cast(site)
    made = await post(people.mentor)
    url = f"/api/posts/{made['id']}/cover"

    async def upload(person: Person, data: bytes, name: str = "cover") -> tuple[int, Any]:
        response = await person.client.post(
            url, data=image_form(data, name), headers={"X-CSRF-Token": person.token}
        )
        return response.status, await response.json()

    assert (await upload(people.mentor, b"GIF89a not ours"))[0] == 415
    assert (await upload(people.mentor, b"x" * (2 * 1024 * 1024 + 1)))[0] == 413
    assert (await upload(people.mentor, jpeg_header(9000, 9000)))[0] == 400  # a pixel bomb
    assert (await upload(people.mentor, png(8, 8), name="photo"))[0] == 400
    assert (await upload(people.mentee, png(8, 8)))[0] == 403
    status, covered = await upload(people.mentor, png(16, 9))
    assert status == 200 and covered["post"]["cover_url"].endswith(".png")
    image = await (await people.anonymous()).get(covered["post"]["cover_url"])
    assert image.status == 200 and image.content_type == "image/png"
    assert await image.read() == png(16, 9)
    assert (await (await people.anonymous()).get("/media/covers/..%2Fsecret_key")).status == 404

    status, bare = await people.mentor.call("DELETE", url)
    assert status == 200 and bare["post"]["cover_url"] is None
    assert (await (await people.anonymous()).get(covered["post"]["cover_url"])).status == 404

    cid = await joined(people.mentee)
    status, asked = await people.mentee.call(
        "POST", f"/api/communities/{cid}/questions", {"title": "Q"}
    )
    no_cover = await people.mentee.client.post(
        f"/api/posts/{asked['post']['id']}/cover",
        data=image_form(png(8, 8)),
        headers={"X-CSRF-Token": people.mentee.token},
    )
    assert no_cover.status == 409


async def test_administrators_create_communities(site: Site) -> None:
    people = await cast(site)
    status, listed = await people.mentee.call("GET", "/api/communities")
    assert [c["name"] for c in listed["items"]] == [
        "Career guidance",
        "Data science",
        "Interview prep",
    ]
    assert all(c["joined"] is False and c["members"] == 0 for c in listed["items"])
    anonymous = await people.anonymous()
    assert (await (await anonymous.get("/api/communities")).json())["items"][0]["joined"] is None

    body = {"name": "  System   design ", "description": "Scaling, trade-offs."}
    assert (await people.mentee.call("POST", "/api/communities", body))[0] == 403
    status, made = await people.admin.call("POST", "/api/communities", body)
    assert status == 201
    assert (made["community"]["name"], made["community"]["slug"]) == (
        "System design",
        "system-design",
    )
    twice = await people.admin.call("POST", "/api/communities", {"name": "system DESIGN"})
    assert (twice[0], twice[1]["error"]["code"]) == (409, "community_exists")
    symbols = await people.admin.call("POST", "/api/communities", {"name": "!!!"})
    assert (symbols[0], symbols[1]["error"]["field"]) == (400, "name")
    page = await (await anonymous.get("/community/system-design")).text()
    assert "Scaling, trade-offs." in page
