"""Mail for real: a booking paid through the app reaches a real SMTP server (aiosmtpd on
loopback) with its calendar invite; reminders come once, at start minus 15 minutes, across a
restart; a refusing server still gets each mail once; cancelled calls and unsubscribed kinds
get no reminder mail."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select

from server.app import create_app
from server.db.models import OutboxMail
from server.notifications.service import NOTIFICATIONS
from tests.conftest import FAST_PASSWORDS, FakeClock, login, make_config
from tests.support.booking import Site, book, first_slot, pay
from tests.support.net import free_port


class Inbox:
    """An SMTP server's handler: keeps what it accepts; refuses the first `refuse` mails."""

    def __init__(self) -> None:
        self.mails: list[Message] = []
        self.refuse = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.mails.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.mails if m["To"] == address]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def mail_config(tmp_path: Path, port: int) -> Any:
    return make_config(
        tmp_path,
        MICROMENTOR_EMAIL_HOST="127.0.0.1",
        MICROMENTOR_EMAIL_PORT=str(port),
        MICROMENTOR_EMAIL_SECURITY="none",
        MICROMENTOR_NOTIFICATIONS_POLL_SECONDS="3600",  # the tests tick by hand
    )


@pytest.fixture
async def site(
    tmp_path: Path, aiohttp_client: Any, clock: FakeClock, inbox: tuple[Inbox, int]
) -> Site:
    app = create_app(mail_config(tmp_path, inbox[1]), clock=clock, passwords=FAST_PASSWORDS)
    client = await aiohttp_client(app)
    return Site(client.server, aiohttp_client)


async def paid_booking(site: Site) -> tuple[dict[str, Any], Any, str]:
    """A confirmed booking, and the mentee's client and CSRF token."""
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    booking = await pay(
        mentee, token, await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    )
    return booking, mentee, token


