"""What each kind of notification says, in the app and by mail. Plain text only: nothing here
is ever rendered as HTML, and no message shows the other party's email address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from server.http.formats import rupees

# The kinds a user can turn off by mail, with how settings and unsubscribe pages name them.
KINDS = {
    "booking_confirmed": "Booking confirmations",
    "payment_received": "Payments for your calls",
    "reminder": "Reminders before a call",
    "booking_cancelled": "Cancellations",
    "application_decided": "Your mentor application",
    "payout_settled": "Payouts",
    "message_digest": "Messages still unread after a while",
}


@dataclass(frozen=True)
class Message:
    """One notification for one user: the in-app line, and the mail (unless opted out)."""

    user_id: int
    kind: str
    title: str
    body: str
    link: str
    attachment: tuple[str, str, bytes] | None = None  # (file name, content type, bytes)
    in_app: bool = True  # False: mail only (the menu's badge already says it in the app)


def when(at: datetime) -> str:
    """A time as mail shows it (UTC: the pages show the reader's own zone)."""
    return at.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")


def booking_confirmed(
    *,
    booking_id: int,
    starts_at: datetime,
    topic: str,
    mentee_id: int,
    mentee_name: str,
    mentor_id: int,
    mentor_name: str,
    paid_paise: int,
    invite: bytes,
) -> list[Message]:
    attachment = (f"micromentor-{booking_id}.ics", "text/calendar", invite)
    link = f"/call/{booking_id}"
    return [
        Message(
            mentee_id,
            "booking_confirmed",
            f"Your call with {mentor_name} is booked",
            f"{topic}, {when(starts_at)}. The call page opens a few minutes before: {{url}}{link}"
            "\n\nThe calendar invite is attached.",
            link,
            attachment,
        ),
        Message(
            mentor_id,
            "payment_received",
            f"{mentee_name} booked a call with you",
            f"{topic}, {when(starts_at)}. {rupees(paid_paise, exact=True)} was paid; your share "
            f"reaches your wallet when the call is held. Join at {{url}}{link}"
            "\n\nThe calendar invite is attached.",
            link,
            attachment,
        ),
    ]


def reminder(
    *, booking_id: int, starts_at: datetime, minutes: int, names: dict[int, str]
) -> list[Message]:
    link = f"/call/{booking_id}"
    (first, first_name), (second, second_name) = names.items()
    return [
        Message(
            user,
            "reminder",
            f"Your call with {other} starts in {minutes} minutes",
            f"{when(starts_at)}. Join here: {{url}}{link}",
            link,
        )
        for user, other in ((first, second_name), (second, first_name))
    ]


def booking_cancelled(
    *,
    starts_at: datetime,
    canceller_id: int,
    mentee_id: int,
    mentor_id: int,
    names: dict[int, str],
    refund_paise: int,
) -> list[Message]:
    refund = (
        f"{rupees(refund_paise, exact=True)} is refunded to the card that paid."
        if refund_paise
        else "Under the cancellation policy nothing is refunded."
    )
    messages = []
    for user, other in ((mentee_id, mentor_id), (mentor_id, mentee_id)):
        who = (
            "You cancelled it." if user == canceller_id else f"{names[canceller_id]} cancelled it."
        )
        money = refund if user == mentee_id else "No call, no charge."
        messages.append(
            Message(
                user,
                "booking_cancelled",
                f"Your call with {names[other]} on {when(starts_at)} is cancelled",
                f"{who} {money}",
                "/dashboard",
            )
        )
    return messages


def booking_moved(
    *,
    booking_id: int,
    starts_at: datetime,
    was: datetime,
    names: dict[int, str],
    mover_id: int,
    invite: bytes,
) -> list[Message]:
    attachment = (f"micromentor-{booking_id}.ics", "text/calendar", invite)
    link = f"/call/{booking_id}"
    (first, first_name), (second, second_name) = names.items()
    moved = []
    for user, other in ((first, second_name), (second, first_name)):
        who = "You moved it." if user == mover_id else f"{names[mover_id]} moved it."
        moved.append(
            Message(
                user,
                "booking_confirmed",
                f"Your call with {other} moved to {when(starts_at)}",
                f"It was {when(was)}. {who} The call page: {{url}}{link}"
                "\n\nThe new calendar invite is attached.",
                link,
                attachment,
            )
        )
    return moved


def application_decided(*, mentor_id: int, approved: bool, note: str) -> list[Message]:
    if approved:
        return [
            Message(
                mentor_id,
                "application_decided",
                "You are a micromentor mentor now",
                "Your profile is listed and mentees can book your free slots. "
                "Check your availability: {url}/become-a-mentor",
                "/become-a-mentor",
            )
        ]
    reason = f" The reviewer wrote: {note}" if note else ""
    return [
        Message(
            mentor_id,
            "application_decided",
            "Your mentor application was not approved",
            f"You can update your profile and apply again.{reason}",
            "/become-a-mentor",
        )
    ]


def payout_settled(*, mentor_id: int, paid: bool, net_paise: int, reference: str) -> list[Message]:
    if paid:
        title = f"Your payout of {rupees(net_paise, exact=True)} is on its way"
        body = f"The transfer is done (reference {reference})."
    else:
        title = "A payout could not be transferred"
        body = "The money is back in your wallet. Check your payout details and withdraw again."
    return [Message(mentor_id, "payout_settled", title, body, "/payouts")]


@dataclass(frozen=True)
class Unread:
    """A conversation's messages a digest tells of."""

    booking_id: int
    other_name: str
    count: int
    first: str


def message_digest(*, user_id: int, unread: list[Unread]) -> list[Message]:
    total = sum(u.count for u in unread)
    title = f"{total} unread message{'s' if total != 1 else ''} on micromentor"
    parts = []
    for u in unread:
        snippet = " ".join(u.first.split())
        snippet = snippet if len(snippet) <= 140 else snippet[:139] + "…"
        many = f"{u.count} messages" if u.count != 1 else "a message"
        parts.append(
            f"{u.other_name} sent you {many}, the first:\n  {snippet}\n"
            f"  Read and reply: {{url}}/conversations/{u.booking_id}"
        )
    body = "Messages are waiting for you.\n\n" + "\n\n".join(parts)
    return [Message(user_id, "message_digest", title, body, "/conversations", in_app=False)]
