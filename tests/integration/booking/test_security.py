"""Issue 13's findings about booking and its edges, each kept closed: unpaid holds without limit
(3), photos written before they were checked (4), 500s from numbers and dates (6), and small
leaks (9). Each test names its item."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from server.app import create_app
from server.booking.mentors import MENTORS
from server.payments.money import MONEY
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support import images
from tests.support.booking import Site, book, first_slot, pay

BIG = str(2**63)
HUGE = "9" * 30


def photo_form(data: bytes) -> FormData:
    form = FormData()
    form.add_field("photo", data, filename="me.png", content_type="image/png")
    return form


# -- 3: unpaid holds ----------------------------------------------------------------------------


async def test_item_3_a_mentee_holds_at_most_two_unpaid_bookings(site: Site) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    first = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, 0))
    second = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, 1))
    assert first.status == second.status == 201
    third = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, 2))
    assert third.status == 409
    body = await third.json()
    assert body["error"]["code"] == "too_many_holds"
    assert "unpaid" in body["error"]["message"]

    await pay(mentee, token, first)  # paying one frees a place
    again = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, 2))
    assert again.status == 201, await again.text()


# -- 4: photos ---------------------------------------------------------------------------------


def stored_files(site: Site) -> list[Path]:
    directory: Path = site.server.app[MENTORS].photo_dir
    return sorted(directory.iterdir()) if directory.exists() else []


async def test_item_4_no_file_is_written_for_a_user_without_a_profile(site: Site) -> None:
    client, _id, token = await site.user("nobody@example.org")
    response = await client.post(
        "/api/mentors/photo", data=photo_form(images.png(8, 8)), headers={"X-CSRF-Token": token}
    )
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "no_profile"
    assert stored_files(site) == []


async def test_item_4_pixel_bombs_and_damaged_headers_are_refused_unwritten(site: Site) -> None:
    client, _id, token = await site.mentor()
    headers = {"X-CSRF-Token": token}
    for data in (images.png(20000, 20000), images.jpeg_header(9000, 100), images.png(8, 8)[:20]):
        response = await client.post("/api/mentors/photo", data=photo_form(data), headers=headers)
        assert response.status == 400, await response.text()
        assert (await response.json())["error"]["field"] == "photo"
    assert stored_files(site) == []


async def test_item_4_a_new_photo_replaces_the_old_file(site: Site) -> None:
    client, _id, token = await site.mentor()
    headers = {"X-CSRF-Token": token}
    for size in (8, 9):
        response = await client.post(
            "/api/mentors/photo", data=photo_form(images.png(size, size)), headers=headers
        )
        assert response.status == 200
    files = stored_files(site)
    assert len(files) == 1 and files[0].name.endswith(".png")  # no old photo, no temporary
    assert files[0].read_bytes() == images.png(9, 9)


async def test_item_4_a_broken_multipart_body_is_a_400(site: Site) -> None:
    client, _id, token = await site.mentor()
    response = await client.post(
        "/api/mentors/photo",
        data=b"--nope\r\nContent-Disposition: form-data; name=photo\r\n\r\nxx",
        headers={"X-CSRF-Token": token, "Content-Type": "multipart/form-data; boundary=other"},
    )
    assert response.status == 400


# -- 6: numbers and dates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/api/mentors/{BIG}",
        f"/api/mentors/{HUGE}/slots",
        f"/mentors/{BIG}",
        f"/api/bookings/{BIG}",
        f"/api/bookings/{BIG}/invite.ics",
        f"/api/bookings/{BIG}/join",
        f"/bookings/{BIG}/pay",
        f"/bookings/{BIG}/receipt",
        f"/call/{HUGE}",
    ],
)
async def test_item_6_an_id_past_64_bits_is_not_found(site: Site, path: str) -> None:
    client, _id, _token = await site.user("asha@example.org")
    response = await client.get(path, headers={"Accept": "application/json"})
    assert response.status == 404, await response.text()


@pytest.mark.parametrize(
    "query",
    [
        f"page={BIG}",
        f"per_page={HUGE}",
        f"max_price_paise={BIG}",
        "max_price_paise=-" + HUGE,
        "min_rating=nan",
        "min_rating=inf",
        "available_on=9999-12-31",
        "available_on=0001-01-01",
        "available_on=2026-11-22&tz=" + "x" * 300,
        "q=%00",
    ],
)
async def test_item_6_query_values_out_of_range_are_400(site: Site, query: str) -> None:
    client, _id, _token = await site.user("asha@example.org")
    response = await client.get(f"/api/mentors?{query}")
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]["code"] == "invalid_field"


@pytest.mark.parametrize("query", ["q=%ED%A0%80", "q=%FF%FE", "skill=%C0%AF", "sort=%00"])
async def test_item_6_undecodable_query_text_is_not_a_server_error(site: Site, query: str) -> None:
    client, _id, _token = await site.user("asha@example.org")
    response = await client.get(f"/api/mentors?{query}")
    assert response.status in (200, 400), await response.text()


@pytest.mark.parametrize(
    "span",
    ["from=9999-12-31T23:00:00Z", "from=0001-01-01T00:00:00%2B14:00", "to=9999-12-31T00:00:00Z"],
)
async def test_item_6_dates_near_the_calendars_ends_are_400(site: Site, span: str) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    client, _id, _token = await site.user("asha@example.org")
    response = await client.get(f"/api/mentors/{mentor_id}/slots?{span}")
    assert response.status == 400, await response.text()


@pytest.mark.parametrize(
    "body",
    [
        {"mentor_id": 2**63, "start": "2026-11-21T11:00:00Z"},
        {"mentor_id": 1, "start": "9999-12-31T23:59:59Z"},
        {"mentor_id": 1, "start": "2026-11-21T11:00:00Z", "agenda": "\ud800"},
        {"mentor_id": 1, "start": "2026-11-21T11:00:00Z", "agenda": "nul \x00 byte"},
    ],
)
async def test_item_6_bodies_out_of_range_are_400(site: Site, body: dict[str, Any]) -> None:
    client, _id, token = await site.user("asha@example.org")
    full = {"topic": "System Design", "accept_policy": True, **body}
    response = await client.post("/api/bookings", json=full, headers={"X-CSRF-Token": token})
    assert response.status == 400, await response.text()


# -- 9: smaller leaks --------------------------------------------------------------------------


async def test_item_9_the_call_page_of_someone_elses_booking_is_not_found(site: Site) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    booking = await pay(
        mentee, token, await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    )
    stranger, _sid, _stoken = await site.user("stranger@example.org")
    mine = await stranger.get(f"/call/{booking['id']}", headers={"Accept": "application/json"})
    missing = await stranger.get("/call/987654", headers={"Accept": "application/json"})
    assert mine.status == missing.status == 404
    assert (await mine.json())["error"]["code"] == (await missing.json())["error"]["code"]


async def test_item_9_the_simulators_checkout_key_cannot_sign_webhooks(site: Site) -> None:
    gateway = site.server.app[MONEY].gateway
    body = b'{"event": "payment.captured"}'
    checkout_signature = hmac.new(
        gateway.checkout_secret.encode(), body, hashlib.sha256
    ).hexdigest()
    assert not gateway.verify_webhook(body, checkout_signature)
    webhook_signature = hmac.new(gateway.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert gateway.verify_webhook(body, webhook_signature)
    assert gateway.checkout_secret != gateway.webhook_secret


async def test_booking_is_rate_limited_per_user(
    aiohttp_client: Any, tmp_path: Path, clock: FakeClock
) -> None:
    """Issue 14 (PRD 14.1): at most [booking] bookings_per_minute bookings a minute."""
    config = make_config(
        tmp_path,
        MICROMENTOR_BOOKING_BOOKINGS_PER_MINUTE="2",
        MICROMENTOR_BOOKING_MAX_UNPAID_HOLDS="10",
    )
    client = await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))
    site = Site(client.server, aiohttp_client)
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    for index in range(2):
        made = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, index))
        assert made.status == 201
    refused = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, 2))
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) == 60
    clock.advance(seconds=61)
    again = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, 2))
    assert again.status == 201, await again.text()
