"""The notifications list (page and API), and the administrators' outbox, without an SMTP
server: mail waits there, readable, and nothing is lost."""

from __future__ import annotations

from typing import Any

from server.notifications.service import NOTIFICATIONS
from tests.conftest import PASSWORD, login
from tests.support.booking import Site, book, first_slot, pay


async def test_without_smtp_mail_waits_in_the_outbox_for_administrators(site: Site) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    booking = await pay(
        mentee, token, await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    )
    await site.server.app[NOTIFICATIONS].tick()

    dashboard = await (await mentee.get("/dashboard")).text()
    assert 'aria-label="1 unread"' in dashboard  # the badge in the menu
    listed: dict[str, Any] = await (await mentee.get("/api/notifications")).json()
    assert listed["unread"] == 1 and listed["total"] == 1
    (item,) = listed["items"]
    assert item["kind"] == "booking_confirmed" and item["link"] == f"/call/{booking['id']}"
    page = await mentee.get("/notifications")
    assert page.status == 200 and "is booked" in await page.text()
    after = await (await mentee.get("/api/notifications")).json()
    assert after["unread"] == 0  # the page marks them read
    badge = 'data-badge="notifications" aria-label="0 unread" hidden'
    assert badge in await (await mentee.get("/dashboard")).text()

    assert (await mentee.get("/admin/outbox")).status == 403
    admin, _admin_token = await site.admin()
    outbox = await admin.get("/admin/outbox")
    html = await outbox.text()
    assert outbox.status == 200
    assert "No SMTP server is configured" in html
    assert "Your call with" in html and "waiting" in html


async def test_preferences_turn_kinds_of_mail_off(site: Site) -> None:
    client, _id, token = await site.user("asha@example.org")
    headers = {"X-CSRF-Token": token}
    changed = await client.put(
        "/api/notifications/preferences", json={"email_off": ["reminder"]}, headers=headers
    )
    assert changed.status == 200
    kinds = {k["kind"]: k["email"] for k in (await changed.json())["kinds"]}
    assert kinds["reminder"] is False and kinds["booking_confirmed"] is True
    unknown = await client.put(
        "/api/notifications/preferences", json={"email_off": ["spam"]}, headers=headers
    )
    assert unknown.status == 400
    other = await site.make_client(site.server)
    await login(other, "asha@example.org", PASSWORD)
    assert (await other.put("/api/notifications/1/read")).status == 403  # no CSRF token
