"""The console's bookings and their money trail, its pages and forms, and the walk over every
/admin and /api/admin route: 403 for a mentee, 401 or the login page for nobody."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.http.routes import ROUTES
from tests.conftest import FakeClock
from tests.integration.admin.helpers import call, csrf, paid_booking_at
from tests.support.booking import Site, book, first_slot

CSRF_REFUSAL = "This form has expired"


@pytest.fixture
async def site(client: TestClient[Any, Any], aiohttp_client: Any) -> Site:
    assert isinstance(client.server, TestServer)
    return Site(client.server, aiohttp_client)


def token_in(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_bookings_with_filters_and_the_money_trail(site: Site, clock: FakeClock) -> None:
    admin, token = await site.admin()
    _m, mentor_id, _ = await site.mentor()
    _m2, second_id, _ = await site.mentor("second@example.org")
    mentee, _mentee_id, mentee_token = await site.user("e@example.org")
    paid = await paid_booking_at(
        site, mentee, mentee_token, mentor_id, clock.now + timedelta(days=2)
    )
    clock.advance(seconds=1)
    held = await book(mentee, mentee_token, second_id, await first_slot(mentee, second_id, 200))
    unpaid = (await held.json())["booking"]

    async def ids(query: str = "") -> list[int]:
        status, body = await call(admin, "GET", f"/api/admin/bookings?{query}", token)
        assert status == 200, body
        assert body["total"] == len(body["items"])
        return [b["id"] for b in body["items"]]

    assert await ids() == [unpaid["id"], paid["id"]]  # newest first
    assert await ids("status=confirmed") == [paid["id"]]
    assert await ids(f"mentor={mentor_id}") == [paid["id"]]
    assert await ids("mentor=SECOND") == [unpaid["id"]]
    assert await ids("mentee=e@example") == [unpaid["id"], paid["id"]]
    paid_day = paid["starts_at"][:10]
    assert paid["id"] in await ids(f"from_date={paid_day}&to_date={paid_day}")
    assert await ids(f"to_date={(clock.now - timedelta(days=1)).date()}") == []
    for bad in ("from_date=tomorrow", "to_date=2026-13-01", "status=lost", "page=0"):
        assert (await call(admin, "GET", f"/api/admin/bookings?{bad}", token))[0] == 400, bad

    status, trail = await call(admin, "GET", f"/api/admin/bookings/{paid['id']}", token)
    assert status == 200, trail
    amount = paid["amount_paise"]
    assert trail["booking"]["mentor"]["id"] == mentor_id
    assert [t["kind"] for t in trail["ledger"]] == ["capture"]
    assert trail["ledger"][0]["escrow_after"] == amount == trail["escrow_paise"]
    assert sum(e["amount_paise"] for e in trail["ledger"][0]["entries"]) == 0
    assert [(o["status"], o["amount_paise"]) for o in trail["orders"]] == [("paid", amount)]
    assert trail["refunds"] == []

    cancelled = await mentee.post(
        f"/api/bookings/{paid['id']}/cancel",
        json={"reason": "exam moved"},
        headers=csrf(mentee_token),
    )
    assert cancelled.status == 200
    status, trail = await call(admin, "GET", f"/api/admin/bookings/{paid['id']}", token)
    assert [t["kind"] for t in trail["ledger"]][:2] == ["capture", "refund"]
    assert trail["ledger"][1]["escrow_after"] == 0 == trail["escrow_paise"]
    assert [r["amount_paise"] for r in trail["refunds"]] == [amount]  # over 24 h ahead: all
    assert (await call(admin, "GET", "/api/admin/bookings/999999", token))[0] == 404


async def test_the_pages_and_their_forms(site: Site, clock: FakeClock) -> None:
    admin, token = await site.admin()
    root_id = (await (await admin.get("/api/me")).json())["user"]["id"]
    _m, mentor_id, _ = await site.mentor()
    mentee, mentee_id, mentee_token = await site.user("e@example.org")
    booking = await paid_booking_at(
        site, mentee, mentee_token, mentor_id, clock.now + timedelta(hours=30)
    )

    for path, expect in (
        ("/admin/users", "e@example.org"),
        ("/admin/users?q=example&role=mentee&admin=false&suspended=false", "e@example.org"),
        (f"/admin/users/{mentor_id}", "Wallet"),
        (f"/admin/users/{mentor_id}", "Suspending now cancels 1 booking ahead"),
        (f"/admin/users/{mentee_id}", "the mentee gets ₹150.00 back"),
        ("/admin/bookings", f"#{booking['id']}"),
        ("/admin/bookings?status=confirmed&mentor=mentor", f"#{booking['id']}"),
        (f"/admin/bookings/{booking['id']}", "escrow:"),
        ("/admin/audit", "mentor approved"),
        ("/admin/audit?action=user_suspended", "No entry matches"),
    ):
        page = await admin.get(path)
        assert page.status == 200, path
        assert expect in await page.text(), path
    assert (await admin.get("/admin/bookings?from_date=soon")).status == 400
    assert (await admin.get("/admin/users/999999")).status == 404

    form = {"csrf_token": token}
    no_reason = await admin.post(f"/admin/users/{mentee_id}/suspend", data=form)
    assert no_reason.status == 400
    assert "Write why the account is suspended" in await no_reason.text()
    done = await admin.post(
        f"/admin/users/{mentee_id}/suspend", data={**form, "reason": "fraud"}, allow_redirects=False
    )
    assert done.status == 303
    assert done.headers["Location"] == f"/admin/users/{mentee_id}?done=suspended"
    shown = await (await admin.get(done.headers["Location"])).text()
    assert "The account is suspended" in shown
    assert f'href="/admin/bookings/{booking["id"]}"' in shown  # listed in the audit entry

    for action in ("reactivate", "grant-admin", "remove-admin"):
        answer = await admin.post(
            f"/admin/users/{mentee_id}/{action}", data=form, allow_redirects=False
        )
        assert answer.status == 303, action
    again = await admin.post(f"/admin/users/{mentee_id}/remove-admin", data=form)
    assert again.status == 409
    myself = await admin.post(f"/admin/users/{root_id}/suspend", data={**form, "reason": "x"})
    assert myself.status == 409
    assert "You cannot suspend your own account." in await myself.text()

    audit = await (await admin.get(f"/admin/audit?subject=user:{mentee_id}")).text()
    for action in ("user suspended", "user reactivated", "admin granted", "admin removed"):
        assert action in audit
    assert (await admin.get("/admin/audit?subject=nobody")).status == 400


def admin_routes(site: Site) -> list[tuple[str, str, str]]:
    """(method, path with every parameter 1, kind) of every /admin and /api/admin route."""
    found: list[tuple[str, str, str]] = [
        (route.method, re.sub(r"\{[^}]*\}", "1", route.path), route.kind)
        for route in site.server.app[ROUTES]
        if route.path.startswith(("/admin", "/api/admin"))
    ]
    assert len(found) >= 20  # mine (18), mentor applications, payouts, the others' consoles
    return found


async def test_every_admin_route_refuses_a_mentee(site: Site) -> None:
    mentee, _id, token = await site.user("e@example.org")
    for method, path, _kind in admin_routes(site):
        changes = method not in ("GET", "HEAD")
        if path.startswith("/api/"):
            response = await mentee.request(
                method, path, json={} if changes else None, headers=csrf(token)
            )
            assert response.status == 403, f"{method} {path}"
            assert (await response.json())["error"]["code"] == "forbidden", f"{method} {path}"
        else:
            data = {"csrf_token": token} if changes else None
            response = await mentee.request(method, path, data=data, allow_redirects=False)
            assert response.status == 403, f"{method} {path}"
            assert response.content_type == "text/html", f"{method} {path}"
            assert CSRF_REFUSAL not in await response.text(), f"{method} {path}"


async def test_every_admin_route_sends_nobody_to_log_in(site: Site, aiohttp_client: Any) -> None:
    nobody = await aiohttp_client(site.server)
    token = token_in(await (await nobody.get("/login")).text())  # an anonymous session's token
    for method, path, _kind in admin_routes(site):
        changes = method not in ("GET", "HEAD")
        if path.startswith("/api/"):
            response = await nobody.request(
                method, path, json={} if changes else None, headers=csrf(token)
            )
            assert response.status == 401, f"{method} {path}"
        else:
            data = {"csrf_token": token} if changes else None
            response = await nobody.request(method, path, data=data, allow_redirects=False)
            assert response.status == 303, f"{method} {path}"
            assert response.headers["Location"].startswith("/login?next="), f"{method} {path}"