def start_of(booking: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(booking["starts_at"].replace("Z", "+00:00"))


async def tick(site: Site) -> None:
    await site.server.app[NOTIFICATIONS].tick()


def attachment(mail: Message) -> bytes:
    for part in mail.walk():
        if part.get_filename():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError("no attachment")


def text(mail: Message) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


async def test_booking_and_paying_mails_both_sides_with_the_invite(
    site: Site, inbox: tuple[Inbox, int]
) -> None:
    handler, _port = inbox
    booking, _mentee, _token = await paid_booking(site)
    await tick(site)
    assert handler.subjects("mentee@example.org") == ["Your call with Asha Rao is booked"]
    assert handler.subjects("mentor@example.org") == [
        "You are a micromentor mentor now",  # the administrator approved the application
        "Asha Rao booked a call with you",
    ]
    for address, other in (
        ("mentee@example.org", "mentor@example.org"),
        ("mentor@example.org", "mentee@example.org"),
    ):
        mail = handler.to(address)[-1]
        calendar = Calendar.from_ical(attachment(mail))
        (event,) = calendar.walk("VEVENT")
        assert str(event["uid"]).startswith(f"booking-{booking['id']}@")
        assert event.decoded("dtstart").isoformat().replace("+00:00", "Z") == booking["starts_at"]
        assert other not in attachment(mail).decode()  # no one learns the other's address
        assert other not in text(mail)
        assert f"/call/{booking['id']}" in text(mail)
        assert mail["List-Unsubscribe"]
    await tick(site)
    assert len(handler.mails) == 3  # each mail once


async def test_the_reminder_comes_once_at_start_minus_15_minutes_across_a_restart(
    site: Site,
    inbox: tuple[Inbox, int],
    clock: FakeClock,
    tmp_path: Path,
    aiohttp_client: Any,
) -> None:
    handler, port = inbox
    booking, _mentee, _token = await paid_booking(site)
    await tick(site)
    handler.mails.clear()
    start = start_of(booking)
    clock.now = start - timedelta(minutes=15, seconds=1)
    await tick(site)
    assert handler.mails == []

    # The server restarts: a second app on the same database does the reminder, once.
    again = create_app(mail_config(tmp_path, port), clock=clock, passwords=FAST_PASSWORDS)
    await aiohttp_client(again)
    clock.now = start - timedelta(minutes=15)
    await again[NOTIFICATIONS].tick()
    await tick(site)
    await again[NOTIFICATIONS].tick()
    assert sorted(m["To"] for m in handler.mails) == ["mentee@example.org", "mentor@example.org"]
    assert all("starts in 15 minutes" in str(m["Subject"]) for m in handler.mails)


async def test_a_refusing_smtp_server_still_gets_each_mail_once(
    site: Site, inbox: tuple[Inbox, int], clock: FakeClock
) -> None:
    handler, _port = inbox
    handler.refuse = 3
    await paid_booking(site)
    for _ in range(6):
        await tick(site)
        clock.advance(minutes=2)
    assert sorted(m["To"] for m in handler.mails) == [
        "mentee@example.org",
        "mentor@example.org",
        "mentor@example.org",
    ]
    async with site.server.app[NOTIFICATIONS].db.read() as s:
        rows = (await s.scalars(select(OutboxMail))).all()
    assert all(row.sent_at is not None for row in rows)
    assert sum(row.attempts for row in rows) == 3 + 3  # three refusals, then each once


async def test_a_cancelled_booking_sends_no_reminder(
    site: Site, inbox: tuple[Inbox, int], clock: FakeClock
) -> None:
    handler, _port = inbox
    booking, owner, owner_token = await paid_booking(site)
    cancelled = await owner.post(
        f"/api/bookings/{booking['id']}/cancel",
        json={"reason": "exam moved"},
        headers={"X-CSRF-Token": owner_token},
    )
    assert cancelled.status == 200, await cancelled.text()
    await tick(site)
    assert any("is cancelled" in s for s in handler.subjects("mentor@example.org"))
    handler.mails.clear()
    clock.advance(hours=2)
    await tick(site)
    assert handler.mails == []


async def test_an_unsubscribed_kind_is_not_mailed_but_still_shown(
    site: Site, inbox: tuple[Inbox, int], clock: FakeClock
) -> None:
    handler, _port = inbox
    booking, mentee, _token = await paid_booking(site)
    await tick(site)
    (confirmation,) = handler.to("mentee@example.org")
    link = re.search(r"(/unsubscribe\?\S+)", text(confirmation))
    assert link is not None
    anonymous = await site.make_client(site.server)
    page = await anonymous.get(link.group(1).replace("booking_confirmed", "reminder"))
    assert page.status == 404  # the token is bound to its kind
    reminder_link = site.server.app[NOTIFICATIONS].unsubscribe_url(
        int(re.search(r"user=(\d+)", link.group(1)).group(1)),
        "reminder",  # type: ignore[union-attr]
    )
    path = reminder_link.split("://", 1)[1].split("/", 1)[1]
    confirm = await anonymous.get(f"/{path}")
    assert confirm.status == 200 and "Stop these mails?" in await confirm.text()
    done = await anonymous.post(f"/{path}")
    assert done.status == 200 and "mails are off" in await done.text()

    handler.mails.clear()
    clock.now = start_of(booking) - timedelta(minutes=15)
    await tick(site)
    assert handler.subjects("mentee@example.org") == []
    assert len(handler.subjects("mentor@example.org")) == 1
    listed = await (await mentee.get("/api/notifications")).json()
    assert any(item["kind"] == "reminder" for item in listed["items"])


async def test_a_message_left_unread_is_mailed_once_in_a_digest(
    site: Site, inbox: tuple[Inbox, int], clock: FakeClock
) -> None:
    handler, _port = inbox
    booking, mentee, token = await paid_booking(site)
    mentor = await site.make_client(site.server)
    await login(mentor, "mentor@example.org")
    path = f"/api/conversations/{booking['id']}/messages"
    headers = {"X-CSRF-Token": token}
    await mentee.post(
        path, json={"text": "Can we talk about <b>system design</b>?"}, headers=headers
    )
    clock.advance(minutes=10)
    await mentee.post(path, json={"text": "Also interviews."}, headers=headers)
    await tick(site)
    clock.advance(minutes=19)
    await tick(site)
    assert "1 unread message on micromentor" not in handler.subjects("mentor@example.org")

    clock.advance(minutes=1)  # the first is 30 minutes unread; the second only 20
    await tick(site)
    digests = [m for m in handler.to("mentor@example.org") if "unread" in str(m["Subject"])]
    assert [str(m["Subject"]) for m in digests] == ["1 unread message on micromentor"]
    body = text(digests[0])
    assert "Asha Rao sent you a message" in body and "<b>system design</b>" in body
    assert f"/conversations/{booking['id']}" in body
    assert "mentee@example.org" not in body  # no addresses of the other side

    clock.advance(minutes=10)  # the second is due now: one more digest, for it alone
    await tick(site)
    digests = [m for m in handler.to("mentor@example.org") if "unread" in str(m["Subject"])]
    assert len(digests) == 2 and "Also interviews." in text(digests[1])
    clock.advance(hours=5)
    await tick(site)
    assert len([m for m in handler.to("mentor@example.org") if "unread" in str(m["Subject"])]) == 2
    # In the app the menu's badge says it; the notifications list is not filled with digests.
    listed = await (await mentor.get("/api/notifications")).json()
    assert all(n["kind"] != "message_digest" for n in listed["items"])


async def test_a_message_read_in_time_is_not_mailed(
    site: Site, inbox: tuple[Inbox, int], clock: FakeClock
) -> None:
    handler, _port = inbox
    booking, mentee, token = await paid_booking(site)
    mentor = await site.make_client(site.server)
    mentor_token = await login(mentor, "mentor@example.org")
    await mentee.post(
        f"/api/conversations/{booking['id']}/messages",
        json={"text": "hello"},
        headers={"X-CSRF-Token": token},
    )
    clock.advance(minutes=5)
    read = await mentor.put(
        f"/api/conversations/{booking['id']}/read", headers={"X-CSRF-Token": mentor_token}
    )
    assert read.status == 204
    clock.advance(hours=1)
    await tick(site)
    assert not [m for m in handler.to("mentor@example.org") if "unread" in str(m["Subject"])]
