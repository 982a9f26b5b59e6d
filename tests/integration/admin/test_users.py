"""Administering users: a suspension ends the user's logins at once, refuses new ones, and
cancels their bookings ahead with the refunds the policy gives (the other side told);
reactivating lets them back in; the administrator role; and the audit log of all of it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from billing.ledger import REFUNDS, escrow, wallet
from server.accounts.service import ACCOUNTS
from server.db.engine import DATABASE
from server.db.models import LoginSession
from tests.conftest import PASSWORD, FakeClock
from tests.integration.admin.helpers import booking_row, call, ledger_of, notified, paid_booking_at
from tests.support.booking import Site

REASON = "abusive messages to mentees — Ünïcødé 日本語"


@pytest.fixture
async def site(client: TestClient[Any, Any], aiohttp_client: Any) -> Site:
    assert isinstance(client.server, TestServer)
    return Site(client.server, aiohttp_client)


async def test_a_suspended_users_cookie_stops_working_and_login_is_refused(site: Site) -> None:
    admin, admin_token = await site.admin()
    user, user_id, _token = await site.user("asha@example.org")
    assert (await user.get("/api/me")).status == 200
    live = await user.ws_connect("/ws/live")
    assert (await live.receive_json())["type"] == "hello"

    status, body = await call(
        admin, "PUT", f"/api/admin/users/{user_id}/suspend", admin_token, reason=REASON
    )
    assert status == 200, body
    assert body["user"]["suspended"] is True
    assert body["user"]["suspended_reason"] == REASON
    # Their open live page is closed at once, and cannot come back.
    assert (await asyncio.wait_for(live.receive(), 5)).type == WSMsgType.CLOSE
    assert live.closed
    with pytest.raises(WSServerHandshakeError) as refused:
        await user.ws_connect("/ws/live")
    assert refused.value.status == 401

    # The very next request with the old cookie: the API says 401, a page sends to login.
    me = await user.get("/api/me")
    assert me.status == 401
    page = await user.get("/dashboard", allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"].startswith("/login")
    async with site.server.app[DATABASE].read() as s:
        left = await s.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user_id)
        )
    assert left == 0

    # Even a login row that survived (or one made later) is worth nothing while suspended.
    accounts = site.server.app[ACCOUNTS]
    assert await accounts.session_user(await accounts.start_session(user_id)) is None

    # Logging in again: the API and the login page both say why.
    again = await user.post(
        "/api/auth/login", json={"email": "asha@example.org", "password": PASSWORD}
    )
    assert again.status == 403
    assert (await again.json())["error"]["code"] == "account_suspended"
    form = await user.get("/login")
    assert form.status == 200
    page_login = await user.post(
        "/login",
        data={
            "email": "asha@example.org",
            "password": PASSWORD,
            "csrf_token": _csrf_of(await form.text()),
        },
        allow_redirects=False,
    )
    assert page_login.status == 403
    assert "This account is suspended" in await page_login.text()
    # A wrong password still says only that (nothing about the suspension).
    wrong = await user.post(
        "/api/auth/login", json={"email": "asha@example.org", "password": "not the password"}
    )
    assert wrong.status == 401

    status, body = await call(admin, "PUT", f"/api/admin/users/{user_id}/reactivate", admin_token)
    assert status == 200, body
    assert body["user"]["suspended"] is False
    back = await user.post(
        "/api/auth/login", json={"email": "asha@example.org", "password": PASSWORD}
    )
    assert back.status == 200
    assert (await user.get("/api/me")).status == 200


def _csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_suspending_a_mentor_refunds_their_mentees_in_full(
    site: Site, clock: FakeClock
) -> None:
    admin, admin_token = await site.admin()
    _mentor, mentor_id, _ = await site.mentor()
    mentee, mentee_id, token = await site.user("e@example.org")
    # Two hours ahead: a mentee cancelling now would get nothing back; the mentor's
    # cancellation refunds in full.
    booking = await paid_booking_at(site, mentee, token, mentor_id, clock.now + timedelta(hours=2))
    paid = booking["amount_paise"]

    status, body = await call(
        admin, "PUT", f"/api/admin/users/{mentor_id}/suspend", admin_token, reason=REASON
    )
    assert status == 200, body
    assert body["cancelled_bookings"] == [booking["id"]]

    row = await booking_row(site, booking["id"])
    assert (row.status, row.cancelled_by, row.cancel_reason) == (
        "cancelled",
        "mentor",
        "account suspended",
    )
    assert row.refund_paise == paid
    ledger = await ledger_of(site, booking["id"])
    assert ledger["refund"][REFUNDS] == paid
    assert ledger["refund"][escrow(booking["id"])] == -paid
    assert wallet(mentor_id) not in ledger["refund"]  # the mentor keeps nothing

    trail = await (await admin.get(f"/api/admin/bookings/{booking['id']}")).json()
    assert [t["kind"] for t in trail["ledger"]][:2] == ["capture", "refund"]
    assert trail["escrow_paise"] == 0
    assert [r["amount_paise"] for r in trail["refunds"]] == [paid]

    told = await notified(site, mentee_id, "booking_cancelled")
    assert len(told) == 1
    assert "refunded" in told[0].body
    assert "because Asha Rao's account was suspended" in told[0].body
    mentor_told = await notified(site, mentor_id, "booking_cancelled")
    assert "because your account was suspended" in mentor_told[0].body
    # The suspended mentor is off the site: no slots, not listed, no profile page.
    slots = await mentee.get(f"/api/mentors/{mentor_id}/slots")
    assert slots.status == 404
    listed = await (await mentee.get("/api/mentors")).json()
    assert mentor_id not in [card["id"] for card in listed["items"]]
    assert (await mentee.get(f"/mentors/{mentor_id}")).status == 404
    # Administrators still see the profile.
    assert (await admin.get(f"/api/mentors/{mentor_id}")).status == 200


async def test_suspending_a_mentee_ten_hours_ahead_refunds_half(
    site: Site, clock: FakeClock
) -> None:
    admin, admin_token = await site.admin()
    _mentor, mentor_id, _ = await site.mentor()
    mentee, mentee_id, token = await site.user("e@example.org")
    booking = await paid_booking_at(site, mentee, token, mentor_id, clock.now + timedelta(hours=10))
    starts = (await booking_row(site, booking["id"])).starts_at
    assert timedelta(hours=4) < starts - clock.now < timedelta(hours=24)
    # Past, finished bookings are left alone.
    paid = booking["amount_paise"]

    status, body = await call(
        admin, "PUT", f"/api/admin/users/{mentee_id}/suspend", admin_token, reason=REASON
    )
    assert status == 200, body
    row = await booking_row(site, booking["id"])
    assert (row.status, row.cancelled_by, row.refund_paise) == ("cancelled", "mentee", paid // 2)
    ledger = await ledger_of(site, booking["id"])
    assert ledger["refund"][REFUNDS] == paid // 2
    assert ledger["refund"][wallet(mentor_id)] > 0  # the kept half is split as earned
    assert sum(ledger["refund"].values()) == 0

    mentor_told = await notified(site, mentor_id, "booking_cancelled")
    assert len(mentor_told) == 1
    assert "is kept; your share goes to your wallet" in mentor_told[0].body


async def test_the_administrator_role_and_its_guards(site: Site) -> None:
    root, root_token = await site.admin()
    root_id = (await (await root.get("/api/me")).json())["user"]["id"]

    status, body = await call(
        root, "PUT", f"/api/admin/users/{root_id}/admin", root_token, is_admin=False
    )
    assert (status, body["error"]["code"]) == (409, "last_admin")
    status, body = await call(
        root, "PUT", f"/api/admin/users/{root_id}/suspend", root_token, reason="x"
    )
    assert (status, body["error"]["code"]) == (409, "cannot_suspend_self")

    other, other_id, _other_token = await site.user("ravi@example.org")
    assert (await other.get("/api/admin/users")).status == 403
    status, body = await call(
        root, "PUT", f"/api/admin/users/{other_id}/admin", root_token, is_admin=True
    )
    assert status == 200, body
    assert body["user"]["is_admin"] is True
    assert (await other.get("/api/admin/users")).status == 200  # no new login needed
    status, body = await call(
        root, "PUT", f"/api/admin/users/{other_id}/admin", root_token, is_admin=True
    )
    assert (status, body["error"]["code"]) == (409, "unchanged")

    # With a second administrator, removing one's own role is still refused.
    status, body = await call(
        root, "PUT", f"/api/admin/users/{root_id}/admin", root_token, is_admin=False
    )
    assert (status, body["error"]["code"]) == (409, "cannot_remove_own_admin")
    status, body = await call(
        root, "PUT", f"/api/admin/users/{other_id}/admin", root_token, is_admin=False
    )
    assert status == 200, body
    assert (await other.get("/api/admin/users")).status == 403

    status, body = await call(
        root, "PUT", "/api/admin/users/999999/admin", root_token, is_admin=True
    )
    assert status == 404
    status, body = await call(
        root, "PUT", f"/api/admin/users/{other_id}/suspend", root_token, reason="  "
    )
    assert status == 400


async def test_the_audit_log_has_each_action_with_before_and_after(
    site: Site, clock: FakeClock
) -> None:
    root, token = await site.admin()
    root_id = (await (await root.get("/api/me")).json())["user"]["id"]
    _mentor, mentor_id, _ = await site.mentor()
    mentee, mentee_id, mentee_token = await site.user("e@example.org")
    booking = await paid_booking_at(
        site, mentee, mentee_token, mentor_id, clock.now + timedelta(days=3)
    )

    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", f"/api/admin/users/{mentee_id}/suspend", {"reason": REASON}),
        ("PUT", f"/api/admin/users/{mentee_id}/reactivate", {}),
        ("PUT", f"/api/admin/users/{mentee_id}/admin", {"is_admin": True}),
        ("PUT", f"/api/admin/users/{mentee_id}/admin", {"is_admin": False}),
    ]
    for method, path, body in steps:
        clock.advance(minutes=1)
        status, answer = await call(root, method, path, token, **body)
        assert status == 200, answer
    # A refused action leaves no entry.
    assert (await call(root, "PUT", f"/api/admin/users/{mentee_id}/reactivate", token))[0] == 409

    status, log = await call(root, "GET", "/api/admin/audit", token)
    assert status == 200
    mine = [e for e in log["items"] if e["subject"] == f"user:{mentee_id}"]
    assert [(e["action"], e["before"], e["after"]) for e in mine] == [
        ("admin_removed", {"is_admin": True}, {"is_admin": False}),
        ("admin_granted", {"is_admin": False}, {"is_admin": True}),
        ("user_reactivated", {"suspended": True, "reason": REASON}, {"suspended": False}),
        (
            "user_suspended",
            {"suspended": False},
            {"suspended": True, "reason": REASON, "cancelled_bookings": [booking["id"]]},
        ),
    ]
    assert all(e["actor"] == {"id": root_id, "name": "Root"} for e in mine)
    assert mine[-1]["note"] == REASON
    times = [e["at"] for e in mine]
    assert times == sorted(times, reverse=True)

    status, only = await call(root, "GET", "/api/admin/audit?action=user_suspended", token)
    assert [e["action"] for e in only["items"]] == ["user_suspended"]
    status, about = await call(
        root, "GET", f"/api/admin/audit?subject=user:{mentee_id}&per_page=2", token
    )
    assert (about["total"], len(about["items"])) == (4, 2)
    status, _bad = await call(root, "GET", "/api/admin/audit?subject=user", token)
    assert status == 400

    status, view = await call(root, "GET", f"/api/admin/users/{mentee_id}", token)
    assert status == 200
    assert [e["action"] for e in view["recent_audit"]] == [e["action"] for e in mine]
    assert (view["bookings_as_mentee"], view["bookings_as_mentor"]) == (1, 0)
    assert view["wallet_paise"] is None
    status, mentor_view = await call(root, "GET", f"/api/admin/users/{mentor_id}", token)
    assert mentor_view["wallet_paise"] == 0
    # Approving the application was an administrator's action too.
    status, approval = await call(root, "GET", f"/api/admin/audit?subject=user:{mentor_id}", token)
    assert [(e["action"], e["before"], e["after"]) for e in approval["items"]] == [
        ("mentor_approved", {"status": "pending"}, {"status": "approved"})
    ]
    # A suspended account cannot be made an administrator.
    status, refused = await call(
        root, "PUT", f"/api/admin/users/{mentee_id}/suspend", token, reason="again"
    )
    assert status == 200
    status, refused = await call(
        root, "PUT", f"/api/admin/users/{mentee_id}/admin", token, is_admin=True
    )
    assert (status, refused["error"]["code"]) == (409, "suspended")
    status, _ = await call(root, "PUT", f"/api/admin/users/{mentee_id}/reactivate", token)


async def test_finding_users(site: Site) -> None:
    root, token = await site.admin()
    await site.user("asha.rao@example.org")
    _c, ravi_id, _t = await site.user("ravi@example.org", "mentor")
    await site.user("meera@sample.net", "both")
    await call(root, "PUT", f"/api/admin/users/{ravi_id}/suspend", token, reason="spam")

    async def emails(query: str) -> list[str]:
        status, body = await call(root, "GET", f"/api/admin/users?{query}", token)
        assert status == 200, body
        return [u["email"] for u in body["items"]]

    assert await emails("q=RAVI") == ["ravi@example.org"]
    assert await emails("q=roo") == ["root@example.org"]  # the name "Root" or the email
    assert await emails("q=sample") == ["meera@sample.net"]
    assert await emails("role=mentor") == ["meera@sample.net", "ravi@example.org"]
    assert await emails("suspended=true") == ["ravi@example.org"]
    assert await emails("admin=true") == ["root@example.org"]
    assert await emails("q=%25") == []  # a LIKE wildcard is searched for as itself
    _status, page = await call(root, "GET", "/api/admin/users?per_page=2&page=2", token)
    assert (page["total"], len(page["items"])) == (4, 2)
    assert (await call(root, "GET", "/api/admin/users?role=root", token))[0] == 400
