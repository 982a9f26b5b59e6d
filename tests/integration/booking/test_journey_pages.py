"""The pages around a booking as a newcomer meets them (issue 15): a demo catalogue to find,
the pay page saying what is paid for and how long the slot is held, a confirmation after
paying, cancelling with the refund shown first, "Book again" only where it leads somewhere, and
a mentor told why they are not listed yet."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.app import create_app
from server.db.models import Job
from server.notifications.service import NOTIFICATIONS
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support.booking import Site, book, first_slot, pay
from tests.support.cli import run_cli

Client = TestClient[Any, Any]
HTML = {"Accept": "text/html"}


def text_of(page: str) -> str:
    """The page's visible words, roughly: tags dropped, spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


async def test_paying_shows_what_and_the_hold_then_a_confirmation(site: Site) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    made = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    order = (await made.json())["order"]
    simulator = text_of(await (await mentee.get(f"/payments/simulator/{order['order_id']}")).text())
    assert "Mentor Asha Rao" in simulator and "10 minutes" in simulator
    assert "The slot is held for you until" in simulator
    booking = await pay(mentee, token, made)
    dashboard = text_of(await (await mentee.get(f"/dashboard?paid={booking['id']}")).text())
    assert "Paid. Your call with Asha Rao is booked" in dashboard
    page = await (await mentee.get(f"/dashboard?paid={booking['id']}")).text()
    assert f'href="/api/bookings/{booking["id"]}/invite.ics"' in page
    assert "Design a URL shortener" in page  # the agenda, on both sides
    mentor_page = await (await _mentor.get("/dashboard")).text()
    assert "Design a URL shortener" in mentor_page
    assert f'href="/bookings/{booking["id"]}/cancel"' in mentor_page


async def test_cancelling_shows_the_refund_first_and_then_what_happened(
    site: Site, clock: FakeClock
) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    slots = (await (await mentee.get(f"/api/mentors/{mentor_id}/slots")).json())["slots"]
    start = slots[-1]["start"]  # days ahead: the full refund
    booking = await pay(mentee, token, await book(mentee, token, mentor_id, start))
    page = text_of(await (await mentee.get(f"/bookings/{booking['id']}/cancel")).text())
    assert "You get back ₹150 of the ₹150 you paid" in page
    cancelled = await mentee.post(
        f"/api/bookings/{booking['id']}/cancel",
        json={"reason": "Exams moved"},
        headers={"X-CSRF-Token": token},
    )
    assert cancelled.status == 200
    after = text_of(await (await mentee.get(f"/dashboard?cancelled={booking['id']}")).text())
    assert "Cancelled. ₹150 is refunded" in after
    again = text_of(await (await mentee.get(f"/bookings/{booking['id']}/cancel")).text())
    assert "can no longer be cancelled" in again
    stranger, _sid, _st = await site.user("stranger@example.org")
    assert (await stranger.get(f"/bookings/{booking['id']}/cancel", headers=HTML)).status == 404


async def test_book_again_only_for_a_mentor_still_listed(site: Site, clock: FakeClock) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    start = await first_slot(mentee, mentor_id)
    booking = await pay(mentee, token, await book(mentee, token, mentor_id, start))
    await mentee.post(
        f"/api/bookings/{booking['id']}/cancel",
        json={"reason": "x"},
        headers={"X-CSRF-Token": token},
    )
    page = await (await mentee.get("/dashboard")).text()
    assert f'href="/mentors/{mentor_id}">Book again' in page
    admin, admin_token = site._admin  # type: ignore[attr-defined]
    rejected = await admin.put(
        f"/api/admin/mentors/{mentor_id}/reject",
        json={"note": "Left the programme"},
        headers={"X-CSRF-Token": admin_token},
    )
    assert rejected.status == 200, await rejected.text()
    page = await (await mentee.get("/dashboard")).text()
    assert "Book again" not in page and 'href="/mentors">Find a mentor' in page


async def test_the_demo_catalogue_comes_and_goes_with_one_command(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    made = run_cli("demo-data", data_dir=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "5 approved mentors" in made.stdout
    config = make_config(tmp_path, MICROMENTOR_SERVER_DATA_DIR=str(tmp_path / "var"))
    client = await aiohttp_client(create_app(config, passwords=FAST_PASSWORDS))
    listed = await (await client.get("/api/mentors")).json()
    assert listed["total"] == 5
    assert all(m["demo"] and m["photo_url"] and m["next_free_slot"] for m in listed["items"])
    page = text_of(await (await client.get("/mentors")).text())
    assert "Meera Nair Demo" in page
    photo = await client.get(listed["items"][0]["photo_url"])
    assert photo.status == 200 and (await photo.read()).startswith(b"\x89PNG")

    removed = run_cli("demo-data", "--remove", data_dir=tmp_path)
    assert removed.returncode == 0 and "5 mentor(s) deleted" in removed.stdout
    assert (await (await client.get("/api/mentors")).json())["total"] == 0
    empty = text_of(await (await client.get("/mentors")).text())
    assert "No mentors are listed yet" in empty and "demo-data" in empty


async def test_the_mentee_moves_a_call_once_and_both_are_told(site: Site, clock: FakeClock) -> None:
    mentor, mentor_id, mentor_token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    slots = (await (await mentee.get(f"/api/mentors/{mentor_id}/slots")).json())["slots"]
    booking = await pay(mentee, token, await book(mentee, token, mentor_id, slots[-1]["start"]))
    dashboard = await (await mentee.get("/dashboard")).text()
    assert f'href="/bookings/{booking["id"]}/reschedule"' in dashboard
    page = await (await mentee.get(f"/bookings/{booking['id']}/reschedule")).text()
    choices = re.findall(r'name="start" value="([^"]+)"', page)
    assert len(choices) > 10 and booking["starts_at"] not in choices
    headers = {"X-CSRF-Token": token}
    path = f"/api/bookings/{booking['id']}/reschedule"
    as_mentor = await mentor.post(
        path, json={"start": choices[0]}, headers={"X-CSRF-Token": mentor_token}
    )
    assert as_mentor.status == 403
    nowhere = await mentee.post(path, json={"start": "2026-01-01T03:07:00Z"}, headers=headers)
    assert nowhere.status in (400, 409)
    moved = await mentee.post(path, json={"start": choices[0]}, headers=headers)
    assert moved.status == 200, await moved.text()
    body = (await moved.json())["booking"]
    assert (body["starts_at"], body["rescheduled_from"]) == (choices[0], booking["starts_at"])
    again = await mentee.post(path, json={"start": choices[1]}, headers=headers)
    assert again.status == 409 and "once" in (await again.json())["error"]["message"]
    after = text_of(await (await mentee.get(f"/dashboard?moved={booking['id']}")).text())
    assert "Moved. Your call with Asha Rao is now on" in after and "Moved from" in after
    assert (
        f'/bookings/{booking["id"]}/reschedule"'
        not in await (await mentee.get("/dashboard")).text()
    )

    await site.server.app[NOTIFICATIONS].tick()
    told = await (await mentor.get("/api/notifications")).json()
    assert any("moved to" in n["title"] for n in told["items"])
    async with site.server.app[NOTIFICATIONS].db.read() as s:
        reminders = (await s.scalars(select(Job).where(Job.kind == "reminder"))).all()
    pending = [j for j in reminders if j.cancelled_at is None and j.done_at is None]
    assert len(pending) == 1  # the old start's reminder is cancelled, the new one waits
    moved_start = datetime.fromisoformat(choices[0].replace("Z", "+00:00"))
    assert pending[0].due_at == moved_start - timedelta(minutes=15)
