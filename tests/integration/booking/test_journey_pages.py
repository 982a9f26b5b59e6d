"""The pages around a booking as a newcomer meets them (issue 15): a demo catalogue to find,
the pay page saying what is paid for and how long the slot is held, a confirmation after
paying, cancelling with the refund shown first, "Book again" only where it leads somewhere, and
a mentor told why they are not listed yet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
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
