"""The review pages without JavaScript: the mentee's form (post, redirect, edit, closed after 7
days), the dashboard's links, the mentor page's reviews, reply and report forms, and the
moderation page, with every piece of user text escaped."""

from __future__ import annotations

from typing import Any

from tests.conftest import FakeClock
from tests.integration.reviews.support import complete, paid_call
from tests.support.booking import Client, Site

SCRIPT = "<script>alert(1)</script>"


async def post_form(client: Client, url: str, token: str, **fields: str) -> Any:
    return await client.post(url, data={"csrf_token": token, **fields}, allow_redirects=False)


async def test_the_mentee_rates_the_call_on_its_page(site: Site, clock: FakeClock) -> None:
    call = await paid_call(site)
    page_url = f"/bookings/{call.booking_id}/review"
    before = await (await call.mentee.get(page_url)).text()
    assert "once it has been completed" in before and 'name="rating"' not in before
    await complete(site, clock, call.booking_id)

    dashboard = await (await call.mentee.get("/dashboard")).text()
    assert f'href="{page_url}">Rate this call' in dashboard
    assert (await call.mentor.get(page_url)).status == 403
    stranger, _id, _token = await site.user("x@example.org")
    assert (await stranger.get(page_url)).status == 404

    form = await (await call.mentee.get(page_url)).text()
    assert form.count('type="radio" id="star-') == 5 and 'maxlength="1000"' in form
    unrated = await post_form(call.mentee, page_url, call.mentee_token, text="Hi")
    assert unrated.status == 400
    assert "Choose from 1 to 5 stars." in await unrated.text()
    saved = await post_form(
        call.mentee, page_url, call.mentee_token, rating="4", text=f"Great\r\n{SCRIPT}"
    )
    assert (saved.status, saved.headers["Location"]) == (303, f"{page_url}?saved=1")
    thanks = await (await call.mentee.get(f"{page_url}?saved=1")).text()
    assert "Thank you!" in thanks and 'value="4" checked' in thanks
    assert "&lt;script&gt;" in thanks and SCRIPT not in thanks
    dashboard = await (await call.mentee.get("/dashboard")).text()
    assert "Edit your review" in dashboard and "Rate this call" not in dashboard

    edited = await post_form(call.mentee, page_url, call.mentee_token, rating="5", text="Great")
    assert edited.status == 303
    clock.advance(days=8)
    closed = await (await call.mentee.get(page_url)).text()
    assert "final now" in closed and 'name="rating"' not in closed
    late = await post_form(call.mentee, page_url, call.mentee_token, rating="1")
    assert late.status == 409 and "7 days" in await late.text()
    dashboard = await (await call.mentee.get("/dashboard")).text()
    assert "Edit your review" not in dashboard and "Rate this call" not in dashboard


async def test_reviews_on_the_mentor_page_reply_report_and_moderation(
    site: Site, clock: FakeClock
) -> None:
    call = await paid_call(site)
    await complete(site, clock, call.booking_id)
    made = await call.mentee.post(
        f"/api/bookings/{call.booking_id}/review",
        json={"rating": 2, "text": f"Came late {SCRIPT}"},
        headers={"X-CSRF-Token": call.mentee_token},
    )
    review_id = (await made.json())["review"]["id"]
    mentor_url = f"/mentors/{call.mentor_id}"

    anonymous = await site.make_client(site.server)
    public = await (await anonymous.get(mentor_url)).text()
    assert "Came late &lt;script&gt;alert(1)&lt;/script&gt;" in public and SCRIPT not in public
    assert 'aria-label="2 out of 5 stars"' in public and "★ 2.0" in public
    assert "Calls completed" in public and "Typical reply time" in public
    assert f"/reviews/{review_id}/report" not in public  # logged in users only
    assert (await anonymous.get(f"{mentor_url}?page=0")).status == 400

    own = await (await call.mentor.get(mentor_url)).text()
    assert f'action="/reviews/{review_id}/reply"' in own
    assert (
        f'action="/reviews/{review_id}/reply"'
        not in await (await call.mentee.get(mentor_url)).text()
    )
    blank = await post_form(call.mentor, f"/reviews/{review_id}/reply", call.mentor_token, text=" ")
    assert blank.headers["Location"] == f"{mentor_url}?done=reply_empty#review-{review_id}"
    said = await (await call.mentor.get(f"{mentor_url}?done=reply_empty")).text()
    assert "Nothing was published: write a reply first." in said
    assert f'action="/reviews/{review_id}/reply"' in said  # still there to fill in
    replied = await post_form(
        call.mentor, f"/reviews/{review_id}/reply", call.mentor_token, text=f"Sorry {SCRIPT}"
    )
    assert replied.status == 303
    assert replied.headers["Location"] == f"{mentor_url}?done=replied#review-{review_id}"
    own = await (await call.mentor.get(f"{mentor_url}?done=replied")).text()
    assert "Sorry &lt;script&gt;" in own and f'action="/reviews/{review_id}/reply"' not in own
    twice = await post_form(
        call.mentor, f"/reviews/{review_id}/reply", call.mentor_token, text="Again"
    )
    assert twice.status == 409

    reporter, _id, token = await site.user("r@example.org")
    for _ in range(2):  # a second report from the same person is not an error on the page
        reported = await post_form(reporter, f"/reviews/{review_id}/report", token, reason="Spam")
        assert reported.status == 303
        assert reported.headers["Location"] == f"{mentor_url}?done=reported#review-{review_id}"
    assert (await reporter.get("/admin/reviews")).status == 403
    refused = await post_form(
        reporter, f"/admin/reviews/{review_id}/moderate", token, decision="hide"
    )
    assert refused.status == 403

    admin, admin_token = await site.admin()
    queue = await (await admin.get("/admin/reviews")).text()
    assert "1 review waiting" in queue and "Spam" in queue and SCRIPT not in queue
    bad = await post_form(
        admin, f"/admin/reviews/{review_id}/moderate", admin_token, decision="delete"
    )
    assert bad.status == 400
    hidden = await post_form(
        admin, f"/admin/reviews/{review_id}/moderate", admin_token, decision="hide", note="Spam"
    )
    assert (hidden.status, hidden.headers["Location"]) == (303, "/admin/reviews?done=hide")
    done = await (await admin.get("/admin/reviews?done=hide")).text()
    assert "The review is hidden" in done and "0 reviews waiting" in done
    after = await (await anonymous.get(mentor_url)).text()
    assert "Came late" not in after and "No reviews yet" in after
