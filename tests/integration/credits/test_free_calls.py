"""Free calls and credits end to end through the API: the rolling week on the test clock,
the sponsored ledger, cancellations giving the free call back, and who gets none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from billing.ledger import SPONSOR_DEPOSITS, escrow, sponsor, wallet
from server.db.engine import DATABASE
from server.db.models import LedgerEntry, LedgerTransaction, Notification
from server.notifications.service import NOTIFICATIONS
from server.payments.money import MONEY
from tests.conftest import FakeClock
from tests.integration.credits.conftest import CreditSite
from tests.support.booking import PROFILE, book, first_slot, pay

PRICE = PROFILE["price_paise"]


async def credits_of(client: Any) -> dict[str, Any]:
    response = await client.get("/api/me/credits")
    assert response.status == 200
    body: dict[str, Any] = (await response.json())["credits"]
    return body


async def sponsored(site: CreditSite, client: Any, token: str, mentor_id: int, index: int) -> Any:
    start = await first_slot(client, mentor_id, index)
    return await book(client, token, mentor_id, start, pay_with="sponsored")


async def test_two_free_calls_a_rolling_week_then_the_card(
    site: CreditSite, clock: FakeClock
) -> None:
    await site.sponsor()
    _m, mentor_id, _t = await site.mentor()
    student, _id, token = await site.student("asha@example.org", "asha@cs.campus.edu")
    assert (await credits_of(student))["left"] == 2

    for index in (0, 2):
        made = await sponsored(site, student, token, mentor_id, index)
        assert made.status == 201, await made.text()
        body = await made.json()
        assert body["booking"]["status"] == "confirmed"
        assert body["covered_by"] == {"kind": "free_call", "sponsor": "Campus Institute"}
        assert "order" not in body  # no payment page
    standing = await credits_of(student)
    assert standing["left"] == 0 and standing["used"] == 2
    assert standing["renews_at"] == (clock() + timedelta(days=7)).isoformat().replace("+00:00", "Z")

    third = await sponsored(site, student, token, mentor_id, 4)
    assert third.status == 409
    assert (await third.json())["error"]["code"] == "none_left"
    paid = await book(student, token, mentor_id, await first_slot(student, mentor_id, 4))
    assert paid.status == 201
    await pay(student, token, paid)  # the third one pays by card

    clock.advance(days=7)
    assert (await credits_of(student))["left"] == 2
    again = await sponsored(site, student, token, mentor_id, 0)
    assert again.status == 201, await again.text()


async def test_a_sponsored_call_moves_money_like_a_paid_one(site: CreditSite) -> None:
    sponsor_id = await site.sponsor()
    _m, mentor_id, _t = await site.mentor()
    student, _id, token = await site.student("ravi@example.org", "ravi@campus.edu")
    payer, _pid, payer_token = await site.user("card@example.org")

    free = await (await sponsored(site, student, token, mentor_id, 0)).json()
    card = await pay(
        payer,
        payer_token,
        await book(payer, payer_token, mentor_id, await first_slot(payer, mentor_id, 2)),
    )
    money = site.server.app[MONEY]
    assert await money.balance(escrow(free["booking"]["id"])) == PRICE
    assert await money.balance(sponsor(sponsor_id)) == 100_000 - PRICE
    for booking_id in (free["booking"]["id"], card["id"]):
        await money.outcome(booking_id, "completed")

    shares = {}
    async with site.server.app[DATABASE].read() as s:
        for booking_id in (free["booking"]["id"], card["id"]):
            rows = (
                await s.execute(
                    select(LedgerTransaction.kind, LedgerEntry.account, LedgerEntry.amount_paise)
                    .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                    .where(LedgerTransaction.booking_id == booking_id)
                )
            ).all()
            assert sum(amount for _k, _a, amount in rows) == 0
            shares[booking_id] = {
                (kind, account.split(":")[0]): amount for kind, account, amount in rows
            }
    free_rows, card_rows = shares[free["booking"]["id"]], shares[card["id"]]
    assert free_rows[("sponsor_capture", "sponsor")] == -PRICE
    assert free_rows[("settle", "wallet")] == card_rows[("settle", "wallet")] == PRICE * 70 // 100
    assert {k: v for k, v in free_rows.items() if k[0] == "settle"} == {
        k: v for k, v in card_rows.items() if k[0] == "settle"
    }
    assert await money.balance(wallet(mentor_id)) == 2 * PRICE * 70 // 100
    assert await money.balance(SPONSOR_DEPOSITS) == -100_000
    assert await money.total() == 0


async def test_cancelling_gives_the_free_call_back_by_the_refund_policy(
    site: CreditSite, clock: FakeClock
) -> None:
    sponsor_id = await site.sponsor()
    _m, mentor_id, _t = await site.mentor()
    student, _id, token = await site.student("meera@example.org", "meera@campus.edu")
    headers = {"X-CSRF-Token": token}
    money = site.server.app[MONEY]

    # More than 24 hours ahead: a full refund, so the free call comes back, money to the sponsor.
    slots = (await (await student.get(f"/api/mentors/{mentor_id}/slots")).json())["slots"]
    late = next(s["start"] for s in slots if s["start"] > (clock() + timedelta(days=2)).isoformat())
    far = await (await book(student, token, mentor_id, late, pay_with="sponsored")).json()
    assert (await credits_of(student))["left"] == 1
    cancelled = await student.post(
        f"/api/bookings/{far['booking']['id']}/cancel", json={"reason": "exam"}, headers=headers
    )
    assert cancelled.status == 200, await cancelled.text()
    assert (await credits_of(student))["left"] == 2
    assert await money.balance(sponsor(sponsor_id)) == 100_000
    assert await money.balance(escrow(far["booking"]["id"])) == 0

    # Under 4 hours ahead: nothing is refunded, so the free call stays used.
    soon = await (await sponsored(site, student, token, mentor_id, 0)).json()
    cancelled = await student.post(
        f"/api/bookings/{soon['booking']['id']}/cancel", json={"reason": "ill"}, headers=headers
    )
    assert cancelled.status == 200
    assert (await credits_of(student))["left"] == 1
    assert await money.balance(sponsor(sponsor_id)) == 100_000 - PRICE
    assert await money.total() == 0


async def test_no_free_call_without_a_confirmed_campus_address(site: CreditSite) -> None:
    await site.sponsor()
    _m, mentor_id, _t = await site.mentor()
    client, _id, token = await site.user("nocampus@example.org")
    refused = await sponsored(site, client, token, mentor_id, 0)
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "campus_unverified"

    # Asked for, not yet confirmed: still none.
    asked = await client.post(
        "/api/me/campus-address", json={"email": "x@campus.edu"}, headers={"X-CSRF-Token": token}
    )
    assert asked.status == 202
    standing = await credits_of(client)
    assert standing["campus_email"] == "x@campus.edu" and not standing["verified"]
    refused = await sponsored(site, client, token, mentor_id, 0)
    assert (await refused.json())["error"]["code"] == "campus_unverified"
    # The slot was never held: a card booking of it goes through.
    assert (
        await book(client, token, mentor_id, await first_slot(client, mentor_id, 0))
    ).status == 201


async def test_campus_addresses_are_checked(site: CreditSite, clock: FakeClock) -> None:
    client, _id, token = await site.user("s@example.org")
    headers = {"X-CSRF-Token": token}
    wrong = await client.post(
        "/api/me/campus-address", json={"email": "s@gmail.com"}, headers=headers
    )
    assert wrong.status == 400
    assert (await wrong.json())["error"]["code"] == "not_campus_domain"
    spoof = await client.post(
        "/api/me/campus-address", json={"email": "s@evilcampus.edu"}, headers=headers
    )
    assert spoof.status == 400
    first = await client.post(
        "/api/me/campus-address", json={"email": "s@campus.edu"}, headers=headers
    )
    assert first.status == 202
    again = await client.post(
        "/api/me/campus-address", json={"email": "s@campus.edu"}, headers=headers
    )
    assert again.status == 429 and again.headers["Retry-After"]

    empty = await client.post("/api/me/campus-address", json={"email": " "}, headers=headers)
    assert (await empty.json())["error"]["message"] == "enter your campus email address"
    bad = await client.get("/campus/confirm?token=nonsense")
    assert bad.status == 404 and "does not work" in await bad.text()
    token_text = await site.link_token("s@campus.edu")
    clock.advance(hours=49)
    expired = await client.get(f"/campus/confirm?token={token_text}")
    assert expired.status == 404

    # Another account cannot confirm an address someone already confirmed; opening one's own
    # link again (a double click, a mail scanner first) still says it is confirmed.
    await site.student("first@example.org", "shared@campus.edu")
    again = await client.get(f"/campus/confirm?token={await site.link_token('shared@campus.edu')}")
    assert again.status == 200 and "is confirmed" in await again.text()
    other, _oid, other_token = await site.user("second@example.org")
    taken = await other.post(
        "/api/me/campus-address",
        json={"email": "shared@campus.edu"},
        headers={"X-CSRF-Token": other_token},
    )
    assert taken.status == 409 and (await taken.json())["error"]["code"] == "address_taken"


async def test_credits_a_term_and_an_empty_wallet(site: CreditSite, clock: FakeClock) -> None:
    admin, admin_token = await site.admin_once()
    headers = {"X-CSRF-Token": admin_token}
    made = await admin.post(
        "/api/admin/sponsors",
        json={
            "name": "Term Trust",
            "domains": ["campus.edu"],
            "rule": "term",
            "term_credits": 1,
            "term_starts": "2026-11-01",
            "term_ends": "2027-03-01",
        },
        headers=headers,
    )
    assert made.status == 201, await made.text()
    _m, mentor_id, _t = await site.mentor()
    student, _id, token = await site.student("t@example.org", "t@campus.edu")
    standing = await credits_of(student)
    assert standing["kind"] == "credit" and standing["left"] == 1 and not standing["usable"]
    empty = await sponsored(site, student, token, mentor_id, 0)
    assert (await empty.json())["error"]["code"] == "sponsor_out_of_funds"

    sponsor_id = (await made.json())["sponsor"]["id"]
    topped = await admin.post(
        f"/api/admin/sponsors/{sponsor_id}/topups",
        json={"amount_paise": PRICE, "reference": "UTR 7"},
        headers=headers,
    )
    assert topped.status == 201
    used = await sponsored(site, student, token, mentor_id, 2)
    assert used.status == 201, await used.text()
    assert (await used.json())["covered_by"]["kind"] == "credit"
    assert (await credits_of(student))["left"] == 0

    bad = await admin.post(
        "/api/admin/sponsors", json={"name": "X", "domains": ["gmail.com"]}, headers=headers
    )
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "domains"
    backwards = await admin.put(
        f"/api/admin/sponsors/{sponsor_id}",
        json={
            "name": "X",
            "domains": ["campus.edu"],
            "rule": "term",
            "term_starts": "2027-01-01",
            "term_ends": "2026-01-01",
        },
        headers=headers,
    )
    assert backwards.status == 400
    student_headers = {"X-CSRF-Token": token}
    forbidden = await student.post("/api/admin/sponsors", json={}, headers=student_headers)
    assert forbidden.status == 403


async def test_sponsors_are_checked_and_audited(site: CreditSite) -> None:
    sponsor_id = await site.sponsor()
    admin, admin_token = await site.admin_once()
    headers = {"X-CSRF-Token": admin_token}
    twice = await admin.post(
        "/api/admin/sponsors", json={"name": "Other", "domains": ["campus.edu"]}, headers=headers
    )
    assert twice.status == 409
    assert (await twice.json())["error"]["code"] == "domain_covered"
    paused = await admin.post(
        "/api/admin/sponsors",
        json={"name": "Later", "domains": ["campus.edu"], "active": False},
        headers=headers,
    )
    assert paused.status == 201  # a paused one may wait on the same domain

    for body, field in (
        ({"amount_paise": 0, "reference": "x"}, "amount_paise"),
        ({"amount_paise": 100_000_001, "reference": "x"}, "amount_paise"),
        ({"amount_paise": 500, "reference": "r" * 101}, "reference"),
        ({"amount_paise": 500, "reference": ""}, "reference"),
    ):
        refused = await admin.post(
            f"/api/admin/sponsors/{sponsor_id}/topups", json=body, headers=headers
        )
        assert refused.status == 400, body
        assert (await refused.json())["error"]["field"] == field
    zero = await admin.post(
        f"/api/admin/sponsors/{sponsor_id}/topups",
        json={"amount_paise": 0, "reference": "x"},
        headers=headers,
    )
    assert "₹1" in (await zero.json())["error"]["message"]

    audit = await admin.get("/admin/audit")
    assert audit.status == 200
    text = await audit.text()
    assert "sponsor topped up" in text and "₹1,000.00" in text
    for page in ("/admin/sponsors", f"/admin/sponsors/{sponsor_id}"):
        shown = await admin.get(page)
        assert shown.status == 200 and "Campus Institute" in await shown.text()


async def test_messages_about_a_free_call_speak_of_the_institution(
    site: CreditSite, clock: FakeClock
) -> None:
    await site.sponsor()
    _m, mentor_id, _t = await site.mentor()
    student, student_id, token = await site.student("n@example.org", "n@campus.edu")
    made = await (await sponsored(site, student, token, mentor_id, 0)).json()
    cancelled = await student.post(
        f"/api/bookings/{made['booking']['id']}/cancel",
        json={"reason": "clash"},
        headers={"X-CSRF-Token": token},
    )
    assert cancelled.status == 200
    await site.server.app[NOTIFICATIONS].handle_events()
    async with site.server.app[DATABASE].read() as s:
        told = {
            (n.user_id, n.kind): n.body
            for n in await s.scalars(select(Notification).order_by(Notification.id))
        }
    assert "paid by their institution (a free call)" in told[(mentor_id, "payment_received")]
    assert "the free call stays used" in told[(student_id, "booking_cancelled")]
    assert (
        "₹150.00 is kept; your share goes to your wallet" in told[(mentor_id, "booking_cancelled")]
    )
