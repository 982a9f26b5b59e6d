"""The community pages without JavaScript: the menu, the feed and communities, joining, asking,
replying, a mentor's post with its cover through the form, editing and deleting, the mentor
page's "Posts", an administrator opening a community; errors come back on the same page."""

from __future__ import annotations

import re

from tests.integration.community.support import Person, cast, image_form, joined, post
from tests.support.booking import Site
from tests.support.images import png


async def test_a_mentor_publishes_through_the_form_with_a_cover(site: Site) -> None:
    people = await cast(site)
    assert (await people.mentee.client.get("/posts/new")).status == 403
    await joined(people.mentor, "data-science")
    form = await people.mentor.page("/posts/new?community=data-science")
    assert '<option value="data-science" data-id=' in form and "selected" in form
    assert 'enctype="multipart/form-data"' in form and 'name="cover"' in form

    empty = await people.mentor.form("/posts/new", title=" ", body="Text")
    assert empty.status == 400 and "The title must not be empty." in await empty.text()
    response = await people.mentor.client.post(
        "/posts/new",
        data=image_form(
            png(32, 18),
            csrf_token=people.mentor.token,
            title="Pandas in a week",
            body="Day 1: `read_csv`",
            community="data-science",
        ),
        allow_redirects=False,
    )
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/posts/\d+\?done=published", location)
    page = await people.mentor.page(location)
    assert "Published: your post is on your page" in page
    assert re.search(r'<img class="post-cover large" src="/media/covers/\d+-\w+\.png"', page)
    assert "<code>read_csv</code>" in page and 'href="/community/data-science">Data science' in page

    mentor_page = await people.mentee.page(f"/mentors/{people.mentor.id}")
    assert 'id="posts-title">Posts' in mentor_page and "Pandas in a week" in mentor_page
    assert "Pandas in a week" in await people.mentee.page("/community")
    assert "Pandas in a week" in await people.mentee.page("/community/data-science")

    refused = await people.mentor.client.post(
        "/posts/new",
        data=image_form(b"not an image", csrf_token=people.mentor.token, title="T", body="B"),
        allow_redirects=False,
    )
    assert refused.headers["Location"].endswith("?done=published&cover=refused")
    assert "the cover image was refused" in await people.mentor.page(refused.headers["Location"])


async def test_members_join_ask_reply_edit_and_delete_on_the_pages(site: Site) -> None:
    people = await cast(site)
    menu = await people.mentee.page("/dashboard")
    assert '<a href="/community" >Community</a>' in menu or 'href="/community"' in menu
    index = await people.mentee.page("/community")
    assert "Interview prep" in index and 'aria-label="Join Interview prep"' in index
    assert "Write a post" not in index  # mentees do not post
    assert "Write a post" in await people.mentor.page("/community")

    joined_now = await people.mentee.form("/community/interview-prep/join")
    assert joined_now.headers["Location"] == "/community/interview-prep?done=joined"
    page = await people.mentee.page("/community/interview-prep?done=joined")
    assert "You joined" in page and 'action="/community/interview-prep/questions"' in page

    blank = await people.mentee.form("/community/interview-prep/questions", title="", body="?")
    text = await blank.text()
    assert blank.status == 400 and "The title must not be empty." in text
    assert ">?</textarea>" in text  # what was typed stays
    asked = await people.mentee.form(
        "/community/interview-prep/questions", title="Which language?", body="C++ or Java?"
    )
    location = asked.headers["Location"]
    qid = int(re.fullmatch(r"/posts/(\d+)\?done=asked", location)[1])  # type: ignore[index]
    question = await people.mentee.page(location)
    assert "Which language?" in question and "C++ or Java?" in question

    # Not a member: a button to join instead of the reply form.
    outsider = await people.mentor.page(f"/posts/{qid}")
    assert 'name="body"' not in outsider and "Join Interview prep" in outsider
    await joined(people.mentor)
    nothing = await people.mentor.form(f"/posts/{qid}/replies", body="  ")
    assert nothing.status == 400 and "The text must not be empty." in await nothing.text()
    replied = await people.mentor.form(f"/posts/{qid}/replies", body="Either; *practice*.")
    assert re.fullmatch(rf"/posts/{qid}\?done=replied#reply-\d+", replied.headers["Location"])
    thread = await people.mentee.page(f"/posts/{qid}")
    assert "<em>practice</em>" in thread and "1 reply" in thread

    edit = await people.mentee.page(f"/posts/{qid}/edit")
    assert "Edit your question" in edit and 'name="cover"' not in edit
    assert (await people.mentor.client.get(f"/posts/{qid}/edit")).status == 403
    saved = await people.mentee.form(f"/posts/{qid}/edit", title="Which language, C++?", body="")
    assert saved.headers["Location"] == f"/posts/{qid}?done=saved"
    assert "Which language, C++?" in await people.mentee.page(f"/posts/{qid}")

    gone = await people.mentee.form(f"/posts/{qid}/delete")
    assert gone.headers["Location"] == "/community/interview-prep?done=deleted"
    assert (await people.mentee.client.get(f"/posts/{qid}")).status == 404
    left = await people.mentee.form("/community/interview-prep/leave")
    assert left.headers["Location"] == "/community/interview-prep?done=left"
    assert "Join the community" in await people.mentee.page("/community/interview-prep")


async def test_the_mentor_edits_the_cover_and_an_administrator_opens_a_community(
    site: Site,
) -> None:
    people = await cast(site)
    made = await post(people.mentor, "With a cover")
    await people.mentor.client.post(
        f"/api/posts/{made['id']}/cover",
        data=image_form(png(8, 8)),
        headers={"X-CSRF-Token": people.mentor.token},
    )
    edit = await people.mentor.page(f"/posts/{made['id']}/edit")
    assert 'name="remove_cover"' in edit and "The current cover image" in edit
    removed = await people.mentor.form(
        f"/posts/{made['id']}/edit", title="No cover", body="Text", remove_cover="1"
    )
    assert removed.status == 303
    _status, now = await people.mentor.call("GET", f"/api/posts/{made['id']}")
    assert (now["post"]["title"], now["post"]["cover_url"]) == ("No cover", None)

    stranger = Person(*await site.user("other@example.org"))
    assert (await stranger.form("/community", name="Mine")).status == 403
    assert "New community" not in await stranger.page("/community")
    assert "New community" in await people.admin.page("/community")
    taken = await people.admin.form("/community", name="interview PREP")
    assert taken.status == 409 and "exists already" in await taken.text()
    opened = await people.admin.form("/community", name="Open source", description="PRs")
    assert opened.headers["Location"] == "/community/open-source?done=created"
    assert (await people.admin.client.get("/community/no-such-thing")).status == 404
    assert (await people.admin.client.get("/community?page=0")).status == 400
