"""The review rules through the API: who may rate, when, how often and for how long; the
mentor's one reply; reports and moderation with its audit entry; the request to rate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.db.models import AuditEntry, Notification, OutboxMail
from server.notifications.service import NOTIFICATIONS
from tests.conftest import FakeClock
from tests.integration.reviews.support import Call, complete, headers, paid_call
from tests.support.booking import Site


async def review_of(call: Call, rating: int = 5, text: str = "Clear and kind.") -> Any:
    return await call.mentee.post(
        f"/api/bookings/{call.booking_id}/review",
        json={"rating": rating, "text": text},
        headers=headers(call.mentee_token),
    )


async def public_reviews(call: Call) -> list[dict[str, Any]]:
    response = await call.mentee.get(f"/api/mentors/{call.mentor_id}/reviews")
    assert response.status == 200
    items: list[dict[str, Any]] = (await response.json())["items"]
    return items


async def test_only_the_mentee_rates_a_completed_call_and_only_once(
    site: Site, clock: FakeClock
) -> None:
    call = await paid_call(site)
    early = await review_of(call)
    assert (early.status, (await early.json())["error"]["code"]) == (409, "not_completed")

    await complete(site, clock, call.booking_id)
    url = f"/api/bookings/{call.booking_id}/review"
    by_mentor = await call.mentor.post(url, json={"rating": 5}, headers=headers(call.mentor_token))
    assert by_mentor.status == 403
    stranger, _id, token = await site.user("x@example.org")
    assert (await stranger.post(url, json={"rating": 5}, headers=headers(token))).status == 404
    anonymous = await site.make_client(site.server)
    assert (await anonymous.post(url, json={"rating": 5})).status in (401, 403)
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 4.5}, {"rating": 4, "text": "x" * 1001}):
        refused = await call.mentee.post(url, json=bad, headers=headers(call.mentee_token))
        assert refused.status == 400, bad

    made = await review_of(call, 4, "Clear and kind. " * 10)
    assert made.status == 201, await made.text()
    review = (await made.json())["review"]
    assert (review["rating"], review["author"]) == (4, "Asha R.")
    again = await review_of(call, 5)
    assert (again.status, (await again.json())["error"]["code"]) == (409, "already_reviewed")

    assert [r["id"] for r in await public_reviews(call)] == [review["id"]]
    profile = await (await stranger.get(f"/api/mentors/{call.mentor_id}")).json()
    assert (profile["rating"], profile["reviews"], profile["calls_completed"]) == (4.0, 1, 1)
    assert [r["id"] for r in profile["recent_reviews"]] == [review["id"]]
    card = (await (await stranger.get("/api/mentors")).json())["items"][0]
    assert (card["rating"], card["reviews"]) == (4.0, 1)


async def test_the_mentee_is_asked_to_rate_a_completed_call(site: Site, clock: FakeClock) -> None:
    call = await paid_call(site)
    await complete(site, clock, call.booking_id)
    notifications = site.server.app[NOTIFICATIONS]
    await notifications.handle_events()  # the worker's round (it may have run already)
    link = f"/bookings/{call.booking_id}/review"
    listed = await (await call.mentee.get("/api/notifications")).json()
    asked = [n for n in listed["items"] if n["kind"] == "review_requested"]
    assert [n["link"] for n in asked] == [link]
    async with notifications.db.read() as s:
        mails = list(
            await s.scalars(select(OutboxMail).where(OutboxMail.kind == "review_requested"))
        )
        to_mentor = await s.scalars(
            select(Notification).where(
                Notification.user_id == call.mentor_id, Notification.kind == "review_requested"
            )
        )
        assert list(to_mentor) == []
    assert len(mails) == 1 and link in mails[0].body
    assert mails[0].user_id == call.mentee_id

    # The mentor hears of the review when it is written (not of edits).
    assert (await review_of(call, 4, "Clear advice")).status == 201
    await notifications.handle_events()
    told = await (await call.mentor.get("/api/notifications")).json()
    written = [n for n in told["items"] if n["kind"] == "review_written"]
    assert [n["title"] for n in written] == ["Asha Rao rated your call 4 of 5"]
    assert written[0]["link"].startswith(f"/mentors/{call.mentor_id}#review-")


async def test_a_review_can_be_edited_for_seven_days(site: Site, clock: FakeClock) -> None:
    call = await paid_call(site)
    await complete(site, clock, call.booking_id)
    assert (await review_of(call, 3, "Fine")).status == 201
    url = f"/api/bookings/{call.booking_id}/review"

    clock.advance(days=6, hours=23)
    edited = await call.mentee.put(
        url, json={"rating": 5, "text": "Better than I thought"}, headers=headers(call.mentee_token)
    )
    assert edited.status == 200, await edited.text()
    review = (await edited.json())["review"]
    assert (review["rating"], review["text"]) == (5, "Better than I thought")
    assert review["edited_at"] is not None
    by_mentor = await call.mentor.put(url, json={"rating": 1}, headers=headers(call.mentor_token))
    assert by_mentor.status == 403

    clock.advance(hours=2)  # now past 7 days since it was written
    late = await call.mentee.put(url, json={"rating": 1}, headers=headers(call.mentee_token))
    error = (await late.json())["error"]
    assert (late.status, error["code"]) == (409, "edit_window_closed")
    assert "7 days" in error["message"]
    shown = await (await call.mentee.get(url)).json()
    assert shown["review"]["rating"] == 5


async def test_the_mentor_replies_once(site: Site, clock: FakeClock) -> None:
    call = await paid_call(site)
    await complete(site, clock, call.booking_id)
    review_id = (await (await review_of(call)).json())["review"]["id"]
    url = f"/api/reviews/{review_id}/reply"

    by_mentee = await call.mentee.post(
        url, json={"text": "Me too"}, headers=headers(call.mentee_token)
    )
    assert by_mentee.status == 403
    empty = await call.mentor.post(url, json={"text": "  "}, headers=headers(call.mentor_token))
    assert empty.status == 400
    replied = await call.mentor.post(
        url, json={"text": "Thank you, good luck!"}, headers=headers(call.mentor_token)
    )
    assert replied.status == 200, await replied.text()
    twice = await call.mentor.post(url, json={"text": "Again"}, headers=headers(call.mentor_token))
    assert (twice.status, (await twice.json())["error"]["code"]) == (409, "already_replied")
    [shown] = await public_reviews(call)
    assert shown["reply"] == "Thank you, good luck!"


async def test_a_hidden_review_leaves_the_page_and_the_average(
    site: Site, clock: FakeClock
) -> None:
    call = await paid_call(site)
    await complete(site, clock, call.booking_id)
    review_id = (await (await review_of(call, 1, "Rude <b>and</b> late")).json())["review"]["id"]
    reporter, _id, token = await site.user("r@example.org")
    report_url = f"/api/reviews/{review_id}/report"
    reported = await reporter.post(report_url, json={"reason": "Abusive"}, headers=headers(token))
    assert reported.status == 201, await reported.text()
    twice = await reporter.post(report_url, json={}, headers=headers(token))
    assert (twice.status, (await twice.json())["error"]["code"]) == (409, "already_reported")
    by_mentor = await call.mentor.post(report_url, json={}, headers=headers(call.mentor_token))
    assert by_mentor.status == 201

    moderate = f"/api/admin/reviews/{review_id}/moderate"
    assert (await reporter.get("/api/admin/reported-reviews")).status == 403
    decision = {"decision": "hide", "note": "Personal attack"}
    assert (await reporter.put(moderate, json=decision, headers=headers(token))).status == 403
    assert (await reporter.get("/admin/reviews")).status == 403

    admin, admin_token = await site.admin()
    queue = await (await admin.get("/api/admin/reported-reviews")).json()
    assert queue["total"] == 1
    [item] = queue["items"]
    assert item["review"]["id"] == review_id
    assert [r["reason"] for r in item["reports"]] == ["Abusive", ""]
    page = await (await admin.get("/admin/reviews")).text()
    assert "Rude &lt;b&gt;and&lt;/b&gt; late" in page and "Abusive" in page

    hidden = await admin.put(moderate, json=decision, headers=headers(admin_token))
    assert hidden.status == 200, await hidden.text()
    assert (await hidden.json())["review"]["hidden"] is True
    assert await public_reviews(call) == []
    mentor_page = await (await call.mentee.get(f"/mentors/{call.mentor_id}")).text()
    assert "Rude" not in mentor_page
    profile = await (await call.mentee.get(f"/api/mentors/{call.mentor_id}")).json()
    assert (profile["rating"], profile["reviews"], profile["recent_reviews"]) == (None, 0, [])
    card = (await (await call.mentee.get("/api/mentors")).json())["items"][0]
    assert (card["rating"], card["reviews"]) == (None, 0)
    assert (await (await admin.get("/api/admin/reported-reviews")).json())["total"] == 0
    late_report = await reporter.post(report_url, json={}, headers=headers(token))
    assert late_report.status == 404
    edit = await call.mentee.put(
        f"/api/bookings/{call.booking_id}/review",
        json={"rating": 5},
        headers=headers(call.mentee_token),
    )
    assert (edit.status, (await edit.json())["error"]["code"]) == (409, "review_hidden")

    async with site.server.app[NOTIFICATIONS].db.read() as s:
        [entry] = list(
            await s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "review"))
        )
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "review_hidden",
        "review",
        review_id,
    )
    assert entry.before == {"hidden": False, "hidden_note": "", "open_reports": 2}
    assert entry.after == {"hidden": True, "hidden_note": "Personal attack", "open_reports": 0}
    assert entry.note == "Personal attack"


async def test_a_kept_review_stays_and_its_reports_close(site: Site, clock: FakeClock) -> None:
    call = await paid_call(site)
    await complete(site, clock, call.booking_id)
    review_id = (await (await review_of(call, 2, "Too short")).json())["review"]["id"]
    reporter, _id, token = await site.user("r@example.org")
    await reporter.post(f"/api/reviews/{review_id}/report", json={}, headers=headers(token))
    admin, admin_token = await site.admin()
    kept = await admin.put(
        f"/api/admin/reviews/{review_id}/moderate",
        json={"decision": "keep", "note": "Honest opinion"},
        headers=headers(admin_token),
    )
    assert kept.status == 200, await kept.text()
    assert [r["id"] for r in await public_reviews(call)] == [review_id]
    assert (await (await admin.get("/api/admin/reported-reviews")).json())["total"] == 0
    unknown = await admin.put(
        "/api/admin/reviews/999/moderate", json={"decision": "keep"}, headers=headers(admin_token)
    )
    assert unknown.status == 404
    async with site.server.app[NOTIFICATIONS].db.read() as s:
        actions = list(
            await s.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "review"))
        )
    assert actions == ["review_kept"]


async def test_the_profile_shows_the_stats_bar_figures(site: Site, clock: FakeClock) -> None:
    """Calls completed, repeat mentees (2+ completed calls) and the median reply time."""
    from server.calls.service import CALLS
    from server.db.models import ChatLine
    from tests.integration.reviews.support import add_reviews

    _mentor, mentor_id, _t = await site.mentor()
    _a, asha, _t = await site.user("a@example.org")
    _b, bala, _t = await site.user("b@example.org")
    app = site.server.app
    await add_reviews(app, mentor_id, asha, [5, 4])
    await add_reviews(app, mentor_id, bala, [3])
    empty = await (await _a.get(f"/api/mentors/{mentor_id}")).json()
    assert (empty["typical_reply_seconds"], empty["repeat_mentee_rate"]) == (None, 0.5)

    start = clock.now
    said: list[tuple[int, int]] = [  # (sender, minutes after start), one conversation
        (asha, 0),
        (mentor_id, 10),  # 10 minutes
        (asha, 60),
        (asha, 65),
        (mentor_id, 90),  # 30 minutes from the first unanswered message
        (mentor_id, 95),
    ]
    async with app[CALLS].db.write() as s:
        for sender, minutes in said:
            s.add(
                ChatLine(
                    booking_id=1, sender_id=sender, text="hi", at=start + timedelta(minutes=minutes)
                )
            )
    profile = await (await _a.get(f"/api/mentors/{mentor_id}")).json()
    assert profile["calls_completed"] == 3
    assert profile["repeat_mentee_rate"] == 0.5
    assert profile["typical_reply_seconds"] == 20 * 60
    assert (profile["rating"], profile["reviews"]) == (4.0, 3)
    page = await (await _a.get(f"/mentors/{mentor_id}")).text()
    assert "20 minutes" in page and "50%" in page
