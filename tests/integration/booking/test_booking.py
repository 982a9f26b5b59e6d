"""Mentors, availability, discovery and booking through the real app (docs/api.md)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.calls.service import CALLS
from server.db.models import Booking
from tests.conftest import FakeClock
from tests.support import images
from tests.support.booking import ALL_WEEK, PROFILE, Site, book, first_slot, iso, pay

Client = TestClient[Any, Any]


async def test_only_approved_mentors_are_listed(site: Site) -> None:
    applicant, applicant_id, token = await site.user("new@example.org", "mentor")
    created = await applicant.post(
        "/api/mentors/apply", json=PROFILE, headers={"X-CSRF-Token": token}
    )
    assert created.status == 201
    assert (await created.json())["mentor"]["status"] == "pending"
    anonymous = await site.make_client(site.server)
    assert (await (await anonymous.get("/api/mentors")).json())["total"] == 0
    assert (await anonymous.get(f"/api/mentors/{applicant_id}")).status == 404

    admin, admin_token = await site.admin()
    queue = await (await admin.get("/api/admin/mentor-applications?status=pending")).json()
    assert [a["email"] for a in queue["items"]] == ["new@example.org"]
    rejected = await admin.put(
        f"/api/admin/mentors/{applicant_id}/reject",
        json={"note": "Add your experience"},
        headers={"X-CSRF-Token": admin_token},
    )
    assert (await rejected.json())["mentor"]["status"] == "rejected"
    own = await (await applicant.get(f"/api/mentors/{applicant_id}")).json()
    assert own["review_note"] == "Add your experience"

    await admin.put(
        f"/api/admin/mentors/{applicant_id}/approve", headers={"X-CSRF-Token": admin_token}
    )
    listed = await (await anonymous.get("/api/mentors")).json()
    assert [m["id"] for m in listed["items"]] == [applicant_id]


async def test_administration_is_for_administrators(site: Site) -> None:
    user, _id, token = await site.user("u@example.org")
    anonymous = await site.make_client(site.server)
    assert (await anonymous.get("/api/admin/mentor-applications")).status == 401
    assert (await user.get("/api/admin/mentor-applications")).status == 403
    response = await user.put("/api/admin/mentors/1/approve", headers={"X-CSRF-Token": token})
    assert response.status == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bio": "x" * 2001}, "bio"),
        ({"skills": []}, "skills"),
        ({"skills": ["   "]}, "skills"),
        ({"price_paise": -1}, "price_paise"),
        ({"headline": ""}, "headline"),
        ({"languages": "English"}, "languages"),
    ],
)
async def test_profile_validation_names_the_field(
    site: Site, change: dict[str, Any], field: str
) -> None:
    client, _id, token = await site.user("m@example.org", "mentor")
    response = await client.post(
        "/api/mentors/apply", json={**PROFILE, **change}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 400
    assert (await response.json())["error"]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus", "weekly": []}, "timezone"),
        (
            {"timezone": "UTC", "weekly": [{"weekday": 0, "start": "9am", "end": "10:00"}]},
            "weekly[0].start",
        ),
        (
            {"timezone": "UTC", "weekly": [{"weekday": 0, "start": "10:00", "end": "09:00"}]},
            "weekly[0].end",
        ),
        (
            {"timezone": "UTC", "weekly": [{"weekday": 7, "start": "09:00", "end": "10:00"}]},
            "weekly[0].weekday",
        ),
        (
            {
                "timezone": "UTC",
                "weekly": [],
                "blocked": [{"start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00Z"}],
            },
            "blocked[0].start",
        ),
    ],
)
async def test_availability_validation_names_the_field(
    site: Site, body: dict[str, Any], field: str
) -> None:
    client, _id, token = await site.mentor()
    response = await client.put(
        "/api/mentors/availability", json=body, headers={"X-CSRF-Token": token}
    )
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]["field"] == field


async def test_discovery_filters_sorts_and_shows_the_next_free_slot(site: Site) -> None:
    _m1, cheap, _t = await site.mentor(
        "a@example.org", skills=["Resume Review"], price_paise=5000, headline="Recruiter"
    )
    _m2, dear, _t = await site.mentor("b@example.org", skills=["DSA"], price_paise=20000)
    anonymous = await site.make_client(site.server)

    async def ids(query: str) -> list[int]:
        body = await (await anonymous.get(f"/api/mentors?{query}")).json()
        return [m["id"] for m in body["items"]]

    assert await ids("skill=dsa") == [dear]
    assert await ids("skill=DS") == []  # a skill matches whole
    assert await ids("q=recruit") == [cheap]
    assert await ids("max_price_paise=10000") == [cheap]
    assert await ids("sort=price") == [cheap, dear]
    assert await ids("sort=price&per_page=1&page=2") == [dear]
    assert await ids("available_on=2026-11-22&tz=Asia/Kolkata") == [cheap, dear] or await ids(
        "available_on=2026-11-22&tz=Asia/Kolkata"
    ) == [dear, cheap]
    assert await ids("available_on=2027-06-01") == []  # past the horizon
    card = (await (await anonymous.get("/api/mentors?skill=dsa")).json())["items"][0]
    assert card["price_paise"] == 20000 and card["rating"] is None and card["reviews"] == 0
    assert card["next_free_slot"] == "2026-11-21T10:30:00Z"  # 30 minutes' notice
    bad = await anonymous.get("/api/mentors?per_page=1000")
    assert (await bad.json())["error"]["field"] == "per_page"


async def test_booking_holds_the_slot_and_refuses_the_wrong_ones(site: Site) -> None:
    _mentor, mentor_id, mentor_token = await site.mentor()
    mentee, _mentee_id, token = await site.user("e@example.org")
    other, _other_id, other_token = await site.user("o@example.org")
    start = await first_slot(mentee, mentor_id)

    created = await book(mentee, token, mentor_id, start)
    assert created.status == 201, await created.text()
    booking = (await created.json())["booking"]
    assert booking["status"] == "pending_payment"
    assert booking["amount_paise"] == 15000
    assert booking["hold_expires_at"] == "2026-11-21T10:10:00Z"
    assert start not in [
        s["start"]
        for s in (await (await mentee.get(f"/api/mentors/{mentor_id}/slots")).json())["slots"]
    ]

    taken = await book(other, other_token, mentor_id, start)
    assert taken.status == 409
    assert (await taken.json())["error"]["code"] == "slot_taken"
    odd = await book(other, other_token, mentor_id, "2026-11-21T11:03:00Z")
    assert (await odd.json())["error"]["code"] == "slot_unavailable"
    yourself = await book(_mentor, mentor_token, mentor_id, start)
    assert (await yourself.json())["error"]["field"] == "mentor_id"
    unaccepted = await book(other, other_token, mentor_id, start, accept_policy=False)
    assert (await unaccepted.json())["error"]["field"] == "accept_policy"
    bad_topic = await book(other, other_token, mentor_id, start, topic="Gossip")
    assert (await bad_topic.json())["error"]["field"] == "topic"
    long_agenda = await book(other, other_token, mentor_id, start, agenda="x" * 501)
    assert (await long_agenda.json())["error"]["field"] == "agenda"
    no_zone = await book(other, other_token, mentor_id, "2026-11-21T11:00:00")
    assert (await no_zone.json())["error"]["field"] == "start"

    # The same mentee cannot be in two calls at once, with another mentor either.
    _second, second_id, _t2 = await site.mentor("second@example.org")
    clash = await book(mentee, token, second_id, start)
    assert (await clash.json())["error"]["code"] == "overlapping_booking"


async def test_an_unpaid_hold_expires_and_frees_the_slot(site: Site, clock: FakeClock) -> None:
    _mentor, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    other, _oid, other_token = await site.user("o@example.org")
    start = await first_slot(mentee, mentor_id, index=8)  # two hours ahead
    booking = (await (await book(mentee, token, mentor_id, start)).json())["booking"]
    clock.advance(minutes=9)
    held = await book(other, other_token, mentor_id, start)
    assert (await held.json())["error"]["code"] == "slot_taken"
    clock.advance(minutes=1)
    again = await book(other, other_token, mentor_id, start)
    assert again.status == 201, await again.text()
    expired = await (await mentee.get(f"/api/bookings/{booking['id']}")).json()
    assert expired["booking"]["status"] == "expired"


async def test_fifty_concurrent_attempts_give_one_booking(site: Site) -> None:
    _mentor, mentor_id, _t = await site.mentor()
    mentees = [await site.user(f"e{i}@example.org") for i in range(50)]
    start = await first_slot(mentees[0][0], mentor_id)
    responses = await asyncio.gather(*(book(c, t, mentor_id, start) for c, _i, t in mentees))
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 49
    codes = {(await r.json())["error"]["code"] for r in responses if r.status == 409}
    assert codes == {"slot_taken"}
    calls = mentees[0][0].app[CALLS]  # type: ignore[index]
    async with calls.db.read() as s:
        from sqlalchemy import func, select

        live = await s.scalar(
            select(func.count()).select_from(Booking).where(Booking.mentor_id == mentor_id)
        )
    assert live == 1


async def test_only_participants_see_a_booking(site: Site) -> None:
    _mentor, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    stranger, _sid, _st = await site.user("s@example.org")
    booking = (
        await (await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))).json()
    )["booking"]
    assert (await _mentor.get(f"/api/bookings/{booking['id']}")).status == 200
    assert (await stranger.get(f"/api/bookings/{booking['id']}")).status == 404
    mine = await (await mentee.get("/api/bookings?role=mentee")).json()
    assert [b["id"] for b in mine["items"]] == [booking["id"]]
    assert (await (await stranger.get("/api/bookings")).json())["total"] == 0


async def test_cancellation_follows_the_policy(site: Site, clock: FakeClock) -> None:
    mentor, mentor_id, mentor_token = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")

    async def paid_booking(days_ahead: float) -> int:
        start = clock.now + timedelta(days=days_ahead)
        start = start.replace(minute=0, second=0, microsecond=0)
        created = await book(mentee, token, mentor_id, iso(start))
        assert created.status == 201, await created.text()
        booking_id: int = (await pay(mentee, token, created))["id"]
        return booking_id

    early = await paid_booking(3)
    late = await paid_booking(0.5)
    by_mentor = await paid_booking(0.5 + 1 / 24)

    async def cancel(client: Client, csrf: str, booking_id: int) -> dict[str, Any]:
        response = await client.post(
            f"/api/bookings/{booking_id}/cancel",
            json={"reason": "exam moved"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 200, await response.text()
        return (await response.json())["booking"]  # type: ignore[no-any-return]

    assert (await cancel(mentee, token, early))["refund_paise"] == 15000
    assert (await cancel(mentee, token, late))["refund_paise"] == 7500
    cancelled = await cancel(mentor, mentor_token, by_mentor)
    assert (cancelled["refund_paise"], cancelled["cancelled_by"]) == (15000, "mentor")
    again = await mentee.post(
        f"/api/bookings/{early}/cancel", json={"reason": "x"}, headers={"X-CSRF-Token": token}
    )
    assert (await again.json())["error"]["code"] == "not_cancellable"
    empty = await mentee.post(
        f"/api/bookings/{early}/cancel", json={"reason": ""}, headers={"X-CSRF-Token": token}
    )
    assert (await empty.json())["error"]["field"] == "reason"
    profile = await (await mentee.get(f"/api/mentors/{mentor_id}")).json()
    assert profile["cancellation_rate"] == pytest.approx(1 / 3, abs=0.001)


async def test_invites_request_then_cancel_the_same_uid(site: Site) -> None:
    _mentor, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    created = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    booking = (await created.json())["booking"]
    unpaid = await mentee.get(f"/api/bookings/{booking['id']}/invite.ics")
    assert unpaid.status == 409
    await pay(mentee, token, created)
    invite = await (await mentee.get(f"/api/bookings/{booking['id']}/invite.ics")).text()
    assert "METHOD:REQUEST" in invite and "STATUS:CONFIRMED" in invite
    uid = next(line for line in invite.splitlines() if line.startswith("UID:"))
    await mentee.post(
        f"/api/bookings/{booking['id']}/cancel",
        json={"reason": "ill"},
        headers={"X-CSRF-Token": token},
    )
    cancel = await (await mentee.get(f"/api/bookings/{booking['id']}/invite.ics")).text()
    assert "METHOD:CANCEL" in cancel and "STATUS:CANCELLED" in cancel
    assert uid in cancel.splitlines()


async def test_requests_outside_availability(site: Site) -> None:
    mentor, mentor_id, mentor_token = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    proposed = {
        "mentor_id": mentor_id,
        "start": "2026-11-25T03:00:00Z",
        "topic": "Mock Interview",
        "agenda": "Before my interview",
    }
    created = await mentee.post(
        "/api/booking-requests", json=proposed, headers={"X-CSRF-Token": token}
    )
    assert created.status == 201, await created.text()
    request_id = (await created.json())["request"]["id"]
    received = await (await mentor.get("/api/booking-requests?role=mentor")).json()
    assert [r["id"] for r in received["items"]] == [request_id]
    stranger_decides = await mentee.put(
        f"/api/booking-requests/{request_id}/accept", headers={"X-CSRF-Token": token}
    )
    assert stranger_decides.status == 404
    accepted = await mentor.put(
        f"/api/booking-requests/{request_id}/accept", headers={"X-CSRF-Token": mentor_token}
    )
    body = await accepted.json()
    assert body["request"]["status"] == "accepted"
    assert body["booking"]["status"] == "pending_payment"
    assert body["booking"]["starts_at"] == "2026-11-25T03:00:00Z"

    second = await mentee.post(
        "/api/booking-requests",
        json={**proposed, "start": "2026-11-26T03:00:00Z"},
        headers={"X-CSRF-Token": token},
    )
    second_id = (await second.json())["request"]["id"]
    declined = await mentor.put(
        f"/api/booking-requests/{second_id}/decline",
        json={"note": "I am travelling"},
        headers={"X-CSRF-Token": mentor_token},
    )
    assert (await declined.json())["request"]["note"] == "I am travelling"
    twice = await mentor.put(
        f"/api/booking-requests/{second_id}/accept", headers={"X-CSRF-Token": mentor_token}
    )
    assert (await twice.json())["error"]["code"] == "already_decided"


async def test_the_call_opens_five_minutes_before_the_start(site: Site, clock: FakeClock) -> None:
    _mentor, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    start = await first_slot(mentee, mentor_id)
    created = await book(mentee, token, mentor_id, start)
    booking = (await created.json())["booking"]
    assert booking["join_opens_at"] == "2026-11-21T10:25:00Z"
    await pay(mentee, token, created)
    early = await mentee.get(f"/api/bookings/{booking['id']}/join")
    assert (await early.json())["error"]["code"] == "too_early"
    clock.advance(minutes=25)
    assert (await mentee.get(f"/api/bookings/{booking['id']}/join")).status == 200


async def test_a_call_nobody_joined_is_a_no_show_of_both(site: Site, clock: FakeClock) -> None:
    _mentor, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    created = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    booking = await pay(mentee, token, created)
    calls = mentee.app[CALLS]  # type: ignore[index]
    clock.advance(minutes=30 + 10 + 5)  # past the booked end plus the grace
    assert await calls.finish_overdue() == 1
    done = (await (await mentee.get(f"/api/bookings/{booking['id']}")).json())["booking"]
    assert (done["status"], done["no_show_role"]) == ("no_show", "both")


async def test_photo_upload_checks_type_and_size(site: Site) -> None:
    from aiohttp import FormData

    client, mentor_id, token = await site.mentor()
    headers = {"X-CSRF-Token": token}

    def form(data: bytes, name: str = "photo") -> FormData:
        body = FormData()
        body.add_field(name, data, filename="me.png", content_type="image/png")
        return body

    png = images.png(8, 8)
    uploaded = await client.post("/api/mentors/photo", data=form(png), headers=headers)
    assert uploaded.status == 200, await uploaded.text()
    url = (await uploaded.json())["photo_url"]
    served = await client.get(url)
    assert served.status == 200 and await served.read() == png
    assert (await (await client.get(f"/api/mentors/{mentor_id}")).json())["photo_url"] == url

    not_image = await client.post(
        "/api/mentors/photo", data=form(b"GIF89a" + b"\x00" * 10), headers=headers
    )
    assert not_image.status == 415
    too_big = await client.post(
        "/api/mentors/photo",
        data=form(images.jpeg_header(64, 64) + b"\x00" * (2 * 1024 * 1024)),
        headers=headers,
    )
    assert too_big.status == 413
    missing = await client.post("/api/mentors/photo", data=form(png, "avatar"), headers=headers)
    assert (await missing.json())["error"]["field"] == "photo"
    assert (await client.get("/media/photos/..%2F..%2Fsecret_key")).status == 404


async def test_profile_update_vacation_and_availability_read_back(site: Site) -> None:
    client, mentor_id, token = await site.mentor()
    headers = {"X-CSRF-Token": token}
    updated = await client.put(
        "/api/mentors/profile", json={**PROFILE, "price_paise": 20000}, headers=headers
    )
    assert (await updated.json())["mentor"]["price_paise"] == 20000
    assert (await updated.json())["mentor"]["status"] == "approved"  # no new review needed
    stranger, _id, stranger_token = await site.user("s@example.org")
    refused = await stranger.put(
        "/api/mentors/profile", json=PROFILE, headers={"X-CSRF-Token": stranger_token}
    )
    assert refused.status == 403

    away = {
        **ALL_WEEK,
        "vacation": True,
        "blocked": [{"start": "2026-12-24T00:00:00Z", "end": "2026-12-26T00:00:00Z"}],
    }
    await client.put("/api/mentors/availability", json=away, headers=headers)
    read = await (await client.get("/api/mentors/availability")).json()
    assert read["vacation"] is True
    assert read["weekly"][0] == {"weekday": 0, "start": "00:00", "end": "24:00"}
    assert read["blocked"] == [{"start": "2026-12-24T00:00:00Z", "end": "2026-12-26T00:00:00Z"}]
    slots = await (await client.get(f"/api/mentors/{mentor_id}/slots")).json()
    assert slots == {"slots": []}  # on vacation


async def test_the_admin_page_lists_the_queue_for_admins_only(site: Site) -> None:
    applicant, _id, token = await site.user("new@example.org", "mentor")
    await applicant.post("/api/mentors/apply", json=PROFILE, headers={"X-CSRF-Token": token})
    admin, _admin_token = await site.admin()
    page = await (await admin.get("/admin/mentors")).text()
    assert "new@example.org" in page and "Approve" in page
    assert (await applicant.get("/admin/mentors", headers={"Accept": "text/html"})).status == 403
